"""Auditing a batch (稽核): the row rules in one pass, the table rules, scores, storage, tickets.

Every committed batch is audited right after collection (``collect.pipeline.run_mount`` calls
:func:`audit_batch`), so a department's next batch is its re-check: tickets whose rule now passes
close themselves. ``gongshu quality run`` audits a batch again or fills in batches that were
committed without an audit (a crash between the two steps).

The audit reads the batch's raw zone files — exactly what the department delivered — through the
same standardisation as the collect stage, so it sees the rows that were quarantined as well as the
accepted ones: the quality of the source, not of what survived cleansing.
"""

# ruff: noqa: S608 - identifiers are quoted with sqlbits.ident; values are literals via sqlbits.lit

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.cleanse import ColumnBinding
from gongshu.collect.models import Batch, Mount
from gongshu.collect.mounts import bindings, spec_of
from gongshu.collect.specs import UPDATE_CYCLE_INTERVALS, MountSpec
from gongshu.collect.sqlbits import ident, lit
from gongshu.collect.stage import current_state_sql, raw_view
from gongshu.engine import connect
from gongshu.errors import Conflict, NotFound
from gongshu.lake import Lake, TableRef, Zone, open_lake
from gongshu.orgs.roles import Principal, Role
from gongshu.platform import Platform
from gongshu.quality import tickets
from gongshu.quality.calendar import current_month
from gongshu.quality.engine import FLAGS, AuditTable, Flag, Reference, RuleOutcome, plan_audit
from gongshu.quality.models import AuditResult, AuditRun
from gongshu.quality.rules import Rulebook, load_rulebook
from gongshu.quality.scores import score_results
from gongshu.security import audit as trail
from gongshu.store.base import CITY_TIMEZONE, utcnow

SAMPLES = 20
LON, LAT = "DE0304", "DE0305"


@dataclass(frozen=True)
class RunSummary:
    """What an audit run found, for the CLI and the collect summary."""

    run_id: str
    mount: str
    batch_id: str | None
    rows: int
    failed_rows: int
    score: float | None
    dimensions: dict[str, float | None]
    results: int
    failing: int
    tickets: dict[str, list[str]]
    seconds: float


