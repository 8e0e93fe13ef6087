"""Connectors (采集连接器): read a department's source into the batch's raw zone, as collected.

One function, :func:`extract`, for every kind of source (``docs/connectors.md``):

- ``sql``: SQLite, PostgreSQL, MySQL/MariaDB tables and views, full or incremental by a cursor;
- ``file``: a drop zone of CSV (UTF-8, UTF-8 with BOM, GB18030; detected), XLSX, JSON, NDJSON and
  Parquet files;
- ``http``: paginated JSON APIs.

It writes Parquet files whose columns are the source's own (every one VARCHAR, values as
collected) plus ``_batch_id`` and ``_source``, and returns an :class:`Extracted` that balances:
rows in the files + rejects == rows read.

Example::

    >>> from pathlib import Path
    >>> spec = parse_source({"kind": "file", "path": "city", "pattern": "mz_marriage.csv"})
    >>> result = extract(spec, Path("work/raw"), batch_id="b1", state=ExtractState())  # doctest: +SKIP
    >>> result.rows_read == result.rows_written + len(result.rejects)                  # doctest: +SKIP
    True
"""

from __future__ import annotations

from pathlib import Path

from gongshu.collect.connectors.errors import SourceFailed
from gongshu.collect.connectors.files import extract_files
from gongshu.collect.connectors.httpapi import extract_http
from gongshu.collect.connectors.output import RawOutput
from gongshu.collect.connectors.results import Extracted, ExtractState, Reject
from gongshu.collect.connectors.specs import (
    FileSource,
    HttpSource,
    Pagination,
    SourceSpec,
    SqlSource,
    parse_source,
)
from gongshu.collect.connectors.sql import extract_sql

__all__ = [
    "ExtractState",
    "Extracted",
    "FileSource",
    "HttpSource",
    "Pagination",
    "Reject",
    "SourceFailed",
    "SourceSpec",
    "SqlSource",
    "extract",
    "parse_source",
]


def extract(
    spec: SqlSource | FileSource | HttpSource,
    out_dir: Path,
    *,
    batch_id: str,
    state: ExtractState | None = None,
) -> Extracted:
    """Read the source of ``spec`` into raw Parquet files in ``out_dir`` (created if missing).

    ``state`` carries the committed cursor of the last successful batch (incremental SQL). On any
    error the files written so far are removed and a :class:`gongshu.errors.GongshuError` is
    raised: ``SourceUnavailable`` (transient: retry later), ``ValidationFailed`` / ``NotFound``
    (the spec does not fit the source) or :class:`SourceFailed` (the source's answer is unusable).
    """
    out = RawOutput(Path(out_dir), batch_id)
    failed = True
    try:
        if isinstance(spec, SqlSource):
            result = extract_sql(spec, out, state=state or ExtractState())
        elif isinstance(spec, FileSource):
            result = extract_files(spec, out, batch_id=batch_id)
        else:
            result = extract_http(spec, out, batch_id=batch_id)
        failed = False
        return result
    finally:
        out.close(failed=failed)
