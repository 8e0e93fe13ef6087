"""Paginated JSON APIs against a real HTTP server on 127.0.0.1: every style, retries, errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gongshu.collect.connectors import SourceFailed, extract, httpapi, parse_source
from gongshu.errors import NotFound, SourceUnavailable
from tests.collect.connectors.support import Api, Run, json_body, rows

RECORDS = [{"id": str(i), "名称": f"地址{i}", "经度": 121.5 + i / 100} for i in range(7)]


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpapi, "BACKOFF_S", 0.01)


def expected(records: list[dict[str, object]] = RECORDS) -> list[tuple[str | None, ...]]:
    return [(str(r["id"]), str(r["名称"]), str(r["经度"])) for r in records]


def test_page_style(run: Run, api: Api) -> None:
    def pages(path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        page, size = int(query["pageNo"]), int(query["pageSize"])
        chunk = RECORDS[(page - 1) * size : page * size]
        return 200, {}, json_body({"code": 0, "data": {"items": chunk, "total": len(RECORDS)}})

    url = api.route("/v1/addresses", pages)
    spec = {
        "kind": "http",
        "url": url,
        "records_path": "data.items",
        "pagination": {"style": "page", "page_param": "pageNo", "size_param": "pageSize", "size": 3},
    }
    result = run(spec)
    assert result.columns == ["id", "名称", "经度"]
    assert rows(result) == expected()
    assert len(result.sources) == 4  # the last page is empty: the API's own cap is never trusted
    assert rows(result, meta=True)[0][-1] == f"{url}?pageNo=1&pageSize=3"
    with_total = run(spec | {"pagination": spec["pagination"] | {"total_path": "data.total"}})  # type: ignore[operator]
    assert len(with_total.sources) == 3 and rows(with_total) == expected()


def test_offset_style_advances_by_records_received(run: Run, api: Api) -> None:
    def capped(path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        offset, size = int(query["offset"]), min(int(query["limit"]), 2)  # the server caps pages at 2
        return 200, {}, json_body(RECORDS[offset : offset + size])

    url = api.route("/records", capped)
    paging = {"style": "offset", "page_param": "offset", "size_param": "limit", "size": 5}
    result = run({"kind": "http", "url": url, "pagination": paging})
    assert rows(result) == expected()


def test_cursor_style(run: Run, api: Api) -> None:
    def tokens(path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        start = int(query.get("cursor", "0"))
        chunk = RECORDS[start : start + 3]
        following = str(start + 3) if start + 3 < len(RECORDS) else None
        return 200, {}, json_body({"records": chunk, "meta": {"next": following}})

    url = api.route("/c", tokens)
    paging = {"style": "cursor", "page_param": "cursor", "next_path": "meta.next", "size": 3}
    result = run({"kind": "http", "url": url, "records_path": "records", "pagination": paging})
    assert rows(result) == expected()
    assert len(result.sources) == 3


def test_next_link_style_from_the_body_and_from_the_link_header(run: Run, api: Api) -> None:
    def body_links(path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        page = int(query.get("p", "0"))
        following = f"/n?p={page + 1}" if page < 2 else None
        return 200, {}, json_body({"data": RECORDS[page * 3 : page * 3 + 3], "next": following})

    url = api.route("/n", body_links)
    paging = {"style": "next_link", "next_path": "next"}
    assert rows(run({"kind": "http", "url": url, "records_path": "data", "pagination": paging})) == expected()

    def header_links(path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        page = int(query.get("p", "0"))
        headers = {"Link": f'<{api.base}/h?p={page + 1}>; rel="next"'} if page < 2 else {}
        return 200, headers, json_body(RECORDS[page * 3 : page * 3 + 3])

    result = run({"kind": "http", "url": api.route("/h", header_links), "pagination": {"style": "next_link"}})
    assert rows(result) == expected()


def test_values_as_text_and_non_objects_rejected(run: Run, api: Api) -> None:
    body = (
        b'{"items": [{"a": 1.50, "b": true, "c": null, "d": {"x": [1, 2.5]}, "e": 12345678901234567890}, 7]}'
    )
    url = api.route("/v", lambda path, query: (200, {}, body))
    result = run({"kind": "http", "url": url})
    assert rows(result) == [("1.50", "true", None, '{"x": [1, 2.5]}', "12345678901234567890")]
    [reject] = result.rejects
    assert (reject.source, reject.line, reject.reason_en, reject.raw) == (url, 2, "not a JSON object", "7")
    assert result.fingerprint == hashlib.sha256(body).hexdigest()


def test_a_server_error_is_retried(run: Run, api: Api) -> None:
    calls = []

    def flaky(path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        calls.append(path)
        if len(calls) == 1:
            return 500, {}, b'{"error": "boom"}'
        return 200, {}, json_body(RECORDS)

    result = run({"kind": "http", "url": api.route("/flaky", flaky)})
    assert rows(result) == expected() and len(calls) == 2


def test_answers_that_cannot_be_used_are_clear_errors(api: Api, tmp_path: Path) -> None:
    def fetch(url: str, **extra: object) -> None:
        extract(parse_source({"kind": "http", "url": url, **extra}), tmp_path / "out", batch_id="b")

    with pytest.raises(NotFound, match="404"):
        fetch(api.base + "/missing")
    with pytest.raises(SourceFailed, match="refused access"):
        fetch(api.route("/secret", lambda p, q: (403, {}, b"{}")))
    with pytest.raises(SourceUnavailable, match=r"after 5 attempts \(HTTP 503\)"):
        fetch(api.route("/down", lambda p, q: (503, {}, b"{}")))
    big = json_body([{"x": "y" * 5000}])
    with pytest.raises(SourceFailed, match="larger than max_page_bytes=2048"):
        fetch(api.route("/big", lambda p, q: (200, {}, big)), max_page_bytes=2048)
    with pytest.raises(SourceFailed, match="not JSON"):
        fetch(api.route("/html", lambda p, q: (200, {}, b"<html>")))
    endless = api.route(
        "/endless", lambda p, q: (200, {}, json_body({"next": "/endless", "data": [{"a": 1}]}))
    )
    with pytest.raises(SourceFailed, match="more than max_pages=3"):
        fetch(
            endless, records_path="data", max_pages=3, pagination={"style": "next_link", "next_path": "next"}
        )
    assert not list((tmp_path / "out").glob("*.parquet"))


def test_a_closed_port_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match="ConnectError"):
        extract(
            parse_source({"kind": "http", "url": "http://127.0.0.1:1/x", "timeout_s": 1}),
            tmp_path,
            batch_id="b",
        )


def test_an_api_repeating_its_last_page_is_stopped(run: Run, api: Api) -> None:
    def sticky(path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        page = min(int(query["page"]), 2)
        return 200, {}, json_body(RECORDS[(page - 1) * 4 : page * 4])

    result = run({"kind": "http", "url": api.route("/s", sticky), "pagination": {"style": "page", "size": 4}})
    assert rows(result) == expected()
    assert any("repeated its last page" in note for note in result.notes)


def test_headers_come_from_the_environment(run: Run, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GS_TEST_TOKEN", "tok-123")
    url = api.route("/g", lambda path, query: (200, {}, json_body(RECORDS[:1])))
    result = run({"kind": "http", "url": url, "headers": {"Authorization": "Bearer ${GS_TEST_TOKEN}"}})
    assert rows(result) == expected(RECORDS[:1])
    assert api.headers[-1]["Authorization"] == "Bearer tok-123"