def audit_batch(
    platform: Platform,
    actor: Principal,
    batch_id: str,
    *,
    lake: Lake | None = None,
    memory_limit: str = "3GB",
    rulebook: Rulebook | None = None,
) -> RunSummary:
    """Audit one committed batch and store the run; re-auditing replaces the batch's earlier run."""
    actor.require(Role.OPERATOR, Role.STEWARD, action="audit a batch (稽核)")
    book = rulebook or load_rulebook()
    lake = lake or open_lake(platform.settings)
    started = time.perf_counter()
    with platform.store.session() as session:
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise NotFound(f"no batch {batch_id}", hint="gongshu batch list")
        if batch.state != "committed":
            raise Conflict(f"batch {batch_id} is {batch.state}; only committed batches are audited")
        mount = batch.mount
        if not actor.has(Role.OPERATOR) and actor.organisation_id != mount.organisation_id:
            raise NotFound(f"no batch {batch_id}")
        spec = spec_of(mount)
        context = _Context.of(session, batch, spec)
        register_keys = {
            ref.mount: list(spec_of(target).key)
            for ref in spec.audit.references
            if (target := session.scalar(sa.select(Mount).where(Mount.name == ref.mount))) is not None
        }

    con = connect(memory_limit=memory_limit, temp_directory=platform.settings.data_dir / "work" / "audit")
    try:
        columns = _raw_view(con, lake, mount.name, batch_id)
        table = _audit_table(con, lake, spec, context.bindings, columns, register_keys, context.labels)
        plan = plan_audit(table, standardised=False, rulebook=book, today=context.today)
        carry = [spec.audit.event_time] if spec.audit.event_time in {b.name for b in table.bindings} else []
        outcome = plan.run(con, "raw_in", keep=["_row"], samples=SAMPLES, carry=carry)
        newest = _newest(con, carry[0]) if carry else None
        crs_rows = _crs_rows(con, columns, book)
    finally:
        con.close()

    results = list(outcome.results)
    results += _table_results(book, context, spec, table, outcome.profile, newest, crs_rows)
    latency = context.latency_days(newest)
    score, dimensions = score_results(results, book)
    district_scores = _district_scores(plan.flags, outcome.districts, book)
    seconds = time.perf_counter() - started

    with platform.store.session() as session:
        batch = session.get(Batch, batch_id)
        assert batch is not None
        for old in session.scalars(sa.select(AuditRun).where(AuditRun.batch_id == batch_id)):
            session.delete(old)
        session.flush()
        finished = batch.finished_at or utcnow()
        run = AuditRun(
            id=f"Q{batch_id}",
            mount_id=batch.mount_id,
            batch_id=batch_id,
            entry_id=batch.mount.entry_id,
            organisation_id=batch.mount.organisation_id,
            division_code=batch.mount.entry.division_code,
            month=current_month(finished),
            scope="batch",
            state="done",
            started_by=actor.name,
            started_at=finished,
            finished_at=utcnow(),
            rows=outcome.rows,
            failed_rows=outcome.failed_rows,
            score=score,
            dimensions=dimensions,
            districts=district_scores,
            profile=outcome.profile,
            latency_days=latency,
            seconds=round(seconds, 3),
        )
        session.add(run)
        for r in results:
            run.results.append(
                AuditResult(
                    rule_id=r.rule_id,
                    dimension=r.dimension,
                    column=r.column,
                    label=r.label[:100],
                    severity=r.severity,
                    description=r.reason_zh,
                    checked=r.checked,
                    failed=r.failed,
                    samples=list(r.samples),
                )
            )
        session.flush()
        synced = tickets.sync_run(session, run, actor=actor.name, today=context.today)
        trail.record(
            session,
            actor=actor.name,
            action="quality.audit",
            object_type="batch",
            object_id=batch_id,
            detail={
                "mount": batch.mount.name,
                "rows": outcome.rows,
                "failed_rows": outcome.failed_rows,
                "score": score,
                "results": len(results),
            },
        )
        ticket_numbers = {
            "opened": list(synced.opened),
            "updated": list(synced.updated),
            "closed": list(synced.closed),
            "reopened": list(synced.reopened),
        }
    return RunSummary(
        run_id=f"Q{batch_id}",
        mount=mount.name,
        batch_id=batch_id,
        rows=outcome.rows,
        failed_rows=outcome.failed_rows,
        score=score,
        dimensions=dimensions,
        results=len(results),
        failing=sum(1 for r in results if r.failed and r.severity != "info"),
        tickets=ticket_numbers,
        seconds=round(seconds, 3),
    )


def unaudited_batches(session: Session) -> list[str]:
    """Committed batches without an audit run, oldest first (a crash between commit and audit)."""
    audited = sa.select(AuditRun.batch_id).where(AuditRun.batch_id.is_not(None))
    rows = session.scalars(
        sa.select(Batch.id)
        .where(Batch.state == "committed", Batch.id.not_in(audited))
        .order_by(Batch.started_at, Batch.seq)
    )
    return list(rows)


# -- context from the catalogue and the batch history --------------------------------------------


