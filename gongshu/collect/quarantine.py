"""Problem data (问题数据) and its feedback to departments (问题数据反馈).

Every row that failed a blocking rule sits in the mount's quarantine table with its rule ids,
Chinese reasons, original values and batch. A later batch that brings the same key clean resolves
it (``<name>__resolved``). Departments list and download their open problems to fix them at source;
every read and download is audited (the rows hold personal data; the audit holds only counts).
"""

# ruff: noqa: S608 - identifiers are quoted by sqlbits.ident; filter values are bound parameters

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import duckdb
import xlsxwriter
from sqlalchemy.orm import Session

from gongshu.collect.models import Mount
from gongshu.collect.mounts import get_mount
from gongshu.collect.sqlbits import ident
from gongshu.engine import connect
from gongshu.lake import Lake, TableRef, Zone
from gongshu.orgs.roles import Principal
from gongshu.security import audit

Status = Literal["open", "resolved", "all"]
META = ("_batch_id", "_source", "_row", "_line", "_record_key", "_problems", "_raw_text")


@dataclass
class Problem:
    """One quarantined row."""

    batch_id: str
    source: str | None
    row: int | None  # 1-based position of the record in the batch (第 N 条)
    line: int | None  # 1-based source line of a malformed record
    record_key: str | None
    problems: list[dict[str, Any]]
    raw_text: str | None
    values: dict[str, Any]
    resolved_by: str | None = None
    resolved_at: datetime | None = None

    @property
    def status(self) -> str:
        return "resolved" if self.resolved_by else "open"

    def reasons(self) -> str:
        return "；".join(
            f"{p.get('column', '')}: {p.get('reason', p.get('rule', ''))}" for p in self.problems
        )


@dataclass
class ProblemPage:
    mount: str
    status: Status
    total: int
    offset: int
    limit: int
    rows: list[Problem] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    by_rule: dict[str, int] = field(default_factory=dict)
    open: int = 0
    resolved: int = 0


