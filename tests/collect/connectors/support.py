"""Helpers for the connector tests: running an extraction, reading the raw rows, a local HTTP API."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyarrow.parquet as pq

from gongshu.collect.connectors import Extracted, ExtractState, extract, parse_source

#: (status, headers, body) for one request: the path and the query (first value per key)
Handler = Callable[[str, dict[str, str]], tuple[int, dict[str, str], bytes]]


class Run:
    """``run(spec_dict)`` extracts into a fresh folder under ``tmp_path`` and checks the balance."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.count = 0

    def __call__(self, spec: dict[str, Any], *, cursor: str | None = None) -> Extracted:
        self.count += 1
        out = self.tmp_path / f"raw{self.count}"
        result = extract(parse_source(spec), out, batch_id=f"b{self.count}", state=ExtractState(cursor))
        written = sum(pq.ParquetFile(f).metadata.num_rows for f in result.files)
        assert written == result.rows_written
        assert result.rows_read == written + len(result.rejects)
        assert not (out / ".scratch").exists()
        return result


def rows(result: Extracted, *, meta: bool = False) -> list[tuple[str | None, ...]]:
    """The raw rows in order, as tuples of the source columns (and ``_batch_id``, ``_source``)."""
    found: list[tuple[str | None, ...]] = []
    names = [*result.columns, "_batch_id", "_source"] if meta else result.columns
    for path in result.files:
        table = pq.read_table(path)
        assert table.column_names == [*result.columns, "_batch_id", "_source"]
        found.extend(zip(*(table.column(n).to_pylist() for n in names), strict=True))
    return found


class Api:
    """A small JSON API on 127.0.0.1 whose answers a test sets with :meth:`route`."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[str] = []
        self.headers: list[dict[str, str]] = []
        api = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                api.requests.append(self.path)
                api.headers.append(dict(self.headers.items()))
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                handler = api.routes.get(parts.path)
                status, headers, body = handler(parts.path, query) if handler else (404, {}, b"{}")
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.base + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def json_body(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")
