"""The page routers, one per area; each page is registered with its JSON twin (see ``twins``)."""

from __future__ import annotations

from fastapi import APIRouter

from gongshu.web.routes import admin, catalog, elements, home, orgs, session, tokens

routers: list[APIRouter] = [m.router for m in (session, home, catalog, orgs, elements, tokens, admin)]

__all__ = ["routers"]