def problems(
    session: Session,
    actor: Principal,
    lake: Lake,
    mount_name: str,
    *,
    status: Status = "open",
    batch_id: str | None = None,
    rule: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> ProblemPage:
    """A page of the mount's problem rows (open by default), with totals by status and by rule."""
    mount = get_mount(session, actor, mount_name)
    page = ProblemPage(mount=mount.name, status=status, total=0, offset=offset, limit=limit)
    with _Problems(lake, mount) as con:
        if con is None:
            return page
        where, params = _filters(status, batch_id, rule)
        page.columns = [c for c in _columns(con) if c not in META]
        totals = con.execute(
            "SELECT count_if(resolved_by IS NULL), count_if(resolved_by IS NOT NULL) FROM problems"
        ).fetchone()
        page.open, page.resolved = (int(totals[0] or 0), int(totals[1] or 0)) if totals else (0, 0)
        found = con.execute(f"SELECT count(*) FROM problems WHERE {where}", params).fetchone()
        page.total = int(found[0]) if found else 0
        rules = con.execute(
            f"""SELECT json_extract_string(p.value, '$.rule') AS rule, count(*) FROM problems,
                LATERAL (SELECT unnest(CAST(json(_problems) AS JSON[])) AS value) p
                WHERE {where} GROUP BY 1 ORDER BY 2 DESC""",
            params,
        ).fetchall()
        page.by_rule = {str(r): int(n) for r, n in rules}
        page.rows = list(
            _rows(
                con,
                page.columns,
                f"{where} ORDER BY _batch_id, coalesce(_row, _line) LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        )
    audit.record(
        session,
        actor=actor.name,
        action="quarantine.read",
        object_type="mount",
        object_id=mount.name,
        detail={"status": status, "rows": len(page.rows), "batch": batch_id, "rule": rule},
    )
    return page


def export(
    session: Session,
    actor: Principal,
    lake: Lake,
    mount_name: str,
    *,
    fmt: Literal["csv", "xlsx"],
    status: Status = "open",
    batch_id: str | None = None,
) -> tuple[bytes, int]:
    """The mount's problem rows as a CSV (UTF-8 with BOM, opens in Excel) or XLSX file, and the row count."""
    mount = get_mount(session, actor, mount_name)
    header = [
        "批次 batch",
        "来源 source",
        "行号 row",
        "源文件行 line",
        "主键 key",
        "状态 status",
        "问题 problems",
    ]
    rows: list[list[Any]] = []
    columns: list[str] = []
    with _Problems(lake, mount) as con:
        if con is not None:
            columns = [c for c in _columns(con) if c not in META]
            where, params = _filters(status, batch_id, None)
            for p in _rows(con, columns, f"{where} ORDER BY _batch_id, coalesce(_row, _line)", params):
                rows.append(
                    [p.batch_id, p.source, p.row, p.line, p.record_key, p.status, p.reasons()]
                    + [p.values.get(c) for c in columns]
                    + ([p.raw_text] if p.raw_text else [])
                )
    header += [*columns, "原始行 raw line"]
    data = _csv(header, rows) if fmt == "csv" else _xlsx(header, rows, mount.name)
    audit.record(
        session,
        actor=actor.name,
        action="quarantine.export",
        object_type="mount",
        object_id=mount.name,
        detail={"format": fmt, "status": status, "rows": len(rows)},
    )
    return data, len(rows)


def history(session: Session, actor: Principal, lake: Lake, mount_name: str) -> list[dict[str, Any]]:
    """Per batch: how many rows it quarantined and how many of them are resolved, and by which batches."""
    mount = get_mount(session, actor, mount_name)
    with _Problems(lake, mount) as con:
        if con is None:
            return []
        result = con.execute(
            """SELECT _batch_id, count(*), count_if(resolved_by IS NOT NULL),
                      list(DISTINCT resolved_by ORDER BY resolved_by) FILTER (WHERE resolved_by IS NOT NULL)
               FROM problems GROUP BY 1 ORDER BY 1"""
        ).fetchall()
    return [
        {"batch_id": b, "quarantined": int(n), "resolved": int(r), "resolved_by": list(by or [])}
        for b, n, r, by in result
    ]


# -- internals ------------------------------------------------------------------------------------


class _Problems:
    """A DuckDB connection with the view ``problems`` = quarantine rows + their resolution, if any."""

    def __init__(self, lake: Lake, mount: Mount) -> None:
        self.lake, self.mount = lake, mount
        self.con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> duckdb.DuckDBPyConnection | None:
        qref = TableRef(Zone.QUARANTINE, self.mount.name)
        if not self.lake.exists(qref):
            return None
        self.con = connect()
        self.lake.view(self.con, qref, "q")
        rref = TableRef(Zone.QUARANTINE, f"{self.mount.name}__resolved")
        if self.lake.exists(rref):
            self.lake.view(self.con, rref, "r")
            self.con.execute(
                """CREATE TEMP VIEW problems AS SELECT q.*, r.resolved_by, r.resolved_at FROM q
                   LEFT JOIN (SELECT _batch_id, _entry, min(resolved_by) AS resolved_by,
                                     min(resolved_at) AS resolved_at FROM r GROUP BY ALL) r
                   ON r._batch_id = q._batch_id AND r._entry = coalesce(q._row, -q._line)"""
            )
        else:
            self.con.execute(
                "CREATE TEMP VIEW problems AS SELECT q.*, CAST(NULL AS VARCHAR) AS resolved_by, "
                "CAST(NULL AS TIMESTAMP) AS resolved_at FROM q"
            )
        return self.con

    def __exit__(self, *exc: object) -> None:
        if self.con is not None:
            self.con.close()


def _filters(status: Status, batch_id: str | None, rule: str | None) -> tuple[str, list[Any]]:
    where, params = ["true"], []
    if status == "open":
        where.append("resolved_by IS NULL")
    elif status == "resolved":
        where.append("resolved_by IS NOT NULL")
    if batch_id:
        where.append("_batch_id = ?")
        params.append(batch_id)
    if rule:
        where.append("contains(_problems, ?)")
        params.append('"rule": ' + json.dumps(rule))
    return " AND ".join(where), params


def _columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [str(r[0]) for r in con.execute("SELECT column_name FROM (DESCRIBE q)").fetchall()]


def _rows(
    con: duckdb.DuckDBPyConnection, columns: list[str], tail: str, params: list[Any]
) -> Iterator[Problem]:
    values = ", ".join(ident(c) for c in columns)
    cursor = con.execute(
        f"SELECT {', '.join(META)}, resolved_by, resolved_at{', ' + values if values else ''} "
        f"FROM problems WHERE {tail}",
        params,
    )
    while chunk := cursor.fetchmany(1000):
        for row in chunk:
            yield Problem(
                batch_id=row[0],
                source=row[1],
                row=None if row[2] is None else int(row[2]) + 1,  # 1-based for people
                line=row[3],
                record_key=row[4],
                problems=json.loads(row[5] or "[]"),
                raw_text=row[6],
                resolved_by=row[7],
                resolved_at=row[8],
                values=dict(zip(columns, row[9:], strict=True)),
            )


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx(header: list[str], rows: list[list[Any]], title: str) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("问题数据")
    bold = book.add_format({"bold": True, "bg_color": "#FDECEA"})
    sheet.write_row(0, 0, header, bold)
    for i, row in enumerate(rows, start=1):
        sheet.write_row(i, 0, ["" if v is None else str(v) for v in row])
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, 0, 28)
    sheet.set_column(6, 6, 50)
    book.set_properties({"title": f"{title} 问题数据", "comments": "gongshu 问题数据反馈"})
    book.close()
    return buffer.getvalue()