@dataclass(frozen=True)
class _Context:
    bindings: list[ColumnBinding]
    labels: dict[str, str]
    cycle: timedelta | None
    finished: datetime
    previous_finished: datetime | None
    previous_profile: dict[str, Any] | None
    failed_batches: int
    malformed: int
    rows_read: int
    today: date

    @classmethod
    def of(cls, session: Session, batch: Batch, spec: MountSpec) -> _Context:
        mount: Mount = batch.mount
        previous = session.scalar(
            sa.select(Batch)
            .where(Batch.mount_id == mount.id, Batch.state == "committed", Batch.seq < batch.seq)
            .order_by(Batch.seq.desc())
            .limit(1)
        )
        failed = session.scalar(
            sa.select(sa.func.count())
            .select_from(Batch)
            .where(
                Batch.mount_id == mount.id,
                Batch.state == "failed",
                Batch.seq < batch.seq,
                Batch.seq > (previous.seq if previous else 0),
            )
        )
        previous_run = (
            session.scalar(sa.select(AuditRun).where(AuditRun.batch_id == previous.id)) if previous else None
        )
        finished = batch.finished_at or utcnow()
        return cls(
            bindings=bindings(spec, mount.entry),
            labels={item.name: item.label for item in mount.entry.items},
            cycle=UPDATE_CYCLE_INTERVALS.get(mount.entry.update_cycle),
            finished=finished,
            previous_finished=previous.finished_at if previous else None,
            previous_profile=previous_run.profile if previous_run else None,
            failed_batches=int(failed or 0),
            malformed=int((batch.rule_counts or {}).get("ROW_MALFORMED", 0)),
            rows_read=batch.rows_read,
            today=finished.astimezone(CITY_TIMEZONE).date(),
        )

    def latency_days(self, newest: datetime | None) -> float | None:
        if newest is None:
            return None
        moment = newest if newest.tzinfo else newest.replace(tzinfo=CITY_TIMEZONE)
        return round(max((self.finished - moment).total_seconds(), 0) / 86400, 3)


# -- the batch as a relation -------------------------------------------------------------------


def _raw_view(con: duckdb.DuckDBPyConnection, lake: Lake, name: str, batch_id: str) -> list[str]:
    """``raw_in``: the batch's raw rows, numbered as the collect stage numbers them; its columns."""
    files = lake.batch_files(TableRef(Zone.RAW, name), batch_id)
    if not files:
        raise NotFound(f"the raw files of batch {batch_id} are gone", hint="re-collect the mount")
    raw_view(con, sorted(files))
    return [str(r[0]) for r in con.execute("DESCRIBE raw_in").fetchall()]


def _audit_table(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    spec: MountSpec,
    wanted: Sequence[ColumnBinding],
    columns: Sequence[str],
    register_keys: dict[str, list[str]],
    labels: dict[str, str],
) -> AuditTable:
    present = set(columns)
    # a column the source no longer has (drift) is audited as missing, not as an error of the audit
    table_bindings = tuple(b if b.source in present else replace(b, source=None) for b in wanted)
    references = []
    for i, ref in enumerate(spec.audit.references):
        view = f"__register_{i}"
        if ref.mount in register_keys and _register_view(
            con, lake, ref.mount, view, register_keys[ref.mount]
        ):
            references.append(Reference(ref.column, view, ref.target, ref.label or ref.mount, ref.pattern))
    return AuditTable(
        spec.name, table_bindings, key=tuple(spec.key), references=tuple(references), labels=dict(labels)
    )


def _register_view(
    con: duckdb.DuckDBPyConnection, lake: Lake, mount: str, view: str, key: Sequence[str]
) -> bool:
    """The register's current state: the latest row of each record in its standard change log."""
    ref = TableRef(Zone.STANDARD, mount)
    if not lake.exists(ref):
        return False
    lake.view(con, ref, view + "_log")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {ident(view)} AS {current_state_sql(view + '_log', key)}")
    return True


def _newest(con: duckdb.DuckDBPyConnection, column: str) -> datetime | None:
    row = con.execute(f"SELECT max(CAST({ident(column)} AS TIMESTAMP)) FROM {FLAGS}").fetchone()
    value = row[0] if row else None
    return value if isinstance(value, datetime) else None


