"""The resource catalogue (资源目录): faceted Chinese search, the resource page, its versions, lifecycle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form

from gongshu.catalogue import browse, entries
from gongshu.errors import ValidationFailed
from gongshu.service.deps import CatalogQueryDep, SessionDep
from gongshu.web.auth import GovUser
from gongshu.web.forms import blank_to_none
from gongshu.web.queries import catalog_view, entry_view, version_view
from gongshu.web.twins import Done, Result, invalid, page

router = APIRouter()


@page(router, "/catalog", "catalog.html")
def catalog(session: SessionDep, actor: GovUser, query: CatalogQueryDep) -> dict[str, Any]:
    """Search (jieba-segmented Chinese), facet counts, active filters, pagination."""
    return catalog_view(session, actor, query)


@page(router, "/catalog/{front}/{back}", "entry.html")
def entry(front: str, back: str, session: SessionDep, actor: GovUser) -> dict[str, Any]:
    """Every field of an entry, its version history and the lifecycle actions the viewer may take."""
    return entry_view(session, actor, f"{front}/{back}")


@page(router, "/catalog/{front}/{back}/versions/{number}", "version.html")
def version(front: str, back: str, number: int, session: SessionDep, actor: GovUser) -> dict[str, Any]:
    """One version's full document."""
    return version_view(session, actor, f"{front}/{back}", number)


@page(router, "/catalog/{front}/{back}/{action}", "entry.html", methods=["POST"])
def act(
    front: str,
    back: str,
    action: str,
    session: SessionDep,
    actor: GovUser,
    note: Annotated[str, Form()] = "",
) -> Result:
    """Submit / return / publish / revoke; a missing note is shown beside the note field."""
    code = f"{front}/{back}"
    try:
        moved = entries.transition(session, actor, code, action, note=blank_to_none(note))
    except ValidationFailed as error:
        session.rollback()
        context = {**entry_view(session, actor, code), "failed_action": action}
        return invalid(error, context, {"note": note})
    return Done(f"/catalog/{code}", browse.entry_public(session, moved))
