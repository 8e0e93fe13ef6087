"""The JSON API under /api/v1: one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from gongshu.service.routes import (
    audit,
    catalog,
    collect,
    elements,
    health,
    open_apps,
    open_community,
    orgs,
    reports,
    share,
    share_calls,
    share_confirm,
    share_delivery,
    tickets,
    tokens,
    users,
)

api_router = APIRouter()
for module in (
    health,
    catalog,
    collect,
    elements,
    orgs,
    users,
    tokens,
    audit,
    reports,
    tickets,
    share,
    share_calls,
    share_confirm,
    share_delivery,
    open_apps,
    open_community,
):
    api_router.include_router(module.router)

__all__ = ["api_router"]
