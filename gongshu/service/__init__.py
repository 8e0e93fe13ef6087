"""The HTTP service: a FastAPI app with the JSON API under /api/v1 and the server-rendered pages."""

from __future__ import annotations

from gongshu.service.app import create_app

__all__ = ["create_app"]
