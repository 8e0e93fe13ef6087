"""The home page: totals and the latest published entries; a sign-in prompt for visitors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gongshu.open.freshness import open_alerts
from gongshu.orgs.roles import GOVERNMENT_ROLES, Role
from gongshu.service.deps import SessionDep
from gongshu.web.auth import Viewer
from gongshu.web.queries import overview
from gongshu.web.twins import page

router = APIRouter()


@page(router, "/", "home.html")
def home(session: SessionDep, viewer: Viewer) -> dict[str, Any]:
    """Visitors and non-government users see what gongshu is and how to sign in."""
    if viewer is None or not viewer.has(*GOVERNMENT_ROLES):
        return {"signed_in": viewer is not None, "overview": None}
    alerts = None  # a steward sees the 更新提醒 (freshness alerts) of their department's open datasets
    if viewer.has(Role.STEWARD) and viewer.organisation_id is not None:
        alerts = open_alerts(session, viewer.organisation_id)
    return {"signed_in": True, "overview": overview(session, viewer), "open_alerts": alerts}
