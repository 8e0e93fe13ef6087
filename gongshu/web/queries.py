"""Read-only compositions of library calls into one page's data.

Each function only combines library reads (and labels for display); none decides anything — who may
do what comes from the library (e.g. ``entries.allowed_actions``). A page handler calls exactly one
of them, as it would call one library function.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from gongshu.catalogue import browse, elements, entries
from gongshu.catalogue.browse import CatalogPage, CatalogQuery
from gongshu.catalogue.entries import ACTIONS
from gongshu.catalogue.models import CatalogEntry
from gongshu.catalogue.specs import Status
from gongshu.orgs import organisations, users
from gongshu.orgs.roles import Principal, Role

#: Lifecycle actions offered as buttons on the resource page (mounting is a separate step).
PAGE_ACTIONS = ("submit", "return", "publish", "revoke")
FACETS = ("provider", "district", "share_type", "open_type", "update_cycle", "format", "status")
ORG_KINDS = ("center", "department", "district")
LATEST_COUNT = 6


def action_forms(actor: Principal, entry: CatalogEntry) -> list[dict[str, Any]]:
    """The lifecycle buttons the actor may press on an entry, with whether a note is required."""
    allowed = entries.allowed_actions(actor, entry)
    return [
        {"action": name, "needs_note": ACTIONS[name].needs_note} for name in PAGE_ACTIONS if name in allowed
    ]


def catalog_view(session: Session, actor: Principal, query: CatalogQuery) -> dict[str, Any]:
    """One page of catalogue search with facets and active filters."""
    result = browse.search_entries(session, actor, query)
    facets = [_facet(name, result, query) for name in FACETS]
    active = [{"name": f["name"], **v} for f in facets for v in f["values"] if v["active"]]
    return {
        "query": asdict(query),
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "pages": max(1, -(-result.total // result.per_page)),
        "fallback": result.fallback,
        "results": browse.entries_public(session, result.entries),
        "facets": facets,
        "active": active + _unlisted_filters(query, facets),
    }


def _facet(name: str, result: CatalogPage, query: CatalogQuery) -> dict[str, Any]:
    chosen = getattr(query, name)
    values = [
        {
            "value": v.value,
            "label": v.label,
            "label_en": v.label_en or None,
            "count": v.count,
            "active": v.value == chosen,
        }
        for v in result.facets.get(name, [])
    ]
    return {"name": name, "values": values}


def _unlisted_filters(query: CatalogQuery, facets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Filters that match nothing still show (and can be removed)."""
    listed = {f["name"] for f in facets for v in f["values"] if v["active"]}
    return [
        {"name": name, "value": getattr(query, name), "label": getattr(query, name), "label_en": None}
        for name in FACETS
        if getattr(query, name) and name not in listed
    ]


def entry_view(session: Session, actor: Principal, code: str) -> dict[str, Any]:
    """An entry with every field, its version history and the actions the actor may take."""
    entry = browse.get_entry(session, actor, code)
    versions = browse.list_versions(session, actor, code)
    return {
        "entry": browse.entry_public(session, entry),
        "versions": [browse.version_public(v) for v in versions],
        "actions": action_forms(actor, entry),
    }


def version_view(session: Session, actor: Principal, code: str, number: int) -> dict[str, Any]:
    """One version of an entry with its full document."""
    entry = browse.get_entry(session, actor, code)
    return {
        "entry": {"code": entry.code, "name": entry.name, "version": entry.version},
        "version": browse.version_public(browse.get_version(session, actor, code, number)),
    }


def overview(session: Session, actor: Principal) -> dict[str, Any]:
    """Totals for the home page and the latest published entries."""
    everything = browse.search_entries(session, actor, CatalogQuery(per_page=1))
    latest = browse.search_entries(
        session, actor, CatalogQuery(status=Status.PUBLISHED.value, sort="recent", per_page=LATEST_COUNT)
    )
    orgs = organisations.list_organisations(session)
    return {
        "totals": {
            "entries": everything.total,
            "by_status": [asdict(v) for v in everything.facets.get("status", [])],
            "departments": sum(1 for o in orgs if o.kind == "department"),
            "districts": sum(1 for o in orgs if o.kind == "district"),
            "elements": len(elements.list_elements(session)),
        },
        "latest": browse.entries_public(session, latest.entries),
    }


def organisations_by_kind(session: Session) -> dict[str, Any]:
    """Active organisations grouped by kind (大数据中心 / 委办局 / 区)."""
    orgs = [organisations.organisation_public(o) for o in organisations.list_organisations(session)]
    return {"groups": [{"kind": k, "organisations": [o for o in orgs if o.kind == k]} for k in ORG_KINDS]}


def organisation_view(session: Session, actor: Principal, code: str) -> dict[str, Any]:
    """An organisation, its catalogue entries with counts by status and (for operators) its users."""
    org = organisations.get_organisation(session, code)
    found = browse.search_entries(session, actor, CatalogQuery(provider=code, per_page=browse.MAX_PER_PAGE))
    members = users.list_users(session, actor, organisation=code) if actor.has(Role.OPERATOR) else None
    return {
        "organisation": organisations.organisation_public(org),
        "entries_total": found.total,
        "by_status": [asdict(v) for v in found.facets.get("status", [])],
        "entries": browse.entries_public(session, found.entries),
        "users": [{"username": u.username, "display_name": u.display_name} for u in members]
        if members is not None
        else None,
    }


def element_view(session: Session, code: str) -> dict[str, Any]:
    """A data element and how many data items bind to it."""
    element = elements.get_element(session, code)
    public = elements.ElementPublic.model_validate(element)
    return {"element": public.model_copy(update={"used_by": elements.element_usage(session, code)})}
