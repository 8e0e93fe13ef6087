"""The open catalogue as DCAT-AP 3: ``/catalog.{ttl|jsonld|xml}?page=N`` and
``/open/datasets/{name}/dcat.{ttl|jsonld|xml}`` (at the site root, not under ``/api/v1``).

Metadata of every open dataset is public (无条件开放 and 有条件开放 alike); anything else is 404.
URIs are absolute: ``settings.public_url`` or else the address the request came to.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from gongshu.open import dcat
from gongshu.platform import Platform
from gongshu.service.deps import PlatformDep, SessionDep
from gongshu.service.open_deps import MeteredCaller

router = APIRouter(tags=["open: DCAT-AP"])


def base_url(platform: Platform, request: Request) -> str:
    """The portal's public address without a trailing slash."""
    configured = platform.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def rdf_response(body: bytes, fmt: str) -> Response:
    media = dcat.FORMATS[fmt][1]
    return Response(
        body,
        media_type=f"{media}; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


def catalog_page(
    fmt: str,
    request: Request,
    platform: Platform,
    session: Session,
    page: int,
    per_page: int,
) -> Response:
    graph, _ = dcat.catalogue_graph(
        session, base_url(platform, request), page=page, per_page=per_page, fmt=fmt
    )
    return rdf_response(dcat.serialize(graph, fmt), fmt)


def dataset_document(fmt: str, name: str, request: Request, platform: Platform, session: Session) -> Response:
    graph = dcat.dataset_graph(session, base_url(platform, request), name)
    return rdf_response(dcat.serialize(graph, fmt), fmt)


Page = Annotated[int, Query(description="page number, from 1")]
PerPage = Annotated[int, Query(description="datasets a page", ge=1, le=dcat.MAX_PER_PAGE)]


# One route per serialisation (not ``/catalog.{fmt}``): a pattern would also catch the government
# catalogue's ``/catalog.json`` page twin, which is registered after these routes.
@router.get("/catalog.ttl", summary="The DCAT-AP 3 catalogue as Turtle, paged", response_class=Response)
def catalog_ttl(
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    caller: MeteredCaller,
    page: Page = 1,
    per_page: PerPage = dcat.DATASETS_PER_PAGE,
) -> Response:
    """Page ``page`` of the catalogue: the ``dcat:Catalog`` (publisher, API service, Hydra
    PartialCollectionView) and ``per_page`` datasets in 资源代码 order. A page after the last is 404."""
    return catalog_page("ttl", request, platform, session, page, per_page)


@router.get("/catalog.jsonld", summary="The DCAT-AP 3 catalogue as JSON-LD, paged", response_class=Response)
def catalog_jsonld(
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    caller: MeteredCaller,
    page: Page = 1,
    per_page: PerPage = dcat.DATASETS_PER_PAGE,
) -> Response:
    """The catalogue page as JSON-LD (see ``/catalog.ttl``)."""
    return catalog_page("jsonld", request, platform, session, page, per_page)


@router.get("/catalog.xml", summary="The DCAT-AP 3 catalogue as RDF/XML, paged", response_class=Response)
def catalog_xml(
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    caller: MeteredCaller,
    page: Page = 1,
    per_page: PerPage = dcat.DATASETS_PER_PAGE,
) -> Response:
    """The catalogue page as RDF/XML (see ``/catalog.ttl``)."""
    return catalog_page("xml", request, platform, session, page, per_page)


@router.get(
    "/open/datasets/{name}/dcat.ttl",
    summary="One open dataset as DCAT-AP 3 (Turtle)",
    response_class=Response,
)
def dataset_ttl(
    name: str, request: Request, platform: PlatformDep, session: SessionDep, caller: MeteredCaller
) -> Response:
    """The ``dcat:Dataset`` with its distributions, publisher and the API serving it (404 unless open)."""
    return dataset_document("ttl", name, request, platform, session)


@router.get(
    "/open/datasets/{name}/dcat.jsonld",
    summary="One open dataset as DCAT-AP 3 (JSON-LD)",
    response_class=Response,
)
def dataset_jsonld(
    name: str, request: Request, platform: PlatformDep, session: SessionDep, caller: MeteredCaller
) -> Response:
    """The dataset's DCAT document as JSON-LD."""
    return dataset_document("jsonld", name, request, platform, session)


@router.get(
    "/open/datasets/{name}/dcat.xml",
    summary="One open dataset as DCAT-AP 3 (RDF/XML)",
    response_class=Response,
)
def dataset_xml(
    name: str, request: Request, platform: PlatformDep, session: SessionDep, caller: MeteredCaller
) -> Response:
    """The dataset's DCAT document as RDF/XML."""
    return dataset_document("xml", name, request, platform, session)
