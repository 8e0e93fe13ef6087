"""CKAN Action API (CKAN 兼容接口) at ``/api/3/action/{name}`` and ``/api/action/{name}``, GET and POST.

Parameters come as the query string (GET; JSON-encoded lists and objects such as
``facet.field=["organization"]`` are read as CKAN reads them), a JSON object body (POST, what
``ckanapi`` sends) or a form. Keys arrive as ``Authorization: <key>`` (or ``X-CKAN-API-Key``); every
call is metered (429 with ``Retry-After``). Answers are CKAN's envelope ``{help, success, result}``;
errors ``{help, success: false, error: {__type, message}}`` with CKAN's statuses — the service's error
handler (``service/errors.py``) calls :func:`ckan_error_response` for every exception on these paths.
The actions themselves are :mod:`gongshu.open.ckan`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from gongshu.errors import GongshuError
from gongshu.open import ckan
from gongshu.open.index import portal_index
from gongshu.platform import Platform
from gongshu.service.deps import PlatformDep, SessionDep
from gongshu.service.open_deps import MeteredCaller

router = APIRouter(tags=["open: CKAN Action API"])

PREFIXES = ("/api/3/action/", "/api/action/")
HEADERS = {"Access-Control-Allow-Origin": "*"}
#: Documented parameters of each action (OpenAPI); values may be JSON-encoded where lists or objects.
PARAMETERS: dict[str, list[tuple[str, str]]] = {
    "help_show": [("name", "the action's name")],
    "package_list": [("limit", "how many names"), ("offset", "names to skip")],
    "package_search": [
        ("q", "search text (Chinese word segmentation); field:value clauses allowed"),
        ("fq", 'filter: field:value, field:"quoted", field:(a OR b), -field:value; clauses are ANDed'),
        ("rows", "results per page, 0 to 1000 (default 10)"),
        ("start", "results to skip"),
        ("sort", "score desc | metadata_modified desc | title_string asc|desc | name asc|desc"),
        ("facet.field", 'JSON list, e.g. ["organization","groups","res_format","tags"]'),
        ("facet.limit", "values per facet (default 50, -1 all)"),
        ("facet.mincount", "smallest count listed (default 1)"),
    ],
    "package_show": [("id", "the dataset's id, name (103001001-000001) or 资源代码")],
    "organization_list": [
        ("all_fields", "true for dicts"),
        ("sort", "name asc | title asc | package_count desc"),
        ("limit", ""),
        ("offset", ""),
    ],
    "organization_show": [("id", "id, name or code"), ("include_datasets", "true to list its datasets")],
    "group_list": [("all_fields", "true for dicts"), ("sort", ""), ("limit", ""), ("offset", "")],
    "group_show": [("id", "id, name (economy) or title (经济建设)"), ("include_datasets", "")],
    "tag_list": [("query", "only tags containing this text"), ("all_fields", "true for dicts")],
    "resource_show": [("id", "{name}-csv, {name}-json or {name}-xlsx")],
    "datastore_search": [
        ("resource_id", "{name}-csv"),
        ("filters", 'JSON object, e.g. {"district": "黄浦区"}'),
        ("q", "full-text, or a JSON object field → text"),
        ("sort", '"field asc, other desc"'),
        ("fields", "comma-separated or JSON list"),
        ("limit", "0 to 32000 (default 100)"),
        ("offset", ""),
        ("include_total", "true (default) or false"),
        ("distinct", "true for distinct rows"),
    ],
}


def base_url(platform: Platform, request: Request) -> str:
    """The portal's public address without a trailing slash."""
    return (platform.settings.public_url or str(request.base_url)).rstrip("/")


def help_url(request: Request, name: str) -> str:
    platform: Platform | None = getattr(request.app.state, "platform", None)
    base = base_url(platform, request) if platform is not None else str(request.base_url).rstrip("/")
    return f"{base}/api/3/action/help_show?name={name}"


def is_ckan(request: Request) -> bool:
    """True for the CKAN Action API's paths (their errors answer CKAN's envelope)."""
    return request.url.path.startswith(PREFIXES)


def _action_name(request: Request) -> str:
    path = request.url.path
    for prefix in PREFIXES:
        if path.startswith(prefix):
            return path[len(prefix) :]
    return ""


