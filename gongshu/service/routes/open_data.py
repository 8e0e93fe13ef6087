"""Open data downloads: ``/open/datasets/{name}/download.{csv|json|xlsx}`` and CKAN's dump URL
``/datastore/dump/{resource_id}`` (``{name}-csv`` etc., ``?format=`` optional), at the site root.

Every call is metered (429 with Retry-After) and logged (:func:`~gongshu.open.usage.record_access`).
Unknown and non-open datasets are 404 alike; an open dataset the caller may not read is 403 (for a
有条件开放 dataset with a hint to apply). See :mod:`gongshu.open.downloads` for what is sent.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from gongshu.open import downloads
from gongshu.open.caller import Caller
from gongshu.open.datasets import open_dataset
from gongshu.open.usage import record_access
from gongshu.platform import Platform
from gongshu.service.deps import PlatformDep, SessionDep
from gongshu.service.open_deps import MeteredCaller

router = APIRouter(tags=["open: downloads"])


def _send(
    platform: Platform,
    request: Request,
    session: SessionDep,
    caller: Caller,
    name: str,
    fmt: str,
    channel: str,
) -> Response:
    dataset = open_dataset(session, name)
    download = downloads.prepare_download(platform, dataset, caller, fmt)
    record_access(
        session,
        caller,
        dataset,
        channel=channel,
        format=download.fmt,
        fields=download.fields,
        rows=download.rows,
    )
    headers = download.headers
    if download.file is not None:
        if request.headers.get("if-none-match") == headers.get("ETag"):
            return Response(status_code=304, headers={"ETag": headers["ETag"]})
        return FileResponse(download.file, media_type=download.media_type, headers=headers)
    assert download.parquet is not None
    if download.fmt == "csv":
        body = downloads.stream_csv(download.parquet, download.fields)
    elif download.fmt == "json":
        body = downloads.stream_json(download.parquet, download.fields)
    else:
        path = downloads.projected_xlsx(platform, download.parquet, download.fields)
        return FileResponse(
            path,
            media_type=download.media_type,
            headers=headers,
            background=BackgroundTask(path.unlink, missing_ok=True),
        )
    return StreamingResponse(body, media_type=download.media_type, headers=headers)


@router.get(
    "/open/datasets/{name}/download.{fmt}",
    summary="Download an open dataset's published data (CSV, JSON or XLSX)",
    response_class=Response,
)
def download(
    name: str, fmt: str, request: Request, platform: PlatformDep, session: SessionDep, caller: MeteredCaller
) -> Response:
    """The whole published file with its SHA-256 (ETag, Digest), or the caller's readable projection."""
    return _send(platform, request, session, caller, name, fmt, "download")


FormatQuery = Annotated[str | None, Query(alias="format", description="csv, json or xlsx")]


@router.get(
    "/datastore/dump/{resource_id}",
    summary="CKAN's datastore dump of a resource (CSV unless ?format= says otherwise)",
    response_class=Response,
)
def dump(
    resource_id: str,
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    caller: MeteredCaller,
    fmt: FormatQuery = None,
) -> Response:
    """The dataset of ``{name}-{csv|json|xlsx}``; ``?format=`` picks another format of the same data."""
    name, own = downloads.parse_resource(resource_id)
    chosen = downloads.check_dump_format(fmt, own)
    return _send(platform, request, session, caller, name, chosen, "dump")
