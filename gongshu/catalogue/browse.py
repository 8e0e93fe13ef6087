"""Reading the catalogue: one entry, its versions, and faceted Chinese search.

Government users (see :data:`gongshu.orgs.roles.GOVERNMENT_ROLES`) read published, mounted and
revoked entries; drafts and entries under review are visible only to their provider and operators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry, CatalogVersion, DataElement
from gongshu.catalogue.search import matching_ids
from gongshu.catalogue.specs import EntryPublic, ItemPublic, Status, VersionPublic
from gongshu.errors import NotFound
from gongshu.orgs.models import Division, Organisation
from gongshu.orgs.roles import GOVERNMENT_ROLES, Principal, Role

PUBLIC_STATES = (Status.PUBLISHED.value, Status.MOUNTED.value, Status.REVOKED.value)
MAX_PER_PAGE = 200

#: Facet name → the entry column it counts.
FACET_COLUMNS = {
    "provider": CatalogEntry.provider_id,
    "district": CatalogEntry.division_code,
    "share_type": CatalogEntry.share_type,
    "open_type": CatalogEntry.open_type,
    "update_cycle": CatalogEntry.update_cycle,
    "format": CatalogEntry.format,
    "status": CatalogEntry.status,
}


@dataclass(frozen=True)
class CatalogQuery:
    """A search of the catalogue: free text plus facet filters (organisation and division codes)."""

    q: str | None = None
    provider: str | None = None
    district: str | None = None
    share_type: str | None = None
    open_type: str | None = None
    update_cycle: str | None = None
    format: str | None = None
    status: str | None = None
    sort: str = "relevance"  # "relevance" (provider and code without q) or "recent" (newest published)
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet: ``label`` is Chinese; ``label_en`` is set for organisations and districts
    (enumeration values are Chinese by definition and glossed by the pages)."""

    value: str
    label: str
    count: int
    label_en: str = ""


@dataclass
class CatalogPage:
    """One page of results with facet counts over the whole result."""

    total: int
    page: int
    per_page: int
    entries: list[CatalogEntry]
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    fallback: bool = False  # True when no entry had every word and any-word matches are shown


def _visible(actor: Principal) -> sa.ColumnElement[bool]:
    if not actor.has(*GOVERNMENT_ROLES):
        return sa.false()
    if actor.has(Role.OPERATOR):
        return sa.true()
    own = CatalogEntry.provider_id == actor.organisation_id if actor.organisation_id else sa.false()
    return sa.or_(CatalogEntry.status.in_(PUBLIC_STATES), own)


def get_entry(session: Session, actor: Principal, code: str) -> CatalogEntry:
    """One entry, if the actor may see it; otherwise the same NotFound as for a missing one."""
    entry = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == code, _visible(actor)))
    if entry is None:
        raise NotFound(f"no catalogue entry {code!r}", value=code)
    return entry


def list_versions(session: Session, actor: Principal, code: str) -> list[CatalogVersion]:
    """Every version of an entry, newest first."""
    entry = get_entry(session, actor, code)
    return list(
        session.scalars(
            sa.select(CatalogVersion)
            .where(CatalogVersion.entry_id == entry.id)
            .order_by(CatalogVersion.version.desc())
        )
    )


def search_entries(session: Session, actor: Principal, query: CatalogQuery) -> CatalogPage:
    """Faceted search. Ranked by relevance when ``q`` is given, else by provider and code."""
    per_page = max(1, min(query.per_page, MAX_PER_PAGE))
    page = max(1, query.page)
    conditions = [_visible(actor), *_filters(session, query)]
    ranked, fallback = _ranked(session, query.q, conditions)
    base = sa.select(CatalogEntry.id).where(*conditions)
    if ranked is not None:
        base = base.where(CatalogEntry.id.in_(sa.select(ranked.c.entry_id)))
    total = session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    listing = sa.select(CatalogEntry).where(CatalogEntry.id.in_(base))
    if query.sort == "recent":
        listing = listing.order_by(
            CatalogEntry.publish_date.desc().nulls_last(), CatalogEntry.updated_at.desc(), CatalogEntry.code
        )
    elif ranked is not None:
        listing = listing.join(ranked, ranked.c.entry_id == CatalogEntry.id).order_by(
            ranked.c.score.desc(), CatalogEntry.code
        )
    else:
        listing = listing.join(Organisation).order_by(Organisation.code, CatalogEntry.code)
    entries = list(session.scalars(listing.limit(per_page).offset((page - 1) * per_page)))
    facets = _facets(session, base)
    return CatalogPage(total, page, per_page, entries, facets, fallback)


def _ranked(
    session: Session, q: str | None, conditions: list[sa.ColumnElement[bool]]
) -> tuple[sa.Subquery | None, bool]:
    if not q or not q.strip():
        return None, False
    exact = session.scalar(sa.select(CatalogEntry.id).where(CatalogEntry.code == q.strip(), *conditions))
    if exact is not None:
        return sa.select(
            sa.literal(exact).label("entry_id"), sa.literal(100.0).label("score")
        ).subquery(), False
    every = matching_ids(q, every_word=True)
    if every is None:
        return sa.select(sa.literal(-1).label("entry_id"), sa.literal(0.0).label("score")).subquery(), False
    every_sq = every.subquery()
    # only whether any visible entry holds every word decides the fallback, not how many do
    hits = (
        sa.select(CatalogEntry.id).join(every_sq, every_sq.c.entry_id == CatalogEntry.id).where(*conditions)
    )
    if session.scalar(sa.select(hits.exists())):
        return every_sq, False
    any_word = matching_ids(q, every_word=False)
    assert any_word is not None
    return any_word.subquery(), True


