"""SQLite tables, read through the standard library's driver (read-only).

Values are rendered by SQLite itself (``CAST(x AS TEXT)``: ``2.0``, ``1.0e+20``, dates as stored);
blobs as ``\\x`` + hex in columns declared BLOB or untyped. Text that is not valid UTF-8 (legacy GBK
databases, or a blob in a text column) is decoded as GB18030 where possible, noted, and never fails
the batch. Comparisons of the incremental cursor follow
SQLite's own type affinity: an INTEGER column compares numerically, a TEXT column as text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL
from sqlglot import exp

from gongshu.collect.connectors import sql
from gongshu.collect.connectors.output import ArrowRawWriter, RawOutput
from gongshu.collect.connectors.results import Extracted, ExtractState, decode_best_effort
from gongshu.collect.connectors.specs import SqlSource
from gongshu.errors import SourceUnavailable, ValidationFailed


def ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("sqlite")


def extract(spec: SqlSource, url: URL, out: RawOutput, *, state: ExtractState) -> Extracted:
    path = _database_path(url)
    schema = spec.schema_ or "main"
    label = spec.table if spec.schema_ is None else f"{spec.schema_}.{spec.table}"
    tolerant = False
    while True:
        conn = _connect(path, spec.timeout_s, tolerant=tolerant)
        try:
            declared = conn.execute(
                "SELECT name, type FROM pragma_table_info(?, ?) ORDER BY cid", (spec.table, schema)
            ).fetchall()
            plan = sql.plan(spec, [(n, t.strip() or "ANY") for n, t in declared], state, label)
            target = out.files[-1] if tolerant else out.next_file()
            rows, digest = _read(conn, spec, schema, plan, target, out.batch_id)
        except sqlite3.OperationalError as error:
            if "decode" in str(error) and not tolerant:
                tolerant = True  # legacy text in another encoding: read again, decoding line by line
                continue
            raise SourceUnavailable(
                f"读取 SQLite 数据库失败 / reading the SQLite database {path.name} failed: {error}"
            ) from None
        finally:
            conn.close()
        extracted = sql.finish(plan, target, rows, digest)
        if tolerant:
            extracted.notes.append(
                "部分文本不是 UTF-8，已按 GB18030 解码 / some text was not UTF-8; decoded as GB18030"
            )
        return extracted


def _database_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise ValidationFailed(
            {"url": ["SQLite 地址须指明数据库文件 / a SQLite URL must name the database file"]}
        )
    path = Path(url.database)
    if not path.is_file():
        raise SourceUnavailable(
            f"SQLite 数据库文件不存在 / the SQLite database {path} does not exist",
            hint="check the path in `url` (sqlite:///relative or sqlite:////absolute) and that it is mounted",
        )
    return path


def _connect(path: Path, timeout: float, *, tolerant: bool) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
    except sqlite3.Error as error:
        raise SourceUnavailable(
            f"无法打开 SQLite 数据库 / cannot open the SQLite database {path.name}: {error}"
        ) from None
    if tolerant:
        conn.text_factory = decode_best_effort
    return conn


def _read(
    conn: sqlite3.Connection, spec: SqlSource, schema: str, plan: sql.SqlPlan, target: Path, batch_id: str
) -> tuple[int, str]:
    columns = ", ".join(_text(c, plan.types[n]) for c, n in zip(plan.columns, plan.names, strict=True))
    query = f"SELECT {columns} FROM {ident(schema)}.{ident(spec.table)}"  # noqa: S608 - identifiers quoted
    params: tuple[str, ...] = ()
    if plan.after is not None and plan.cursor is not None:
        query += f" WHERE {ident(plan.cursor)} > ?"
        params = (plan.after,)
    if plan.cursor is not None:
        query += f" ORDER BY {ident(plan.cursor)}"  # SQLite puts NULLs first
    writer = ArrowRawWriter(target, plan.names, batch_id=batch_id, source=plan.label)
    digest = sql.fingerprint_start(plan.names)
    try:
        cursor = conn.execute(query, params)
        sql.write_batches(_batches(cursor), writer, digest, sql.hex_bytes)
    finally:
        writer.close()
    return writer.rows, digest.hexdigest()


def _text(column: str, declared: str) -> str:
    """The column as SQLite's text; binary values as ``\\x`` + hex where the column may hold them.

    Checking every value's type costs a third of the read, so only columns declared BLOB or
    without a type (SQLite's BLOB affinity) are checked.
    """
    name = ident(column)
    if "BLOB" in declared.upper() or declared == "ANY":
        return (
            f"CASE typeof({name}) WHEN 'blob' THEN '\\x' || lower(hex({name})) ELSE CAST({name} AS TEXT) END"
        )
    return f"CAST({name} AS TEXT)"


def _batches(cursor: sqlite3.Cursor) -> Iterator[Sequence[Any]]:
    while rows := cursor.fetchmany(sql.FETCH_ROWS):
        yield rows
