"""The FastAPI app factory."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from gongshu import __version__
from gongshu.platform import Platform
from gongshu.service.errors import install_error_handlers
from gongshu.service.fastpath import FastPath
from gongshu.service.routes import api_router
from gongshu.service.routes.ckan import router as ckan_router
from gongshu.service.routes.open_data import router as open_data_router
from gongshu.service.routes.open_dcat import router as dcat_router
from gongshu.service.routes.share_calls import exchange_of

DESCRIPTION = """gongshu (公数) — a city's public data platform.

Authenticate with an API token: `Authorization: Bearer gsk_…` (issue one on the 令牌 page,
with `gongshu token issue`, or `POST /api/v1/tokens`). Errors answer
`{"error": {"code", "message", "hint", "problems"}}` with a meaningful HTTP status.
"""


def create_app(platform: Platform) -> FastAPI:
    """Build the service for an open platform. Refuses to start on a default secret (see config)."""
    secret = platform.settings.resolve_secret()
    app = FastAPI(
        title="gongshu 公数",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI loads from a CDN, which an offline city network cannot reach
        redoc_url=None,
    )
    app.state.platform = platform
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="gongshu_session",
        max_age=platform.settings.session_max_age_s,
        same_site="lax",
    )
    # outermost: verification and the bare health check are answered before sessions and routing
    app.add_middleware(FastPath, exchange=lambda: exchange_of(platform, app.state))
    install_error_handlers(app)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(ckan_router)  # the CKAN Action API at /api/3/action and /api/action (site root)
    app.include_router(dcat_router)  # DCAT-AP: /catalog.{ttl,jsonld,xml}, /open/datasets/{name}/dcat.*
    app.include_router(open_data_router)  # /open/datasets/{name}/download.*, /datastore/dump/*
    from gongshu.web import install_pages

    install_pages(app)
    return app
