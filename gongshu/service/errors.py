"""Where exceptions become HTTP responses: the one mapping for API and pages.

API paths answer JSON ``{"error": {"code", "message", "hint", "problems"}}`` with the error's HTTP
status; page paths render the error page (sign-in redirect for 401). The CKAN Action API's paths
(``/api/3/action/…``, ``/api/action/…``) answer CKAN's envelope ``{help, success: false, error}``
(``service/routes/ckan.py``). Unexpected exceptions are
logged with a reference and answered 500 without details.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gongshu.errors import AuthenticationFailed, GongshuError, ValidationFailed

log = logging.getLogger("gongshu.service")


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.endswith(".json")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GongshuError, _gongshu_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _request_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


def is_ckan(request: Request) -> bool:
    return request.url.path.startswith(("/api/3/action/", "/api/action/"))


async def _gongshu_error(request: Request, error: GongshuError) -> Response:
    if is_ckan(request):
        from gongshu.service.routes.ckan import ckan_error_response

        return ckan_error_response(request, error)
    retry_after = getattr(error, "retry_after", None)  # quotas and rate limits (429)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if is_api(request):
        return JSONResponse({"error": error.to_dict()}, status_code=error.http_status, headers=headers)
    if isinstance(error, AuthenticationFailed) and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    from gongshu.web.render import error_page

    response = error_page(request, error.http_status, error.message, error.hint)
    if headers:
        response.headers.update(headers)
    return response


async def _request_invalid(request: Request, error: RequestValidationError) -> Response:
    return await _gongshu_error(request, ValidationFailed.from_issues(error.errors(), skip=1))


async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
    if is_ckan(request):
        from gongshu.service.routes.ckan import ckan_failure

        kind = "Not Found Error" if error.status_code == 404 else "Bad Request"
        return ckan_failure(request, error.status_code, {"__type": kind, "message": str(error.detail)})
    if is_api(request):
        body = {"error": {"code": "http", "message": str(error.detail)}}
        return JSONResponse(body, status_code=error.status_code)
    from gongshu.web.render import error_page

    return error_page(request, error.status_code, str(error.detail), None)


async def _unexpected(request: Request, error: Exception) -> Response:
    reference = secrets.token_hex(4)
    log.exception("unexpected error %s on %s %s", reference, request.method, request.url.path)
    message = f"internal error (reference {reference})"
    if is_ckan(request):
        from gongshu.service.routes.ckan import ckan_failure

        return ckan_failure(request, 500, {"__type": "Internal Server Error", "message": message})
    if is_api(request):
        return JSONResponse({"error": {"code": "internal", "message": message}}, status_code=500)
    from gongshu.web.render import error_page

    return error_page(request, 500, message, None)
