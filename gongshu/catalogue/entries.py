"""Writing the catalogue: create, edit and move entries through their lifecycle, versioned and audited.

Lifecycle (资源目录生命周期)::

    draft --submit--> submitted --publish--> published --mount--> mounted
      ^                   |                      |                   |
      +------return-------+                      +------revoke-------+--> revoked

Every change writes an immutable :class:`CatalogVersion` and an audit event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry, CatalogItem, CatalogVersion
from gongshu.catalogue.search import index_entry
from gongshu.catalogue.specs import DEFAULT_CODE_PATTERN, EntrySpec, Status
from gongshu.catalogue.validation import validate_entry
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.models import Organisation
from gongshu.orgs.roles import Principal, Role
from gongshu.security import audit
from gongshu.store.base import city_today, utcnow


@dataclass(frozen=True)
class Action:
    """A lifecycle action: from which states, to which state, who may, whether a note is needed."""

    sources: frozenset[Status]
    target: Status
    roles: frozenset[Role]
    provider_may: bool
    needs_note: bool = False


ACTIONS: dict[str, Action] = {
    "submit": Action(frozenset({Status.DRAFT}), Status.SUBMITTED, frozenset({Role.OPERATOR}), True),
    "return": Action(
        frozenset({Status.SUBMITTED}), Status.DRAFT, frozenset({Role.OPERATOR}), False, needs_note=True
    ),
    "publish": Action(frozenset({Status.SUBMITTED}), Status.PUBLISHED, frozenset({Role.OPERATOR}), False),
    "mount": Action(frozenset({Status.PUBLISHED}), Status.MOUNTED, frozenset({Role.OPERATOR}), True),
    "revoke": Action(
        frozenset({Status.PUBLISHED, Status.MOUNTED}),
        Status.REVOKED,
        frozenset({Role.OPERATOR}),
        True,
        needs_note=True,
    ),
}
EDITABLE = frozenset({Status.DRAFT, Status.PUBLISHED, Status.MOUNTED})


def parse_spec(document: Mapping[str, Any]) -> EntrySpec:
    """An :class:`EntrySpec` from a YAML/JSON mapping; shape errors become keyed problems.

    The optional top-level ``source`` key (used by the synthetic city to name the source system an
    entry describes) is ignored here; mounting is a separate step.
    """
    data = {key: value for key, value in document.items() if key != "source"}
    try:
        return EntrySpec.model_validate(data)
    except ValidationError as error:
        raise ValidationFailed.from_issues(error.errors()) from None


def create_entry(
    session: Session, actor: Principal, spec: EntrySpec, *, code_pattern: str = DEFAULT_CODE_PATTERN
) -> CatalogEntry:
    """Register a new entry as a draft (编目). Stewards of the provider and operators may."""
    provider = _provider_for(session, actor, spec.provider)
    problems = validate_entry(session, spec, code_pattern=code_pattern)
    if session.scalar(sa.select(CatalogEntry.id).where(CatalogEntry.code == spec.code)):
        problems.setdefault("code", []).append(f"资源代码 {spec.code} 已存在 (code already used)")
    if problems:
        raise ValidationFailed(problems)
    entry = CatalogEntry(code=spec.code, status=Status.DRAFT.value, version=1, created_at=utcnow())
    _apply(entry, spec, provider)
    session.add(entry)
    session.flush()
    _record(session, actor, entry, change="create", note=None)
    return entry


def update_entry(
    session: Session,
    actor: Principal,
    code: str,
    spec: EntrySpec,
    *,
    code_pattern: str = DEFAULT_CODE_PATTERN,
) -> CatalogEntry:
    """Replace an entry's fields; a new version. Entries under review or revoked are locked."""
    entry = _entry(session, code)
    _provider_for(session, actor, entry.provider.code)
    if Status(entry.status) not in EDITABLE:
        raise Conflict(
            f"entry {code} is {entry.status} and cannot be edited",
            hint="return a submitted entry to draft first; revoked entries are final",
        )
    problems = validate_entry(session, spec, code_pattern=code_pattern)
    if spec.code != code:
        problems.setdefault("code", []).append("资源代码不可修改 (the code of an entry cannot change)")
    if spec.provider != entry.provider.code and not actor.has(Role.OPERATOR):
        problems.setdefault("provider", []).append("只有平台运营方可变更提供方 (only operators move entries)")
    if problems:
        raise ValidationFailed(problems)
    provider = _provider_for(session, actor, spec.provider)
    entry.items.clear()
    session.flush()  # old items go before new ones arrive: (entry_id, name) is unique
    _apply(entry, spec, provider)
    entry.version += 1
    session.flush()
    _record(session, actor, entry, change="update", note=None)
    return entry


