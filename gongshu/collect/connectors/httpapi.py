"""Paginated JSON APIs (接口) through httpx.

Pagination styles (``pagination.style``):

- ``page``: ``?page=1&size=1000``, ``?page=2…``; ``offset``: ``?offset=0&size=1000``, then the
  offset advances by the records received. Both stop at an empty page, when ``total_path`` says
  all records were received, or when a page repeats the previous one byte for byte (an API that
  answers every page past the end with the last page).
- ``cursor``: the next request carries ``page_param=<value at next_path>``; stops when it is
  missing or empty. ``next_link``: the next URL is the value at ``next_path`` (relative URLs are
  resolved), or the ``Link: <…>; rel="next"`` header; stops when there is none.
- ``none``: one request.

Answers: 5xx, 429, timeouts and connection failures are retried :data:`RETRIES` times with
exponential backoff (``Retry-After`` honoured, at most :data:`RETRY_AFTER_MAX` s), then
``SourceUnavailable``; 404 is ``NotFound``; any other 4xx is ``SourceFailed`` at once (retrying
cannot help); a page over ``max_page_bytes`` is refused before it is read into memory.

Values: strings as sent; numbers as their JSON text (``1.50`` stays ``1.50``); ``true``/``false``;
nested objects and arrays as JSON text; ``null`` as NULL. An item of the records array that is not
an object is a :class:`Reject` (``line``: its position in the page). ``fingerprint`` is the SHA-256
of the page bodies in order; ``_source`` is each page's URL (keep secrets in headers, not URLs).
"""

from __future__ import annotations

import decimal
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pyarrow as pa

from gongshu.collect.connectors.envvars import resolve
from gongshu.collect.connectors.errors import SourceFailed
from gongshu.collect.connectors.output import ArrowRawWriter, RawOutput
from gongshu.collect.connectors.results import Extracted, Reject
from gongshu.collect.connectors.specs import HttpSource
from gongshu.errors import NotFound, SourceUnavailable

RETRIES = 4
BACKOFF_S = 0.5
RETRY_AFTER_MAX = 30.0


@dataclass
class Page:
    url: str
    body: bytes
    links: dict[str, dict[str, str]]


