"""PostgreSQL tables and views: ``COPY (SELECT …) TO STDOUT (FORMAT csv)`` → scratch CSV → DuckDB → Parquet.

Every value is rendered by PostgreSQL (session settings ``TimeZone=UTC``, ``DateStyle=ISO, YMD``,
``bytea_output=hex``): ``2020-01-02``, ``2020-01-02 03:04:05.123456``, ``2020-01-01 19:04:05+00``,
``12.30``, ``t``/``f``, ``{1,2}``, ``\\x00ff``; NULL stays NULL and an empty string stays empty
(CSV tells them apart). The metadata queries run under ``statement_timeout = timeout_s``; while
the rows stream, a watchdog cancels the query when no data has arrived for ``timeout_s`` seconds
(so a long but steady extraction is never cut off, and a stuck one is).
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from psycopg import sql as pgsql
from sqlalchemy.engine import URL

from gongshu.collect.connectors import sql
from gongshu.collect.connectors.errors import SourceFailed
from gongshu.collect.connectors.output import RawOutput
from gongshu.collect.connectors.results import Extracted, ExtractState
from gongshu.collect.connectors.specs import SqlSource
from gongshu.collect.sqlbits import ident
from gongshu.engine import connect
from gongshu.errors import SourceUnavailable, ValidationFailed

#: longest row DuckDB accepts from the scratch CSV
MAX_ROW_BYTES = 256 << 20

_COLUMNS = """
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = %s AND n.nspname = COALESCE(%s, current_schema())
  AND c.relkind IN ('r', 'v', 'm', 'f', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


def extract(spec: SqlSource, url: URL, out: RawOutput, *, state: ExtractState) -> Extracted:
    label = spec.table if spec.schema_ is None else f"{spec.schema_}.{spec.table}"
    conn = _connect(url, spec.timeout_s)
    scratch = out.scratch_file("postgres.csv")
    try:
        with conn.cursor() as cur:
            declared = cur.execute(_COLUMNS, (spec.table, spec.schema_)).fetchall()
            plan = sql.plan(spec, [(str(n), str(t)) for n, t in declared], state, label)
            digest = sql.fingerprint_start(plan.names)
            cur.execute("SET statement_timeout = 0")  # the watchdog bounds the stream instead
            _copy(conn, cur, _query(spec, plan), plan, scratch, digest, spec.timeout_s)
    except psycopg.errors.QueryCanceled:
        raise SourceUnavailable(
            f"PostgreSQL 超时 / PostgreSQL did not answer within {spec.timeout_s:g} s "
            f"({spec.public_url}, {label})",
            hint="the source is slow or blocked; raise `timeout_s` or retry later",
        ) from None
    except psycopg.errors.DataError:
        raise ValidationFailed(
            {
                "cursor": [
                    f"已提交的游标值不是列 {spec.cursor} 的合法值 / the committed cursor value is "
                    f"not a valid value of column {spec.cursor}"
                ]
            }
        ) from None
    except psycopg.OperationalError as error:
        raise _unavailable(spec, error) from None
    except psycopg.errors.InsufficientPrivilege:
        raise SourceFailed(
            f"无权读取 / the account may not read {label} ({spec.public_url})",
            hint="grant SELECT on the table to the collecting account",
        ) from None
    except psycopg.Error as error:
        raise SourceFailed(
            f"PostgreSQL 查询失败 / the PostgreSQL query failed ({spec.public_url}, {label}): "
            f"{_first_line(error, None)}"
        ) from None
    finally:
        conn.close()
    target = out.next_file()
    rows = _to_parquet(scratch, target, plan, out.batch_id)
    scratch.unlink(missing_ok=True)
    return sql.finish(plan, target, rows, digest.hexdigest())


def _connect(url: URL, timeout: float) -> psycopg.Connection[Any]:
    settings = {
        "statement_timeout": str(max(1, int(timeout * 1000))),
        "TimeZone": "UTC",
        "DateStyle": "ISO,YMD",
        "IntervalStyle": "postgres",
        "bytea_output": "hex",
        "extra_float_digits": "1",
        "client_encoding": "UTF8",
    }
    options = " ".join(f"-c {key}={value}" for key, value in settings.items())
    try:
        conn = psycopg.connect(
            host=url.host or "localhost",
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=url.database,
            connect_timeout=max(2, math.ceil(timeout)),
            application_name="gongshu-collect",
            options=options,
            autocommit=False,
        )
    except psycopg.Error as error:
        raise _unavailable_url(url, error) from None
    conn.read_only = True
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot for metadata and rows
    return conn


def _unavailable_url(url: URL, error: psycopg.Error) -> SourceUnavailable:
    public = url.render_as_string(hide_password=True)
    detail = _first_line(error, str(url.password) if url.password else None)
    return SourceUnavailable(
        f"无法连接 PostgreSQL / cannot connect to PostgreSQL at {public}: {detail}",
        hint="check that the server is up, the address and port, and the account and its password",
    )


def _unavailable(spec: SqlSource, error: psycopg.Error) -> SourceUnavailable:
    return SourceUnavailable(
        f"PostgreSQL 连接中断 / the PostgreSQL connection failed ({spec.public_url}): "
        f"{_first_line(error, None)}",
        hint="retry later; check the server's health",
    )


def _first_line(error: BaseException, secret: str | None) -> str:
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text.replace(secret, "***") if secret else text


def _query(spec: SqlSource, plan: sql.SqlPlan) -> pgsql.Composed:
    table = pgsql.Identifier(spec.schema_, spec.table) if spec.schema_ else pgsql.Identifier(spec.table)
    query = pgsql.SQL("SELECT {} FROM {}").format(
        pgsql.SQL(", ").join(map(pgsql.Identifier, plan.columns)), table
    )
    if plan.cursor is not None:
        cursor = pgsql.Identifier(plan.cursor)
        if plan.after is not None:
            query = pgsql.SQL("{} WHERE {} > %s").format(query, cursor)
        query = pgsql.SQL("{} ORDER BY {} ASC NULLS FIRST").format(query, cursor)
    return pgsql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(query)


def _copy(
    conn: psycopg.Connection[Any],
    cur: psycopg.Cursor[Any],
    query: pgsql.Composed,
    plan: sql.SqlPlan,
    target: Path,
    digest: Any,
    timeout: float,
) -> None:
    watchdog = _Watchdog(conn, timeout)
    try:
        params = (plan.after,) if plan.after is not None and plan.cursor is not None else None
        with cur.copy(query, params) as copy, target.open("wb") as handle:
            for data in copy:
                watchdog.alive()
                digest.update(data)
                handle.write(data)
    finally:
        watchdog.stop()


class _Watchdog:
    """Cancels the running query when no data arrived for ``timeout`` seconds."""

    def __init__(self, conn: psycopg.Connection[Any], timeout: float) -> None:
        self.conn = conn
        self.timeout = timeout
        self.last = time.monotonic()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def alive(self) -> None:
        self.last = time.monotonic()

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def _watch(self) -> None:
        step = min(0.1, self.timeout / 4)
        while not self.done.wait(step):
            if time.monotonic() - self.last > self.timeout:
                self.conn.cancel_safe()  # the copy then fails with QueryCanceled
                return


def _to_parquet(scratch: Path, target: Path, plan: sql.SqlPlan, batch_id: str) -> int:
    names = {f"c{i}": "VARCHAR" for i in range(len(plan.names))}
    select = ", ".join(f"{ident(f'c{i}')} AS {ident(name)}" for i, name in enumerate(plan.names))
    con = connect()
    try:
        row = con.execute(  # identifiers quoted by sqlglot, values bound
            f"COPY (SELECT {select}, $batch AS _batch_id, $source AS _source FROM read_csv($path, "  # noqa: S608
            "columns = $columns, auto_detect = false, header = false, delim = ',', quote = '\"', "
            "escape = '\"', "
            "strict_mode = true, allow_quoted_nulls = false, max_line_size = $max)) "
            f"TO {_literal(target)} (FORMAT parquet)",
            {
                "batch": batch_id,
                "source": plan.label,
                "path": str(scratch),
                "columns": names,
                "max": MAX_ROW_BYTES,
            },
        ).fetchone()
    except duckdb.Error as error:
        raise SourceFailed(
            f"PostgreSQL 数据无法写入原始库 / PostgreSQL rows could not be written: {error}"
        ) from None
    finally:
        con.close()
    return int(row[0]) if row else 0


def _literal(path: Path) -> str:
    from gongshu.collect.sqlbits import lit

    return lit(str(path))
