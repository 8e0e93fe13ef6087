"""Open datasets as the public sees them: which catalogue entries are open and what they publish.

An entry is an *open dataset* (开放数据集) when it is published or mounted in the catalogue and its
开放属性 is 无条件开放 or 有条件开放. Its metadata is public either way; its data is public without an
account only for 无条件开放 (a 有条件开放 dataset's data needs an approved application's credential).
不予开放 entries, drafts, entries under review and revoked entries never appear.

Only 信息项 graded 一般 are ever published (:data:`OPEN_GRADES`): open data carries no 重要 or 核心
item, whatever an application asks for. The public name of a dataset (CKAN's ``name``) is its
资源代码 with ``/`` replaced by ``-`` (``103001001-000001``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry
from gongshu.catalogue.specs import Grade, OpenType, Status
from gongshu.errors import NotFound
from gongshu.open.models import OpenPublication

#: Lifecycle states whose entries the portal shows.
OPEN_STATES = (Status.PUBLISHED.value, Status.MOUNTED.value)
#: 开放属性 whose entries the portal shows (metadata); data without an account only for the first.
OPEN_TYPES = (OpenType.UNCONDITIONAL.value, OpenType.CONDITIONAL.value)
#: Security grades of the 信息项 that may be published at all.
OPEN_GRADES = frozenset({Grade.GENERAL.value})
#: Download formats written for every publication.
DOWNLOAD_FORMATS = ("csv", "json", "xlsx")


def dataset_name(code: str) -> str:
    """The public name of the entry with 资源代码 ``code``: ``103001001/000001`` → ``103001001-000001``."""
    return code.replace("/", "-")


def entry_code(name: str) -> str:
    """The 资源代码 of the public name ``name`` (the inverse of :func:`dataset_name`)."""
    return name.replace("-", "/", 1) if "/" not in name else name


@dataclass(frozen=True)
class OpenField:
    """A 信息项 of an open dataset; ``published`` is False for items that are never opened."""

    name: str
    label: str
    type: str
    length: int | None
    element: str
    grade: str
    published: bool


@dataclass(frozen=True)
class Publication:
    """The current published version of a dataset's data."""

    version: int
    published_at: datetime
    rows: int
    fields: tuple[str, ...]
    datastore: str  # Parquet path relative to the data dir
    files: dict[str, Any]
    batch_id: str | None


@dataclass(frozen=True)
class OpenDataset:
    """One open dataset's public document (the portal, CKAN, DCAT and the search index read this)."""

    id: int
    name: str
    code: str
    title: str
    summary: str
    provider_id: int
    provider_code: str
    provider_name: str
    provider_name_en: str
    provider_uscc: str | None
    district_code: str
    district_name: str
    theme: str | None
    tags: tuple[str, ...]
    format: str
    format_detail: str | None
    update_cycle: str
    open_type: str
    open_condition: str | None
    publish_date: date | None
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    fields: tuple[OpenField, ...]
    publication: Publication | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def unconditional(self) -> bool:
        """True when the data is public without an account (无条件开放)."""
        return self.open_type == OpenType.UNCONDITIONAL.value

    @property
    def published_fields(self) -> tuple[str, ...]:
        """The 信息项 that are published (graded 一般), in catalogue order."""
        return tuple(f.name for f in self.fields if f.published)

    @property
    def modified(self) -> datetime:
        """When the dataset last changed: its metadata or its data, whichever is newer."""
        if self.publication is not None and self.publication.published_at > self.updated_at:
            return self.publication.published_at
        return self.updated_at


def open_entries_query() -> sa.Select[CatalogEntry]:
    """Entries the portal shows (see the module docstring)."""
    return sa.select(CatalogEntry).where(
        CatalogEntry.status.in_(OPEN_STATES), CatalogEntry.open_type.in_(OPEN_TYPES)
    )


def current_publications(session: Session, entry_ids: Iterable[int] | None = None) -> dict[int, Publication]:
    """The newest publication of each entry (of ``entry_ids``, or of all), by entry id."""
    newest = (
        sa.select(OpenPublication.entry_id, sa.func.max(OpenPublication.version).label("version"))
        .group_by(OpenPublication.entry_id)
        .subquery()
    )
    query = sa.select(OpenPublication).join(
        newest,
        sa.and_(OpenPublication.entry_id == newest.c.entry_id, OpenPublication.version == newest.c.version),
    )
    if entry_ids is not None:
        query = query.where(OpenPublication.entry_id.in_(list(entry_ids)))
    return {
        row.entry_id: Publication(
            version=row.version,
            published_at=row.published_at,
            rows=row.rows,
            fields=tuple(row.fields),
            datastore=row.datastore,
            files=dict(row.files),
            batch_id=row.batch_id,
        )
        for row in session.scalars(query)
    }


def to_dataset(entry: CatalogEntry, publication: Publication | None) -> OpenDataset:
    """The public document of an entry (which must be open; see :func:`is_open`)."""
    provider = entry.provider
    return OpenDataset(
        id=entry.id,
        name=dataset_name(entry.code),
        code=entry.code,
        title=entry.name,
        summary=entry.summary,
        provider_id=provider.id,
        provider_code=provider.code,
        provider_name=provider.name,
        provider_name_en=provider.name_en,
        provider_uscc=provider.uscc,
        district_code=entry.division_code,
        district_name=entry.division.name,
        theme=entry.theme,
        tags=tuple(entry.tags),
        format=entry.format,
        format_detail=entry.format_detail,
        update_cycle=entry.update_cycle,
        open_type=entry.open_type,
        open_condition=entry.open_condition,
        publish_date=entry.publish_date,
        status=entry.status,
        version=entry.version,
        created_at=entry.created_at,
        updated_at=entry.updated_at,
        fields=tuple(
            OpenField(
                name=item.name,
                label=item.label,
                type=item.type,
                length=item.length,
                element=item.element_code,
                grade=item.grade,
                published=item.grade in OPEN_GRADES,
            )
            for item in entry.items
        ),
        publication=publication,
    )


def is_open(entry: CatalogEntry) -> bool:
    """True when the portal shows ``entry``."""
    return entry.status in OPEN_STATES and entry.open_type in OPEN_TYPES


def load_open_datasets(session: Session) -> list[OpenDataset]:
    """Every open dataset with its current publication, ordered by 资源代码."""
    entries = list(session.scalars(open_entries_query().order_by(CatalogEntry.code)).unique())
    publications = current_publications(session)
    return [to_dataset(entry, publications.get(entry.id)) for entry in entries]


def open_dataset(session: Session, name: str) -> OpenDataset:
    """The open dataset called ``name`` (public name or 资源代码); :class:`NotFound` otherwise.

    A dataset that exists but is not open is reported exactly like one that does not exist.
    """
    entry = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == entry_code(name)))
    if entry is None or not is_open(entry):
        raise NotFound(f"no open dataset {name!r}", value=name)
    return to_dataset(entry, current_publications(session, [entry.id]).get(entry.id))


def catalogue_watermark(session: Session) -> tuple[Any, ...]:
    """A cheap value that changes whenever an open dataset's document may have changed.

    Caches of :func:`load_open_datasets` (the search index) compare it to decide whether to reload.
    """
    entries = session.execute(
        sa.select(sa.func.count(CatalogEntry.id), sa.func.max(CatalogEntry.updated_at))
    ).one()
    publications = session.execute(
        sa.select(sa.func.count(OpenPublication.id), sa.func.max(OpenPublication.id))
    ).one()
    return (*entries, *publications)