def transition(
    session: Session, actor: Principal, code: str, action_name: str, *, note: str | None = None
) -> CatalogEntry:
    """Move an entry through its lifecycle (submit / return / publish / mount / revoke)."""
    action = ACTIONS.get(action_name)
    if action is None:
        raise ValidationFailed({"action": [f"unknown action {action_name}; use {', '.join(ACTIONS)}"]})
    entry = _entry(session, code)
    if not _granted(actor, entry, action):
        raise PermissionDenied(f"{action_name} of {code} is not granted to {actor.name}")
    if Status(entry.status) not in action.sources:
        allowed = "/".join(sorted(s.value for s in action.sources))
        raise Conflict(f"cannot {action_name} entry {code}: it is {entry.status}, not {allowed}")
    if action.needs_note and not (note or "").strip():
        raise ValidationFailed({"note": [f"{action_name} 须说明理由 (a reason is required)"]})
    entry.status = action.target.value
    if action.target is Status.PUBLISHED and entry.publish_date is None:
        entry.publish_date = city_today()
    entry.version += 1
    session.flush()
    _record(session, actor, entry, change=action_name, note=note)
    return entry


def _granted(actor: Principal, entry: CatalogEntry, action: Action) -> bool:
    provider_steward = actor.has(Role.STEWARD) and actor.organisation_id == entry.provider_id
    return actor.has(*action.roles) or (action.provider_may and provider_steward)


def allowed_actions(actor: Principal, entry: CatalogEntry) -> list[str]:
    """The lifecycle actions ``actor`` may take on ``entry`` now (what pages offer as buttons)."""
    return [
        name
        for name, action in ACTIONS.items()
        if Status(entry.status) in action.sources and _granted(actor, entry, action)
    ]


def _entry(session: Session, code: str) -> CatalogEntry:
    entry = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == code))
    if entry is None:
        raise NotFound(f"no catalogue entry {code!r}", value=code)
    return entry


def _provider_for(session: Session, actor: Principal, provider_code: str) -> Organisation:
    provider = session.scalar(sa.select(Organisation).where(Organisation.code == provider_code))
    if provider is None:
        raise ValidationFailed({"provider": [f"未知的提供方代码 {provider_code} (unknown provider)"]})
    if not (actor.has(Role.OPERATOR) or (actor.has(Role.STEWARD) and actor.acts_for(provider.id))):
        raise PermissionDenied(
            f"{actor.name} may not catalogue resources of {provider_code}",
            hint="a data steward of the providing organisation or an operator may",
        )
    return provider


def _apply(entry: CatalogEntry, spec: EntrySpec, provider: Organisation) -> None:
    entry.name = spec.name.strip()
    entry.provider_id = provider.id
    entry.provider = provider
    entry.division_code = spec.district or provider.division_code
    for field in (
        "summary",
        "format",
        "format_detail",
        "share_type",
        "share_condition",
        "share_basis",
        "open_type",
        "open_condition",
        "open_basis",
        "update_cycle",
        "theme",
        "publish_date",
    ):
        setattr(entry, field, getattr(spec, field))
    entry.share_methods = list(spec.share_methods)
    entry.related_codes = list(spec.related_codes)
    entry.tags = list(spec.tags)
    entry.items = [
        CatalogItem(
            position=index,
            name=item.name,
            label=item.label,
            type=item.type,
            length=item.length,
            element_code=item.element,
            grade=item.grade,
        )
        for index, item in enumerate(spec.items)
    ]
    entry.updated_at = utcnow()


def entry_document(entry: CatalogEntry) -> dict[str, Any]:
    """The entry in spec form (what a version snapshot and ``catalog show --yaml`` hold)."""
    return {
        "code": entry.code,
        "name": entry.name,
        "provider": entry.provider.code,
        "district": entry.division_code,
        "summary": entry.summary,
        "format": entry.format,
        "format_detail": entry.format_detail,
        "share_type": entry.share_type,
        "share_condition": entry.share_condition,
        "share_basis": entry.share_basis,
        "share_methods": list(entry.share_methods),
        "open_type": entry.open_type,
        "open_condition": entry.open_condition,
        "open_basis": entry.open_basis,
        "update_cycle": entry.update_cycle,
        "theme": entry.theme,
        "publish_date": entry.publish_date.isoformat() if isinstance(entry.publish_date, date) else None,
        "related_codes": list(entry.related_codes),
        "tags": list(entry.tags),
        "items": [
            {
                "name": i.name,
                "label": i.label,
                "type": i.type,
                "length": i.length,
                "element": i.element_code,
                "grade": i.grade,
            }
            for i in entry.items
        ],
    }


def _record(
    session: Session, actor: Principal, entry: CatalogEntry, *, change: str, note: str | None
) -> None:
    session.add(
        CatalogVersion(
            entry_id=entry.id,
            version=entry.version,
            status=entry.status,
            change=change,
            note=note,
            actor=actor.name,
            at=utcnow(),
            document=entry_document(entry),
        )
    )
    index_entry(session, entry)
    audit.record(
        session,
        actor=actor.name,
        action=f"catalog.{change}",
        object_type="catalog_entry",
        object_id=entry.code,
        detail={"version": entry.version, "status": entry.status, "note": note},
    )
