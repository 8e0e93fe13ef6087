"""Lake SQL under a grant (湖上 SQL): the consumer's own SELECT over a per-grant view and nothing else.

The grant's slice — granted 信息项 only, masked by grade, granted rows only — is materialised into a
private in-memory DuckDB database as the table ``granted`` (also under the resource's mount name);
then the database is locked: no file or network access, no configuration changes, and the
statement must be a single read-only query. So whatever the SQL says, it can only see what the
grant gives. Every run is decided by the same grant rules as the APIs and logged as one call.
"""

from __future__ import annotations

# ruff: noqa: S608 - the slice is compiled with quoted names; the consumer's SQL runs in a locked, private database
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlglot
from sqlglot import exp

from gongshu.collect.sqlbits import ident
from gongshu.engine import connect
from gongshu.errors import GongshuError, ValidationFailed
from gongshu.lake import open_lake
from gongshu.orgs.models import Organisation
from gongshu.orgs.roles import Principal
from gongshu.platform import Platform
from gongshu.share.access import GrantIndex
from gongshu.share.calllog import CallRecord, record_subjects
from gongshu.share.errors import ShareDenied
from gongshu.share.exchange import call_log, subject_key
from gongshu.share.models import Grant
from gongshu.share.slice import CURRENT_VIEW, slice_of
from gongshu.share.specs import Api

MAX_ROWS = 10_000
ALLOWED_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except)


@dataclass(frozen=True)
class SqlAnswer:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    request_id: str


def run_sql(platform: Platform, actor: Principal, code: str, sql: str, *, limit: int = 1000) -> SqlAnswer:
    """Run the consumer's ``sql`` over grant ``code``'s slice; one call-log record either way."""
    started = time.perf_counter()
    request_id = uuid.uuid4().hex
    index = GrantIndex(platform.store)
    rule = index.load_one(code)
    consumer = ""
    with platform.store.session() as session:
        org = session.get(Organisation, actor.organisation_id) if actor.organisation_id else None
        consumer = org.code if org is not None else ""
    subjects: tuple[str, ...] = ()
    answer: SqlAnswer | None = None
    failure: GongshuError | None = None
    fields: tuple[str, ...] = ()
    try:
        index.decide(code, actor.organisation_id, Api.SQL)
        statement = _checked(sql)
        with platform.store.session() as session:
            grant = session.query(Grant).filter(Grant.code == code).one()
            granted = slice_of(session, grant)
        fields = tuple(granted.fields)
        with connect() as con:
            granted.register(open_lake(platform.settings), con)
            con.execute(f"CREATE TABLE granted AS {granted.select_sql(CURRENT_VIEW, with_subjects=True)}")
            ids = [
                i
                for (row,) in con.execute("SELECT _subject_ids FROM granted").fetchall()
                for i in row or ()
                if i
            ]
            con.execute("ALTER TABLE granted DROP COLUMN _subject_ids")
            con.execute(f"CREATE VIEW {ident(granted.mount)} AS SELECT * FROM granted")
            for view in ("granted_current", "granted_changes"):
                con.execute(f"DROP VIEW IF EXISTS {ident(view)}")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            cursor = con.execute(f"SELECT * FROM ({statement}) LIMIT {min(limit, MAX_ROWS) + 1}")
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        subjects = record_subjects(subject_key(platform.settings), ids)
        truncated = len(rows) > min(limit, MAX_ROWS)
        answer = SqlAnswer(columns, rows[: min(limit, MAX_ROWS)], truncated, request_id)
    except GongshuError as error:
        failure = error
    except Exception as error:  # a DuckDB error in the consumer's SQL is theirs to fix
        failure = ValidationFailed({"sql": [f"SQL 执行失败 the query failed: {str(error).splitlines()[0]}"]})
    result = (
        "ok" if failure is None else (failure.reason if isinstance(failure, ShareDenied) else failure.code)
    )
    call_log(platform).append(
        CallRecord(
            at=datetime.now(UTC),
            request_id=request_id,
            actor=actor.name,
            consumer=consumer,
            grant=code if rule is not None else "",
            scenario=rule.scenario if rule is not None else "",
            resource=_entry_code(platform, rule.entry_id) if rule is not None else "",
            api=Api.SQL.value,
            fields=fields,
            rows=len(answer.rows) if answer else 0,
            result=result,
            status=200 if failure is None else failure.http_status,
            latency_us=int((time.perf_counter() - started) * 1e6),
            subjects=subjects,
        )
    )
    if failure is not None:
        raise failure
    assert answer is not None
    return answer


def _checked(sql: str) -> str:
    """One read-only query, as DuckDB SQL; anything else is refused before it runs."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as error:
        raise ValidationFailed(
            {"sql": [f"SQL 无法解析 cannot parse: {str(error).splitlines()[0]}"]}
        ) from None
    if len(statements) != 1 or not isinstance(statements[0], ALLOWED_ROOTS):
        raise ValidationFailed({"sql": ["只允许一条查询语句 only one SELECT statement is allowed"]})
    return statements[0].sql("duckdb")


def _entry_code(platform: Platform, entry_id: int) -> str:
    from gongshu.catalogue.models import CatalogEntry

    with platform.store.session() as session:
        entry = session.get(CatalogEntry, entry_id)
        return entry.code if entry is not None else ""
