"""Resource catalogue (资源目录) API. A 资源代码 ``301001001/000001`` is addressed as two path parts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from gongshu.catalogue import browse, entries
from gongshu.catalogue.specs import EntryPublic, Transition, VersionPublic
from gongshu.service.deps import ApiPrincipal, CatalogQueryDep, PlatformDep, SessionDep

router = APIRouter(prefix="/catalog", tags=["catalogue 资源目录"])


@router.get("")
def search(session: SessionDep, actor: ApiPrincipal, query: CatalogQueryDep) -> dict[str, Any]:
    """Search entries in Chinese (jieba segmentation) with facet filters and facet counts."""
    return browse.page_document(session, browse.search_entries(session, actor, query))


@router.post("", status_code=201)
def create(
    platform: PlatformDep,
    session: SessionDep,
    actor: ApiPrincipal,
    document: dict[str, Any] = Body(..., description="an entry in the form of docs/catalogue-spec.md"),
) -> EntryPublic:
    """Register a new entry as a draft. Every validation problem is returned at once (422)."""
    spec = entries.parse_spec(document)
    entry = entries.create_entry(session, actor, spec, code_pattern=platform.settings.resource_code_pattern)
    return browse.entry_public(session, entry)


@router.get("/{front}/{back}")
def show(front: str, back: str, session: SessionDep, actor: ApiPrincipal) -> EntryPublic:
    return browse.entry_public(session, browse.get_entry(session, actor, f"{front}/{back}"))


@router.put("/{front}/{back}")
def replace(
    front: str,
    back: str,
    platform: PlatformDep,
    session: SessionDep,
    actor: ApiPrincipal,
    document: dict[str, Any] = Body(...),
) -> EntryPublic:
    """Replace an entry's fields (a new version); entries under review or revoked are locked (409)."""
    spec = entries.parse_spec(document)
    entry = entries.update_entry(
        session, actor, f"{front}/{back}", spec, code_pattern=platform.settings.resource_code_pattern
    )
    return browse.entry_public(session, entry)


@router.get("/{front}/{back}/versions")
def versions(front: str, back: str, session: SessionDep, actor: ApiPrincipal) -> list[VersionPublic]:
    """Every version of the entry, newest first."""
    return [browse.version_public(v) for v in browse.list_versions(session, actor, f"{front}/{back}")]


@router.post("/{front}/{back}/{action}")
def act(
    front: str,
    back: str,
    action: str,
    session: SessionDep,
    actor: ApiPrincipal,
    body: Transition | None = None,
) -> EntryPublic:
    """Lifecycle: ``submit``, ``return`` (note), ``publish``, ``mount``, ``revoke`` (note)."""
    entry = entries.transition(session, actor, f"{front}/{back}", action, note=body.note if body else None)
    return browse.entry_public(session, entry)
