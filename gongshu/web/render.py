"""Rendering pages: one Jinja2 environment, the shared page context, and the error page.

A page handler returns only its data (the context); :func:`render_page` adds what every page
needs (language, ``t``, the viewer, the CSRF token) and renders a template in the shared layout.
The same data answers as JSON on the page's ``.json`` twin (see :mod:`gongshu.web.twins`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.datastructures import QueryParams

from gongshu.catalogue.specs import ITEM_TYPES
from gongshu.store.base import CITY_TIMEZONE
from gongshu.web import i18n
from gongshu.web.auth import csrf_token

log = logging.getLogger("gongshu.web")


def shanghai_time(value: datetime | date | None) -> str:
    """A time as ``YYYY-MM-DD HH:mm`` in Asia/Shanghai (dates as ``YYYY-MM-DD``)."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(CITY_TIMEZONE).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


@pass_context
def _t(context: Context, key: str, **values: object) -> str:
    return i18n.translate(context["lang"], key, **values)


@pass_context
def _gloss(context: Context, value: str | None) -> str:
    return i18n.gloss(context["lang"], value)


@pass_context
def _status(context: Context, value: str) -> str:
    return i18n.status_label(context["lang"], value)


@pass_context
def _role(context: Context, value: str) -> str:
    return i18n.role_label(context["lang"], value)


@pass_context
def _item_type(context: Context, code: str) -> str:
    return i18n.gloss(context["lang"], ITEM_TYPES.get(code, code))


@pass_context
def _url(context: Context, **changes: object) -> str:
    """The current URL with query parameters changed (``None`` removes one; page resets to 1)."""
    request: Request = context["request"]
    params = {k: v for k, v in request.query_params.items() if k not in ("page", i18n.LANG_PARAM)}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = str(QueryParams(params))
    return f"{request.url.path}?{query}" if query else request.url.path


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("gongshu.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.do"],
    )
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
    env.globals.update(t=_t, url_with=_url)
    env.filters.update(
        shanghai=shanghai_time, gloss=_gloss, status_label=_status, role_label=_role, item_type=_item_type
    )
    return env


templates = _environment()


def page_context(request: Request) -> dict[str, Any]:
    """What every page's template receives besides its own data."""
    platform = getattr(request.app.state, "platform", None)
    default = platform.settings.default_language if platform else i18n.DEFAULT_LANGUAGE
    has_session = "session" in request.scope
    principal = getattr(request.state, "principal", None)
    return {
        "request": request,
        "lang": i18n.choose_language(request, default),
        "viewer": principal,
        "viewer_name": request.session.get("name") if has_session and principal else None,
        "csrf_token": csrf_token(request) if has_session else "",
        "problems": {},
        "form": {},
    }


def render_page(
    request: Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> HTMLResponse:
    """Render ``template`` with ``context`` in the shared layout, in the viewer's language."""
    full = {**page_context(request), **context}
    response = HTMLResponse(templates.get_template(template).render(full), status_code=status)
    chosen = i18n.requested_language(request)
    if chosen:
        response.set_cookie(i18n.LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax")
    return response


def error_page(request: Request, status: int, message: str, hint: str | None) -> Response:
    """The error page (403/404/422/500...) in the same layout; plain text if even that fails."""
    try:
        return render_page(
            request, "error.html", {"status": status, "message": message, "hint": hint}, status=status
        )
    except Exception:
        log.exception("the error page failed to render")
        return PlainTextResponse(f"{status}: {message}", status_code=status)
