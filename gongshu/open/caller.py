"""Who calls the open portal's data: an anonymous visitor, a developer's key, or a scoped credential.

Every data path (downloads, ``datastore_search``, dumps, the dataset page's preview) asks
:meth:`Caller.readable_fields` which 信息项 of a dataset this caller may read. Deny by default:
a 有条件开放 dataset is readable only with an approved, unexpired application's scope, and only
its approved 信息项; nothing outside the published (一般) items is ever readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gongshu.open.datasets import OpenDataset


@dataclass(frozen=True)
class Scope:
    """What an approved application lets its holder read: one dataset's approved 信息项, until a time."""

    application_id: int
    application: str  # OA000001
    fields: frozenset[str]
    valid_until: datetime


@dataclass(frozen=True)
class Caller:
    """The caller of an open-data request.

    ``kind`` is ``anonymous``, ``key`` (a developer's API key), ``credential`` (an application's scoped
    credential) or ``user`` (a signed-in portal user). ``scopes`` maps dataset names to approved
    applications. ``daily_quota`` and ``rate_per_s`` are the key's limits (anonymous callers get the
    platform's anonymous limits, applied per client address by the service).
    """

    kind: str
    name: str
    key_id: int | None = None
    user_id: int | None = None
    username: str | None = None
    daily_quota: int | None = None
    rate_per_s: int | None = None
    scopes: Mapping[str, Scope] = field(default_factory=dict)
    only_scoped: bool = False  # credentials read only their scopes, not even 无条件开放 data

    def scope(self, dataset: OpenDataset) -> Scope | None:
        return self.scopes.get(dataset.name)

    def readable_fields(self, dataset: OpenDataset) -> tuple[str, ...]:
        """The 信息项 of ``dataset`` this caller may read, in catalogue order; empty when none."""
        published = dataset.published_fields
        scope = self.scope(dataset)
        if scope is not None:
            return tuple(name for name in published if name in scope.fields)
        if dataset.unconditional and not self.only_scoped:
            return published
        return ()

    def may_read(self, dataset: OpenDataset) -> bool:
        return bool(self.readable_fields(dataset))


ANONYMOUS = Caller(kind="anonymous", name="anonymous")
