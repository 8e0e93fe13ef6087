"""The page routers, one per area; each page is registered with its JSON twin (see ``twins``)."""

from __future__ import annotations

from fastapi import APIRouter

from gongshu.web.routes import (
    admin,
    catalog,
    cockpit,
    collect,
    elements,
    home,
    open_apps,
    open_community,
    open_portal,
    open_search,
    orgs,
    reports,
    session,
    share,
    share_letters,
    tickets,
    tokens,
)

# collect before catalog: its /catalog/{front}/{back}/mount form must win over the catalogue's
# /catalog/{front}/{back}/{action} lifecycle POST
routers: list[APIRouter] = [
    m.router
    for m in (
        session,
        home,
        cockpit,
        collect,
        open_apps,
        open_community,
        open_search,
        open_portal,
        catalog,
        orgs,
        elements,
        reports,
        tickets,
        share_letters,
        share,
        tokens,
        admin,
    )
]

__all__ = ["routers"]