def _filters(session: Session, query: CatalogQuery) -> list[sa.ColumnElement[bool]]:
    filters: list[sa.ColumnElement[bool]] = []
    if query.provider:
        org_id = session.scalar(sa.select(Organisation.id).where(Organisation.code == query.provider))
        filters.append(CatalogEntry.provider_id == (org_id or -1))
    for name in ("district", "share_type", "open_type", "update_cycle", "format", "status"):
        value = getattr(query, name)
        if value:
            filters.append(FACET_COLUMNS[name] == value)
    return filters


def _facets(session: Session, base: sa.Select[Any]) -> dict[str, list[FacetValue]]:
    ids = base.subquery()
    labels = _facet_labels(session)
    facets: dict[str, list[FacetValue]] = {}
    for name, column in FACET_COLUMNS.items():
        rows = session.execute(
            sa.select(column, sa.func.count())
            .where(CatalogEntry.id.in_(sa.select(ids.c.id)))
            .group_by(column)
            .order_by(sa.func.count().desc(), column)
        ).all()
        facets[name] = [_facet_value(labels.get(name, {}), value, int(count)) for value, count in rows]
    return facets


def _facet_value(labels: dict[str, tuple[str, str, str]], raw: object, count: int) -> FacetValue:
    key = str(raw)
    value, label, label_en = labels.get(key, (key, key, ""))
    return FacetValue(value, label, count, label_en)


def _facet_labels(session: Session) -> dict[str, dict[str, tuple[str, str, str]]]:
    """provider id → (code, name, English name) and division code → (code, name, English name)."""
    providers = {str(o.id): (o.code, o.name, o.name_en) for o in session.scalars(sa.select(Organisation))}
    divisions = {d.code: (d.code, d.name, d.name_en) for d in session.scalars(sa.select(Division))}
    return {"provider": providers, "district": divisions}


def element_names(session: Session) -> dict[str, str]:
    """数据元 code → name, for rendering many entries with one query."""
    return {code: name for code, name in session.execute(sa.select(DataElement.code, DataElement.name))}


def entry_public(
    session: Session, entry: CatalogEntry, *, names: Mapping[str, str] | None = None
) -> EntryPublic:
    """The entry as the API returns it; pass ``names`` (:func:`element_names`) when rendering many."""
    names = element_names(session) if names is None else names
    return EntryPublic(
        id=entry.id,
        code=entry.code,
        name=entry.name,
        provider=entry.provider.code,
        provider_name=entry.provider.name,
        district=entry.division_code,
        district_name=entry.division.name,
        district_name_en=entry.division.name_en,
        summary=entry.summary,
        format=entry.format,
        format_detail=entry.format_detail,
        share_type=entry.share_type,
        share_condition=entry.share_condition,
        share_basis=entry.share_basis,
        share_methods=list(entry.share_methods),
        open_type=entry.open_type,
        open_condition=entry.open_condition,
        open_basis=entry.open_basis,
        update_cycle=entry.update_cycle,
        theme=entry.theme,
        publish_date=entry.publish_date,
        related_codes=list(entry.related_codes),
        tags=list(entry.tags),
        status=entry.status,
        version=entry.version,
        created_at=entry.created_at,
        updated_at=entry.updated_at,
        items=[
            ItemPublic(
                name=i.name,
                label=i.label,
                type=i.type,
                length=i.length,
                element=i.element_code,
                element_name=names.get(i.element_code, ""),
                grade=i.grade,
            )
            for i in entry.items
        ],
    )


def entries_public(session: Session, found: list[CatalogEntry]) -> list[EntryPublic]:
    """Many entries in API form, with one query for the data element names."""
    names = element_names(session)
    return [entry_public(session, entry, names=names) for entry in found]


def page_document(session: Session, page: CatalogPage) -> dict[str, Any]:
    """A search result as JSON-ready data (what the API and ``catalog list --json`` print)."""
    return {
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "fallback": page.fallback,
        "results": [e.model_dump(mode="json") for e in entries_public(session, page.entries)],
        "facets": {name: [vars(v) for v in values] for name, values in page.facets.items()},
    }


def get_version(session: Session, actor: Principal, code: str, number: int) -> CatalogVersion:
    """One version of an entry the actor may see."""
    entry = get_entry(session, actor, code)
    version = session.scalar(
        sa.select(CatalogVersion).where(CatalogVersion.entry_id == entry.id, CatalogVersion.version == number)
    )
    if version is None:
        raise NotFound(f"entry {code} has no version {number}", value=number)
    return version


def version_public(version: CatalogVersion) -> VersionPublic:
    return VersionPublic(
        version=version.version,
        status=version.status,
        change=version.change,
        note=version.note,
        actor=version.actor,
        at=version.at,
        document=version.document,
    )