def ckan_failure(request: Request, status: int, error: dict[str, Any]) -> JSONResponse:
    """CKAN's error envelope with ``status`` (``Retry-After`` kept for 429)."""
    body = {"help": help_url(request, _action_name(request)), "success": False, "error": error}
    headers = dict(HEADERS)
    if error.get("retry_after") is not None:
        headers["Retry-After"] = str(error["retry_after"])
    return JSONResponse(body, status_code=status, headers=headers)


def ckan_error_response(request: Request, error: GongshuError) -> JSONResponse:
    """A gongshu error as CKAN answers it (Not Found Error 404, Validation Error 409 …)."""
    status, body = ckan.ckan_error(error)
    return ckan_failure(request, status, body)


def _mixed(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Query or form pairs as CKAN reads them: one value as text, several as a list."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            data[key] = [*data[key], value] if isinstance(data[key], list) else [data[key], value]
        else:
            data[key] = value
    return data


async def action_data(request: Request) -> dict[str, Any]:
    """The action's parameters: the query string (GET), or the JSON object or form posted."""
    query = _mixed(parse_qsl(request.url.query, keep_blank_values=True))
    if request.method != "POST":
        return query
    body = await request.body()
    if not body.strip():
        return query
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        if len(pairs) == 1 and pairs[0][1] in ("", "1"):  # CKAN's old clients post the JSON as the key
            return _json_object(pairs[0][0].encode())
        return _mixed(pairs)
    return _json_object(body)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as error:
        raise ckan.BadRequest(f"Bad request - JSON Error: {error}") from None
    if not isinstance(data, dict):
        raise ckan.BadRequest(
            f"Bad request - Bad request data: Request data JSON decoded to {type(data).__name__} "
            "but it needs to be a dictionary."
        )
    return data


ActionData = Annotated[dict[str, Any], Depends(action_data)]


def _respond(
    request: Request,
    name: str,
    platform: Platform,
    session: SessionDep,
    caller: MeteredCaller,
    data: dict[str, Any],
) -> JSONResponse:
    data.pop("callback", None)
    context = ckan.ActionContext(
        platform=platform,
        session=session,
        caller=caller,
        base_url=base_url(platform, request),
        index=portal_index(platform, session),
    )
    result = ckan.run_action(context, name, data)
    body = {"help": help_url(request, name), "success": True, "result": result}
    return JSONResponse(body, headers=HEADERS)


def _endpoint(name: str) -> Callable[..., JSONResponse]:
    def endpoint(
        request: Request, platform: PlatformDep, session: SessionDep, caller: MeteredCaller, data: ActionData
    ) -> JSONResponse:
        return _respond(request, name, platform, session, caller, data)

    endpoint.__name__ = f"ckan_{name}"
    return endpoint


def _openapi(name: str, method: str) -> dict[str, Any]:
    documented = PARAMETERS.get(name, [])
    if method == "POST":
        properties = {key: {"description": text} for key, text in documented}
        schema = {"type": "object", "properties": properties}
        return {"requestBody": {"required": False, "content": {"application/json": {"schema": schema}}}}
    parameters = [
        {"name": key, "in": "query", "required": False, "description": text, "schema": {"type": "string"}}
        for key, text in documented
    ]
    return {"parameters": parameters} if parameters else {}


for _name, _action in ckan.ACTIONS.items():
    _doc = (_action.__doc__ or "").strip()
    for _method in ("GET", "POST"):
        router.add_api_route(
            f"/api/3/action/{_name}",
            _endpoint(_name),
            methods=[_method],
            operation_id=f"ckan_{_name}_{_method.lower()}",
            summary=f"CKAN {_name}: {_doc.splitlines()[0] if _doc else ''}",
            description=_doc
            + "\n\nAnswers CKAN's envelope `{help, success, result}`; also at `/api/action/"
            + _name
            + "`.",
            response_class=JSONResponse,
            openapi_extra=_openapi(_name, _method),
        )


@router.api_route("/api/3/action/{name}", methods=["GET", "POST"], include_in_schema=False)
@router.api_route("/api/action/{name}", methods=["GET", "POST"], include_in_schema=False)
def any_action(
    name: str,
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    caller: MeteredCaller,
    data: ActionData,
) -> JSONResponse:
    """Every action at ``/api/action/{name}`` (the path ``ckanapi`` calls), and unknown names (400)."""
    return _respond(request, name, platform, session, caller, data)
