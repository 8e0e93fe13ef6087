"""Liveness and the caller's identity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gongshu import __version__
from gongshu.service.deps import ApiPrincipal

router = APIRouter(tags=["service"])


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: answers without authentication and without touching the store."""
    return {"status": "ok", "version": __version__}


@router.get("/me")
def me(actor: ApiPrincipal) -> dict[str, Any]:
    """Who the token belongs to and which roles it carries."""
    return {"name": actor.name, "roles": sorted(actor.roles), "organisation_id": actor.organisation_id}