@dataclass
class Collected:
    """Pages read so far: their records column-wise, the columns in order of first appearance."""

    columns: list[str] = field(default_factory=list)
    pages: list[tuple[str, dict[str, list[str | None]], int]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def extract_http(spec: HttpSource, out: RawOutput, *, batch_id: str) -> Extracted:
    """Read every page of the API into one raw file (see the module docstring)."""
    headers = {name: resolve(value, field=f"headers.{name}") for name, value in spec.headers.items()}
    digest = hashlib.sha256()
    collected = Collected()
    with httpx.Client(timeout=spec.timeout_s, headers=headers, follow_redirects=True) as client:
        for page in _pages(client, spec, collected):
            digest.update(page.body)
    target = out.next_file()
    writer = ArrowRawWriter(target, collected.columns, batch_id=batch_id, source=spec.url)
    try:
        for url, values, rows in collected.pages:
            arrays = [values.get(c) or pa.nulls(rows, pa.string()) for c in collected.columns]
            writer.write_columns(arrays, rows, source=url)
    finally:
        writer.close()
    return Extracted(
        files=[target],
        columns=collected.columns,
        source_types=dict.fromkeys(collected.columns, "VARCHAR"),
        rows_read=writer.rows + len(collected.rejects),
        rows_written=writer.rows,
        rejects=collected.rejects,
        fingerprint=digest.hexdigest(),
        cursor_max=None,
        sources=collected.urls,
        notes=[*collected.notes, f"读取 {len(collected.urls)} 页 / {len(collected.urls)} page(s) read"],
    )


def _pages(client: httpx.Client, spec: HttpSource, collected: Collected) -> Iterator[Page]:
    """Fetch pages until the pagination style says there are no more; record each page's rows."""
    paging = spec.pagination
    url, params = spec.url, _first_params(spec)
    previous: bytes | None = None
    received = 0
    while True:
        if len(collected.urls) >= spec.max_pages:
            raise SourceFailed(
                f"超过 {spec.max_pages} 页 / more than max_pages={spec.max_pages} pages at "
                f"{_public(spec.url)}",
                hint="raise `max_pages`, or check that the pagination settings make the API stop",
            )
        page = _get(client, url, params, spec)
        if paging.style in ("page", "offset") and page.body == previous:
            collected.notes.append("末页重复，已停止 / the API repeated its last page; stopped there")
            return
        document = _parse(page, spec, len(collected.urls) + 1)
        records = _records(document, spec, first=not collected.urls)
        collected.urls.append(page.url)
        _add(collected, page.url, records)
        received += len(records)
        yield page
        previous = page.body
        following = _next(paging.style, spec, document, page, records, received, params)
        if following is None:
            return
        url, params = following


def _first_params(spec: HttpSource) -> dict[str, str]:
    paging = spec.pagination
    if paging.style == "page":
        return {
            paging.page_param: str(1 if paging.start is None else paging.start),
            paging.size_param: str(paging.size),
        }
    if paging.style == "offset":
        return {paging.page_param: str(paging.start or 0), paging.size_param: str(paging.size)}
    if paging.style == "cursor":
        return {paging.size_param: str(paging.size)}
    return {}


def _next(
    style: str,
    spec: HttpSource,
    document: Any,
    page: Page,
    records: list[Any],
    received: int,
    params: dict[str, str],
) -> tuple[str, dict[str, str]] | None:
    paging = spec.pagination
    if style == "none":
        return None
    if style in ("page", "offset"):
        total = _at(document, paging.total_path) if paging.total_path else None
        if not records or (total is not None and received >= int(str(total))):
            return None
        step = 1 if style == "page" else len(records)
        return spec.url, {**params, paging.page_param: str(int(params[paging.page_param]) + step)}
    if style == "cursor":
        token = _at(document, paging.next_path)
        if token in (None, "") or not records:
            return None
        return spec.url, {**params, paging.page_param: _text(token) or ""}
    link = _at(document, paging.next_path) if paging.next_path else page.links.get("next", {}).get("url")
    if link in (None, ""):
        return None
    return urljoin(page.url, str(link)), {}


def _get(client: httpx.Client, url: str, params: dict[str, str], spec: HttpSource) -> Page:
    """One page, retried on 5xx / 429 / timeouts; 4xx and oversized pages fail at once."""
    reason = ""
    for attempt in range(RETRIES + 1):
        wait: float | None = None
        try:
            with client.stream("GET", url, params=params or None) as response:
                status = response.status_code
                if status < 400:
                    return Page(
                        str(response.url),
                        _read_limited(response, spec, url),
                        {str(k): v for k, v in response.links.items()},
                    )
                if status < 500 and status != 429:
                    raise _client_error(status, url)
                reason, wait = f"HTTP {status}", _retry_after(response)
        except httpx.TimeoutException:
            reason = "timeout"
        except httpx.TransportError as error:
            reason = type(error).__name__
        except httpx.HTTPError as error:  # redirect loops, undecodable bodies: retrying cannot help
            raise SourceFailed(
                f"接口应答无法读取 / the answer of {_public(url)} cannot be read ({type(error).__name__})"
            ) from None
        if attempt < RETRIES:
            time.sleep(wait if wait is not None else BACKOFF_S * 2**attempt)
    raise SourceUnavailable(
        f"接口无响应 / the API did not answer properly after {RETRIES + 1} attempts ({reason}) at "
        f"{_public(url)}",
        hint="the service is down or overloaded; retry later",
    )


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (capped at :data:`RETRY_AFTER_MAX`), if the server sent one."""
    value = response.headers.get("retry-after", "").strip()
    return min(float(value), RETRY_AFTER_MAX) if value.isdigit() else None


def _client_error(status: int, url: str) -> Exception:
    if status == 404:
        return NotFound(
            f"接口地址不存在 / the API answered 404 Not Found at {_public(url)}", hint="check `url`"
        )
    if status in (401, 403):
        return SourceFailed(
            f"接口拒绝访问 / the API refused access (HTTP {status}) at {_public(url)}",
            hint="check the credentials in `headers` (e.g. Authorization: Bearer ${TOKEN})",
        )
    return SourceFailed(f"接口拒绝请求 / the API refused the request (HTTP {status}) at {_public(url)}")


def _read_limited(response: httpx.Response, spec: HttpSource, url: str) -> bytes:
    limit = spec.max_page_bytes
    declared = response.headers.get("content-length", "")
    too_big = SourceFailed(
        f"单页超过 {limit} 字节 / a page of {_public(url)} is larger than max_page_bytes={limit}",
        hint="ask for smaller pages (pagination.size) or raise `max_page_bytes`",
    )
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(page: Page, spec: HttpSource, number: int) -> Any:
    try:
        return json.loads(page.body, parse_float=decimal.Decimal)
    except ValueError:
        raise SourceFailed(
            f"第 {number} 页不是 JSON / page {number} of {_public(spec.url)} is not JSON"
        ) from None


def _records(document: Any, spec: HttpSource, *, first: bool) -> list[Any]:
    if spec.records_path:
        found = _at(document, spec.records_path, missing=...)
        if found is ... and first:
            raise SourceFailed(
                f"首页没有 {spec.records_path} / the first page has no {spec.records_path!r}",
                hint="check `records_path` against the API's answer",
            )
        found = None if found is ... else found
    elif isinstance(document, list):
        found = document
    else:
        lists = [k for k, v in document.items() if isinstance(v, list)] if isinstance(document, dict) else []
        if len(lists) != 1:
            raise SourceFailed(
                f"无法确定记录数组 / cannot tell which array holds the records "
                f"(arrays: {', '.join(lists) or 'none'})",
                hint="set `records_path`, e.g. records_path: data.items",
            )
        found = document[lists[0]]
    if found is None:
        return []
    if not isinstance(found, list):
        raise SourceFailed(f"{spec.records_path or 'records'} 不是数组 / the records are not an array")
    return found


def _at(document: Any, path: str | None, *, missing: Any = None) -> Any:
    value = document
    for part in (path or "").split("."):
        if not isinstance(value, dict) or part not in value:
            return missing
        value = value[part]
    return value


def _add(collected: Collected, url: str, records: list[Any]) -> None:
    values: dict[str, list[str | None]] = {}
    rows = 0
    for position, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raw = json.dumps(_plain(record), ensure_ascii=False)
            collected.rejects.append(Reject.make(url, position, "不是 JSON 对象", "not a JSON object", raw))
            continue
        for key, value in record.items():
            column = values.get(key)
            if column is None:
                if key not in collected.columns:
                    collected.columns.append(key)
                column = values[key] = [None] * rows
            column.append(_text(value))
        rows += 1
        for column in values.values():
            if len(column) < rows:
                column.append(None)
    collected.pages.append((url, values, rows))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | decimal.Decimal):
        return str(value)
    return json.dumps(_plain(value), ensure_ascii=False)


def _plain(value: Any) -> Any:
    """Decimals (how numbers were parsed) back to numbers JSON can write."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _public(url: str) -> str:
    """A URL for messages: without its query string (which may carry a key)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
