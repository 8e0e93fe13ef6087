"""MySQL / MariaDB tables through pymysql's unbuffered cursor and text protocol.

Values arrive as the server renders them (session ``time_zone = '+00:00'``): ``2020-01-02``,
``2020-01-02 03:04:05.123456``, ``12.30``, ``1e20``, ``0000-00-00`` (kept, not an error); binary
and BIT columns as ``\\x`` + hex. ``connect_timeout`` and ``read_timeout`` (every wait for the
server, also between rows) are ``timeout_s``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pymysql  # type: ignore[import-untyped]
import pymysql.converters  # type: ignore[import-untyped]
import pymysql.cursors  # type: ignore[import-untyped]
from sqlalchemy.engine import URL
from sqlglot import exp

from gongshu.collect.connectors import sql
from gongshu.collect.connectors.errors import SourceFailed
from gongshu.collect.connectors.output import ArrowRawWriter, RawOutput
from gongshu.collect.connectors.results import Extracted, ExtractState
from gongshu.collect.connectors.specs import SqlSource
from gongshu.errors import NotFound, SourceUnavailable, ValidationFailed

#: encoders only: with no decoders every value stays the text the server sent
_ENCODERS = {k: v for k, v in pymysql.converters.conversions.items() if not isinstance(k, int)}
_SPATIAL = {
    "geometry",
    "point",
    "linestring",
    "polygon",
    "multipoint",
    "multilinestring",
    "multipolygon",
    "geometrycollection",
}
_COLUMNS = (
    "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
    "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION"
)


def ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("mysql")


def extract(spec: SqlSource, url: URL, out: RawOutput, *, state: ExtractState) -> Extracted:
    label = spec.table if spec.schema_ is None else f"{spec.schema_}.{spec.table}"
    conn = _connect(spec, url)
    try:
        with conn.cursor(pymysql.cursors.Cursor) as cur:
            cur.execute("SET time_zone = '+00:00'")
            cur.execute(_COLUMNS, (spec.schema_, spec.table))
            declared = [(str(n), str(t)) for n, t in cur.fetchall()]
        plan = sql.plan(spec, declared, state, label)
        target = out.next_file()
        rows, digest = _read(conn, spec, plan, target, out.batch_id)
    except pymysql.err.OperationalError as error:
        code = error.args[0] if error.args else 0
        if code == 2013 or "timed out" in str(error):
            _kill(spec, url, conn.thread_id())
            raise SourceUnavailable(
                f"MySQL 超时 / MySQL did not answer within {spec.timeout_s:g} s ({spec.public_url}, {label})",
                hint="the source is slow or blocked; raise `timeout_s` or retry later",
            ) from None
        raise _unavailable(spec, error) from None
    except pymysql.err.DataError:
        raise ValidationFailed(
            {
                "cursor": [
                    f"已提交的游标值不是列 {spec.cursor} 的合法值 / the committed cursor value does not fit "
                    f"column {spec.cursor}"
                ]
            }
        ) from None
    except pymysql.err.MySQLError as error:
        raise SourceFailed(
            f"MySQL 查询失败 / the MySQL query failed ({spec.public_url}): {error.args[-1]}"
        ) from None
    finally:
        conn.close()
    return sql.finish(plan, target, rows, digest)


def _connect(spec: SqlSource, url: URL) -> pymysql.connections.Connection[Any]:
    try:
        return pymysql.connect(
            host=url.host or "localhost",
            port=url.port or 3306,
            user=url.username,
            password=url.password or "",
            database=url.database,
            charset="utf8mb4",
            connect_timeout=spec.timeout_s,
            read_timeout=spec.timeout_s,
            write_timeout=spec.timeout_s,
            conv=_ENCODERS,
            autocommit=True,
        )
    except pymysql.err.OperationalError as error:
        code = error.args[0] if error.args else 0
        if code == 1049:
            raise NotFound(f"数据库不存在 / the database in {spec.public_url} does not exist") from None
        raise _unavailable(spec, error) from None


def _kill(spec: SqlSource, url: URL, thread_id: int) -> None:
    """Stop the abandoned query on the server (best effort), so a timeout leaves no load behind."""
    try:
        killer = _connect(spec, url)
    except Exception:  # the server is gone: nothing to stop
        return
    try:
        with killer.cursor(pymysql.cursors.Cursor) as cur:
            cur.execute("KILL QUERY %s", (int(thread_id),))
    except pymysql.err.MySQLError:
        pass
    finally:
        killer.close()


def _unavailable(spec: SqlSource, error: pymysql.err.MySQLError) -> SourceUnavailable:
    detail = str(error.args[-1]) if error.args else type(error).__name__
    return SourceUnavailable(
        f"无法连接 MySQL / cannot connect to MySQL at {spec.public_url}: {detail}",
        hint="check that the server is up, the address and port, and the account and its password",
    )


def _read(
    conn: pymysql.connections.Connection[Any], spec: SqlSource, plan: sql.SqlPlan, target: Path, batch_id: str
) -> tuple[int, str]:
    table = ident(spec.table) if spec.schema_ is None else f"{ident(spec.schema_)}.{ident(spec.table)}"
    selected = ", ".join(_select(c, plan.types[n]) for c, n in zip(plan.columns, plan.names, strict=True))
    query = f"SELECT {selected} FROM {table}"  # noqa: S608 - identifiers quoted
    params: tuple[str, ...] | None = None
    if plan.after is not None and plan.cursor is not None:
        query += f" WHERE {ident(plan.cursor)} > %s"
        params = (plan.after,)
    if plan.cursor is not None:
        query += f" ORDER BY {ident(plan.cursor)}"  # MySQL puts NULLs first
    writer = ArrowRawWriter(target, plan.names, batch_id=batch_id, source=plan.label)
    digest = sql.fingerprint_start(plan.names)
    try:
        with conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(query, params)
            sql.write_batches(_batches(cur), writer, digest, sql.hex_bytes)
    finally:
        writer.close()
    return writer.rows, digest.hexdigest()


def _select(column: str, declared: str) -> str:
    """The column as text the driver can decode: BIT as a number, spatial values as WKT."""
    kind = declared.split("(", 1)[0].strip().lower()
    if kind == "bit":
        return f"CAST({ident(column)} AS UNSIGNED)"
    if kind in _SPATIAL:
        return f"ST_AsText({ident(column)})"
    return ident(column)


def _batches(cur: pymysql.cursors.SSCursor) -> Iterator[Sequence[Any]]:
    while rows := cur.fetchmany(sql.FETCH_ROWS):
        yield rows