def _crs_rows(
    con: duckdb.DuckDBPyConnection, columns: Sequence[str], book: Rulebook
) -> tuple[int, int] | None:
    """(rows, rows whose ``crs`` column is not a known coordinate system) when the data carries one."""
    if "crs" not in columns:
        return None
    listed = ", ".join(lit(str(k).upper()) for k in book.get("COORD_SYSTEM").params["known"])
    row = con.execute(
        f"SELECT count(*), count_if(coalesce(upper(trim(crs)) NOT IN ({listed}), true)) FROM raw_in"
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else None


# -- table rules --------------------------------------------------------------------------------


def _table_results(
    book: Rulebook,
    ctx: _Context,
    spec: MountSpec,
    table: AuditTable,
    profile: dict[str, Any],
    newest: datetime | None,
    crs_rows: tuple[int, int] | None,
) -> list[RuleOutcome]:
    out: list[RuleOutcome] = []

    def add(rule_id: str, column: str, checked: int, failed: int) -> None:
        t = book.text(rule_id)
        out.append(
            RuleOutcome(
                t.rule_id, t.dimension, column, t.severity, checked, failed, column, t.reason_zh, t.reason_en
            )
        )

    for rule in book.rules.values():
        if rule.level != "table":
            continue
        if rule.kind == "crs" and _has_coordinates(table):
            known = {str(k).upper() for k in rule.params["known"]}
            if spec.audit.crs:
                add(rule.id, "", 1, 0 if spec.audit.crs.upper() in known else 1)
            elif crs_rows is not None:
                add(rule.id, "crs", crs_rows[0], crs_rows[1])
            else:
                add(rule.id, "", 1, 1)
        elif rule.kind == "distribution" and ctx.previous_profile:
            for column, changed in _distribution(profile, ctx.previous_profile, rule.params).items():
                add(rule.id, column, 1, int(changed))
        elif rule.kind == "cycle" and ctx.cycle is not None and ctx.previous_finished is not None:
            allowed = ctx.cycle * (1 + float(rule.params.get("grace", 0.5)))
            add(rule.id, "", 1, int(ctx.finished - ctx.previous_finished > allowed))
        elif rule.kind == "latency" and ctx.cycle is not None and newest is not None:
            latency = ctx.latency_days(newest) or 0.0
            add(rule.id, spec.audit.event_time or "", 1, int(latency > ctx.cycle.total_seconds() / 86400))
        elif rule.kind == "batch_failures":
            add(rule.id, "", ctx.failed_batches + 1, ctx.failed_batches)
        elif rule.kind == "malformed" and ctx.rows_read:
            add(rule.id, "", ctx.rows_read, ctx.malformed)
    return out


def _has_coordinates(table: AuditTable) -> bool:
    elements = {b.element for b in table.bindings if b.source is not None}
    return LON in elements and LAT in elements


def _distribution(now: dict[str, Any], before: dict[str, Any], params: dict[str, Any]) -> dict[str, bool]:
    """Per column: did its NULL ratio or code shares move beyond the thresholds since the last run?"""
    rows_now, rows_before = int(now.get("rows", 0)), int(before.get("rows", 0))
    if min(rows_now, rows_before) < int(params.get("min_rows", 100)):
        return {}
    changed: dict[str, bool] = {}
    old_columns = before.get("columns", {})
    for column, stats in now.get("columns", {}).items():
        old = old_columns.get(column)
        if old is None:
            continue
        moved = False
        if stats.get("null_ratio") is not None and old.get("null_ratio") is not None:
            moved = abs(stats["null_ratio"] - old["null_ratio"]) > float(params["null_ratio_delta"])
        if "codes" in stats and "codes" in old:
            keys = set(stats["codes"]) | set(old["codes"])
            distance = 0.5 * sum(abs(stats["codes"].get(k, 0) - old["codes"].get(k, 0)) for k in keys)
            moved = moved or distance > float(params["code_distance"])
        changed[column] = moved
    return changed


def _district_scores(
    flags: Sequence[Flag], districts: dict[str, dict[str, Any]], book: Rulebook
) -> dict[str, Any]:
    """Per district where rows lie: rows, rows failing, and the score of its row results."""
    out: dict[str, Any] = {}
    for code, counts in districts.items():
        values = counts["counts"]
        results = [
            RuleOutcome(
                f.text.rule_id, f.text.dimension, f.column, f.text.severity, values[2 * i], values[2 * i + 1]
            )
            for i, f in enumerate(flags)
        ]
        score, _dims = score_results(results, book)
        out[code] = {"rows": counts["rows"], "failed_rows": counts["failed_rows"], "score": score}
    return out
