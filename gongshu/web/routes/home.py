"""The home page: totals and the latest published entries; a sign-in prompt for visitors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gongshu.orgs.roles import GOVERNMENT_ROLES
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
    return {"signed_in": True, "overview": overview(session, viewer)}
