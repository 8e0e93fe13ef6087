"""Every page has a JSON twin: one handler builds the page's data once; it answers as HTML or JSON.

A handler is an ordinary FastAPI function (its parameters are dependencies, path, query and form
fields) that returns its data instead of a response::

    @page(router, "/orgs/{code}", "org.html")
    def organisation(code: str, session: SessionDep, actor: GovUser) -> dict[str, Any]:
        return {"organisation": organisation_public(get_organisation(session, code))}

registers ``GET /orgs/{code}`` (the template rendered with the data) and ``GET /orgs/{code}.json``
(the data as JSON). The home page's twin is ``/index.json``. A handler may also return a
:class:`Page` (another status or template, or validation problems to show beside the form fields),
a :class:`Done` (after a POST: HTML redirects to ``location``, JSON answers ``data``) or any
:class:`Response`. Both routes take the same dependencies, so a twin needs the same session.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_type_hints

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, RedirectResponse, Response

from gongshu.errors import GongshuError, ValidationFailed
from gongshu.web.render import render_page

JSON_SUFFIX = ".json"


@dataclass
class Page:
    """Data for a page with a non-default status, template or headers."""

    context: Mapping[str, Any]
    status: int = 200
    template: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    error: GongshuError | None = None  # the JSON twin answers this error instead of the data


@dataclass
class Done:
    """A completed POST: pages redirect (303) to ``location``, JSON twins answer ``data``."""

    location: str
    data: Any = None


Result = Mapping[str, Any] | Page | Done | Response
Handler = Callable[..., Result]
H = TypeVar("H", bound=Handler)


def invalid(
    error: ValidationFailed,
    context: Mapping[str, Any],
    form: Mapping[str, Any],
    *,
    template: str | None = None,
) -> Page:
    """Re-show a form with the problems of ``error`` beside its fields and the values sent (422)."""
    data = {**context, "problems": error.problems, "form": dict(form)}
    return Page(data, status=422, template=template, error=error)


def json_path(path: str) -> str:
    """The JSON twin's path of a page path (``/`` → ``/index.json``)."""
    return "/index.json" if path == "/" else path + JSON_SUFFIX


def page(
    router: APIRouter, path: str, template: str, *, methods: Sequence[str] = ("GET",)
) -> Callable[[H], H]:
    """Register ``handler`` as the page ``path`` (rendered with ``template``) and its JSON twin."""

    def decorate(handler: H) -> H:
        # The twin first: "{back}" of the page's path would otherwise swallow "000001.json".
        for as_json in (True, False):
            router.add_api_route(
                json_path(path) if as_json else path,
                _endpoint(handler, template, as_json=as_json),
                methods=list(methods),
                include_in_schema=False,
                response_model=None,
            )
        return handler

    return decorate


def respond(request: Request, template: str, result: Result, *, as_json: bool) -> Response:
    """Turn a handler's result into the HTML page or its JSON twin."""
    if isinstance(result, Response):
        return result
    if isinstance(result, Done):
        if as_json:
            return JSONResponse(jsonable_encoder(result.data))
        return RedirectResponse(result.location, status_code=303)
    shown = result if isinstance(result, Page) else Page(result)
    if as_json:
        if shown.error is not None:  # answered, not raised: the transaction (and its audit) commits
            return JSONResponse({"error": shown.error.to_dict()}, shown.error.http_status)
        return JSONResponse(jsonable_encoder(shown.context), shown.status, headers=dict(shown.headers))
    response = render_page(request, shown.template or template, shown.context, status=shown.status)
    response.headers.update(shown.headers)
    return response


def _endpoint(handler: Handler, template: str, *, as_json: bool) -> Callable[..., Response]:
    """A FastAPI endpoint with the handler's parameters (plus ``request``) that renders its result."""
    signature = inspect.signature(handler)
    hints = get_type_hints(handler, include_extras=True)  # resolve "SessionDep" & co. for FastAPI
    parameters = [
        p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()
    ]
    takes_request = "request" in signature.parameters
    if not takes_request:
        parameters.insert(0, inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request))
        parameters.sort(key=lambda p: p.kind)

    def endpoint(**kwargs: Any) -> Response:
        request: Request = kwargs["request"] if takes_request else kwargs.pop("request")
        return respond(request, template, handler(**kwargs), as_json=as_json)

    endpoint.__name__ = handler.__name__ + ("_json" if as_json else "")
    endpoint.__doc__ = handler.__doc__
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters, return_annotation=Response
    )
    return endpoint
