"""SQL sources (数据库表): SQLite, PostgreSQL, MySQL/MariaDB, through their own drivers.

Why not DuckDB's scanners (measured; ``docs/connectors.md``): they are fast, but the PostgreSQL
scanner reads an unconstrained ``numeric`` as DOUBLE (digits lost, ``NaN`` → 0.0), a blocked
scan ignores DuckDB's interrupt, MariaDB has no statement timeout through the MySQL scanner, and
a pushed-down text filter compares case-insensitively in MySQL but byte-wise in DuckDB. So:

- PostgreSQL: ``COPY (SELECT …) TO STDOUT (FORMAT csv)`` through psycopg into a scratch file, then
  DuckDB writes the raw Parquet — every value exactly as PostgreSQL renders it (UTC, ISO dates),
  about 500,000 rows/s; the fastest of all the ways measured.
- MySQL/MariaDB: pymysql's unbuffered cursor with its text protocol (values as the server
  renders them), ``read_timeout`` bounding every wait.
- SQLite: the standard library's driver, values ``CAST(… AS TEXT)`` by SQLite.

Incremental extraction asks the source itself for ``cursor > :last ORDER BY cursor`` with the
last value bound as a parameter, so values compare in the column's own type and collation (a
timestamp as a timestamp, text by the column's collation); ``cursor_max`` is the last extracted
row's cursor, i.e. the greatest in that same order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from gongshu.collect.connectors.envvars import parse_url
from gongshu.collect.connectors.output import ArrowRawWriter, RawOutput, unique_names
from gongshu.collect.connectors.results import Extracted, ExtractState
from gongshu.collect.connectors.specs import SqlSource
from gongshu.errors import NotFound, ValidationFailed

FETCH_ROWS = 20_000


@dataclass
class SqlPlan:
    """What to read: the source columns (and their raw names), the cursor, where to start."""

    label: str  # the table as named in messages and in ``_source``
    columns: list[str]  # source column names, in table order (or as listed in the spec)
    names: list[str]  # raw-zone names (the same unless blank or repeated case-insensitively)
    types: dict[str, str]  # raw-zone name → declared type
    cursor: str | None  # source column ordering the extraction (incremental, or full with a cursor)
    after: str | None  # incremental: only rows with cursor > after
    notes: list[str] = field(default_factory=list)

    @property
    def cursor_name(self) -> str | None:
        """The cursor's column name in the raw zone."""
        return None if self.cursor is None else self.names[self.columns.index(self.cursor)]


def plan(spec: SqlSource, declared: Sequence[tuple[str, str]], state: ExtractState, label: str) -> SqlPlan:
    """Check the spec's columns and cursor against the table's columns; every problem at once."""
    if not declared:
        raise NotFound(
            f"表不存在 / the table {label} does not exist (or this account cannot see it)",
            hint="check `table` and `schema` in the source spec, and the account's grants",
        )
    types = dict(declared)
    problems: dict[str, list[str]] = {}
    wanted = spec.columns if spec.columns is not None else [name for name, _ in declared]
    unknown = [c for c in wanted if c not in types]
    if unknown:
        problems["columns"] = [
            f"表 {label} 中没有列 / unknown column(s) in {label}: {', '.join(unknown)}; "
            f"the table has: {', '.join(types)}"
        ]
    if spec.cursor is not None and spec.cursor not in types:
        problems["cursor"] = [
            f"表 {label} 中没有游标列 / the cursor column {spec.cursor!r} is not in {label}"
        ]
    if problems:
        raise ValidationFailed(problems)
    names, notes = unique_names(wanted)
    after = state.cursor_value if spec.mode == "incremental" else None
    return SqlPlan(
        label=label,
        columns=list(wanted),
        names=names,
        types={name: types[column] for name, column in zip(names, wanted, strict=True)},
        cursor=spec.cursor,
        after=after,
        notes=notes,
    )


def extract_sql(spec: SqlSource, out: RawOutput, *, state: ExtractState) -> Extracted:
    """Read the table of ``spec`` into one raw file (see the module docstring)."""
    from gongshu.collect.connectors import mysql, postgres, sqlite

    url = parse_url(spec.url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return sqlite.extract(spec, url, out, state=state)
    if backend in ("postgresql", "postgres"):
        return postgres.extract(spec, url, out, state=state)
    return mysql.extract(spec, url, out, state=state)


def finish(plan_: SqlPlan, path: Path, rows: int, digest: str) -> Extracted:
    """The :class:`Extracted` of one table read into ``path``."""
    notes = list(plan_.notes)
    if plan_.after is not None:
        notes.append(f"增量：游标 > {plan_.after} / incremental: {plan_.cursor} > {plan_.after}")
    if rows == 0:
        notes.append("没有记录 / no rows")
    cursor_max = None
    if plan_.cursor is not None:
        # nothing new (or only NULL cursors): the committed value stays the high-water mark
        cursor_max = (last_cursor(path, plan_.cursor_name) if rows else None) or plan_.after
    return Extracted(
        files=[path],
        columns=plan_.names,
        source_types=plan_.types,
        rows_read=rows,
        rows_written=rows,
        rejects=[],
        fingerprint=digest,
        cursor_max=cursor_max,
        sources=[plan_.label],
        notes=notes,
    )


def last_cursor(path: Path, name: str | None) -> str | None:
    """The cursor of the last row written (rows are ordered by the cursor, NULLs first)."""
    if name is None:
        return None
    parquet = pq.ParquetFile(path)
    for group in reversed(range(parquet.num_row_groups)):
        column = parquet.read_row_group(group, columns=[name]).column(0)
        if len(column):
            value = column[len(column) - 1].as_py()
            return None if value is None else str(value)
    return None


def fingerprint_start(names: Sequence[str]) -> Any:
    """A SHA-256 over the data, started with the column names (so a renamed column changes it)."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(names).encode("utf-8") + b"\x1e")
    return digest


def write_batches(
    batches: Iterator[Sequence[Sequence[Any]]],
    writer: ArrowRawWriter,
    digest: Any,
    convert: Callable[[Any], str | None],
) -> None:
    """Write row batches (tuples of driver values) column-wise, hashing the text buffers.

    Parquet encoding runs in a second thread (it releases the GIL) while the next batch is fetched.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[None] | None = None
        for rows in batches:
            if not rows:
                continue
            arrays = [text_array(col, convert) for col in zip(*rows, strict=True)]
            for array in arrays:
                for buffer in array.buffers():
                    if buffer is not None:
                        digest.update(buffer)
            if pending is not None:
                pending.result()
            pending = pool.submit(writer.write_columns, arrays, len(rows))
        if pending is not None:
            pending.result()


def text_array(values: Sequence[Any], convert: Callable[[Any], str | None]) -> pa.Array:
    """A string array; values that are not already ``str`` or ``None`` go through ``convert``."""
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([v if v is None or isinstance(v, str) else convert(v) for v in values], pa.string())


def hex_bytes(value: Any) -> str | None:
    """Binary values as ``\\x`` + lowercase hex (PostgreSQL's ``bytea`` text form); others as str."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    return str(value)
