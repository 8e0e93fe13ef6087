"""One collection batch (归集批次): extract → check drift → cleanse → quarantine → commit, exactly once.

The steps, all set-based in DuckDB (no per-row Python on the hot path):

1. **Extract** — the mount's connector writes the batch's *raw* Parquet files ("as collected", every
   source column as text) into the raw table's batch directory. A resumed batch whose raw zone is
   already committed re-uses those files, so a rerun sees exactly the same input.
2. **Drift** — the source's columns and types are compared with the mount (``drift.py``); the
   policy stops the batch (nothing committed) or evolves and notifies.
3. **Cleanse** — the cleanse plan (``gongshu.cleanse``) standardises every 信息项 and evaluates every
   rule; rows failing a blocking rule, duplicates of a primary key and malformed source lines go
   to the *quarantine* zone with rule ids, Chinese reasons and their original values.
4. **Standard** — accepted rows are diffed against the current state (by key and a row hash) and
   only inserts, updates and deletes are appended to the *standard* zone, which is therefore a
   change log whose latest row per key is the current state.
5. **Resolve** — open quarantine entries of earlier batches whose key arrived clean are resolved.
6. **Commit** — raw, quarantine, resolutions and standard are committed as lake snapshots tagged
   with the batch id (idempotent), then the batch row, the cursor and an audit event are written in
   one metadata transaction. A crash anywhere leaves the batch ``running``; the next run of the
   mount resumes it under the same id and completes it: nothing lost, nothing twice.

Every batch balances: read = written + quarantined, checked against the files actually written.
"""

# ruff: noqa: S608 - every identifier passes through sqlbits.ident and every value through lit() or a bound parameter

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry
from gongshu.cleanse import CleansePlan, plan_table
from gongshu.collect import drift
from gongshu.collect.connectors import Extracted, ExtractState, Reject, extract
from gongshu.collect.connectors.specs import FileSource, SourceSpec, SqlSource
from gongshu.collect.models import Batch, Mount
from gongshu.collect.mounts import bindings, get_mount, may_manage, spec_of
from gongshu.collect.specs import DeleteMode, DriftPolicy, MountSpec, schedule_interval
from gongshu.collect.sqlbits import ident, idents, lit
from gongshu.engine import connect
from gongshu.errors import Conflict, GongshuError, PermissionDenied, SchemaDrift
from gongshu.lake import Lake, TableRef, Zone, open_lake
from gongshu.orgs.roles import Principal
from gongshu.platform import Platform
from gongshu.security import audit
from gongshu.store.base import utcnow

Progress = Callable[[str], None]

#: The pipeline's own rules (the cleanser's rules are in gongshu/cleanse/data).
PK_DUPLICATE = "PK_DUPLICATE"
ROW_MALFORMED = "ROW_MALFORMED"
PIPELINE_RULES = {
    PK_DUPLICATE: ("主键重复：同一批次中已有相同主键的记录", "duplicate primary key within the batch"),
    ROW_MALFORMED: ("源数据行格式错误，无法解析", "the source line could not be parsed"),
}

#: Crash-injection points for the tests (``GONGSHU_CRASH_AT=after_raw_commit`` kills the process there).
CRASH_POINTS = (
    "after_extract",
    "after_stage",
    "after_raw_commit",
    "after_quarantine_commit",
    "after_resolved_commit",
    "after_standard_commit",
)

STANDARD_META = ["_batch_id", "_batch_seq", "_row", "_op", "_hash"]


@dataclass
class BatchResult:
    """What a finished batch did (also stored on its ``collect_batches`` row)."""

    batch_id: str
    mount: str
    seq: int
    resumed: bool
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_deleted: int = 0
    warnings: int = 0
    resolved: int = 0
    rule_counts: dict[str, int] = field(default_factory=dict)
    rules_applied: list[str] = field(default_factory=list)
    snapshots: dict[str, int | None] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    drift: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fingerprint: str | None = None
    checksum: str | None = None
    cursor_to: str | None = None

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_written + self.rows_quarantined


def run_mount(
    platform: Platform,
    actor: Principal,
    name: str,
    *,
    trigger: str = "manual",
    progress: Progress | None = None,
    lake: Lake | None = None,
    memory_limit: str = "3GB",
) -> BatchResult:
    """Run (or resume) one batch of mount ``name`` and commit it; returns its counts.

    Raises:
        Conflict: another process is running this mount right now.
        SchemaDrift: the source drifted and the mount's policy is ``stop`` (the batch is failed).
        SourceUnavailable: the source system did not answer (the batch stays resumable).
    """
    say = progress or (lambda _m: None)
    lake = lake or open_lake(platform.settings)
    work = platform.settings.data_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    with _mount_lock(work / f"{name}.lock", name):
        batch_id, resumed = _begin(platform, actor, name, trigger)
        say(f"batch {batch_id}{' (resumed)' if resumed else ''}")
        try:
            result = _run(platform, lake, name, batch_id, resumed, say, work, memory_limit)
        except SchemaDrift as error:
            _fail(platform, batch_id, error, drift_changes=error.changes)
            raise
        except GongshuError as error:
            if not error.transient:
                _fail(platform, batch_id, error)
            raise
        return result


def _run(
    platform: Platform,
    lake: Lake,
    name: str,
    batch_id: str,
    resumed: bool,
    say: Progress,
    work: Path,
    memory_limit: str,
) -> BatchResult:
    with platform.store.session() as session:
        batch = session.get(Batch, batch_id)
        assert batch is not None
        mount = batch.mount
        spec = spec_of(mount)
        entry = mount.entry
        plan = plan_table(bindings(spec, entry))
        seq, cursor_from = batch.seq, batch.cursor_from
        previous = _previous_batch(session, mount.id, seq)
    result = BatchResult(batch_id=batch_id, mount=name, seq=seq, resumed=resumed)
    refs = {zone: TableRef(zone, name) for zone in Zone}
    resolved_ref = TableRef(Zone.QUARANTINE, f"{name}__resolved")
    clock = _Clock(result.timings)

    # 1. extract (or re-use the committed raw files of a resumed batch)
    raw_dir = lake.data_dir(refs[Zone.RAW], batch_id)
    raw_committed = lake.exists(refs[Zone.RAW]) and lake.committed_batch(refs[Zone.RAW], batch_id) is not None
    with clock("extract"):
        if raw_committed:
            extracted = _load_extracted(work / batch_id)
            result.notes.append("resumed from the committed raw zone")
        else:
            shutil.rmtree(raw_dir, ignore_errors=True)
            raw_dir.mkdir(parents=True, exist_ok=True)
            say("extract 采集")
            extracted = extract(
                resolve_source(spec.source, platform.settings.data_dir),
                raw_dir,
                batch_id=batch_id,
                state=ExtractState(cursor_value=cursor_from),
            )
            _save_extracted(work / batch_id, extracted)
    _crash_point("after_extract")
    result.rows_read = extracted.rows_read
    result.fingerprint = extracted.fingerprint
    result.cursor_to = extracted.cursor_max or cursor_from
    result.notes.extend(extracted.notes)

    # 2. schema drift against the mount and the previous batch
    changes = drift.detect(
        spec, extracted, previous_columns=previous.get("columns"), previous_types=previous.get("types")
    )
    result.drift = [c.as_dict() for c in changes]
    effective = spec
    if changes:
        if spec.drift is DriftPolicy.STOP and any(c.blocking for c in changes):
            raise SchemaDrift(
                f"the source of {name} drifted: " + "; ".join(c.describe() for c in changes),
                changes=result.drift,
                hint="fix the source, or update the mount's columns, or set drift: evolve",
            )
        effective = drift.evolve(spec, changes)
        plan = plan_table(bindings(effective, entry))
        say(f"drift 模式漂移: {len(changes)} change(s), policy {spec.drift.value}")

    # 3-5. cleanse, quarantine, diff, resolve — into each zone's batch directory
    con = connect(memory_limit=memory_limit, temp_directory=work / batch_id / "spill")
    try:
        say("cleanse 清洗")
        staged = _Stage(con, lake, refs, resolved_ref, batch_id, seq, effective, plan, extracted, work)
        with clock("rules"):
            staged.prepare()
        result.rules_applied = staged.rules_applied
        with clock("quarantine"):
            staged.quarantine(result)
        with clock("standard"):
            staged.standard(result)
        with clock("resolve"):
            staged.resolve(result)
        if spec.drift is DriftPolicy.STOP:
            retyped = drift.retyped(
                result.rule_counts, result.rows_read - len(extracted.rejects), plan, previous
            )
            if retyped:
                result.drift.extend(c.as_dict() for c in retyped)
                raise SchemaDrift(
                    f"the source of {name} drifted: " + "; ".join(c.describe() for c in retyped),
                    changes=[c.as_dict() for c in retyped],
                )
        _crash_point("after_stage")
        _assert_balanced(result, staged)

        # 6. commit: raw → quarantine → resolutions → standard, each idempotent by batch id
        with clock("commit"):
            say("commit 提交快照")
            raw_schema = _raw_schema(extracted, raw_dir)
            lake.ensure_table(refs[Zone.RAW], raw_schema)
            result.snapshots["raw"] = _commit(lake, refs[Zone.RAW], raw_dir, batch_id, in_place=True)
            _crash_point("after_raw_commit")
            result.snapshots["quarantine"] = staged.commit_quarantine()
            _crash_point("after_quarantine_commit")
            result.snapshots["resolved"] = staged.commit_resolved()
            _crash_point("after_resolved_commit")
            result.snapshots["standard"] = staged.commit_standard()
            _crash_point("after_standard_commit")
        result.checksum = staged.checksum
    finally:
        con.close()
    _finish(platform, batch_id, result, extracted)
    shutil.rmtree(work / batch_id, ignore_errors=True)
    say(
        f"read {result.rows_read:,} = written {result.rows_written:,}"
        f" + quarantined {result.rows_quarantined:,}"
    )
    return result


class _Stage:
    """The DuckDB statements of one batch, writing each zone's files into its batch directory."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        lake: Lake,
        refs: dict[Zone, TableRef],
        resolved_ref: TableRef,
        batch_id: str,
        seq: int,
        spec: MountSpec,
        plan: CleansePlan,
        extracted: Extracted,
        work: Path,
    ) -> None:
        self.con, self.lake, self.refs, self.resolved_ref = con, lake, refs, resolved_ref
        self.batch_id, self.seq, self.spec, self.plan, self.extracted = batch_id, seq, spec, plan, extracted
        self.key = list(spec.key)
        self.columns = list(extracted.columns)
        # staged in the work directory; moved into the lake only when committed (see _commit)
        self.dirs = {zone: work / batch_id / zone for zone in ("quarantine", "standard", "resolved")}
        self.counts: dict[str, int] = {}
        self.checksum: str | None = None
        self.standard_schema: pa.Schema | None = None
        self.quarantine_schema: pa.Schema | None = None

    # -- inputs ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        """``raw_in``: the batch's raw rows with ``_row`` (their position across the batch's files)."""
        files = [f for f in self.extracted.files if Path(f).exists()]
        parts, offset = [], 0
        for path in files:
            rows = pq.ParquetFile(path).metadata.num_rows
            parts.append(
                f"SELECT *, file_row_number + {offset} AS _row FROM read_parquet({lit(str(path))}, "
                "file_row_number = true)"
            )
            offset += rows
        if not parts:  # an empty drop: no rows, but every column the plan reads
            sources = [b.source for b in self.plan.bindings if b.source and b.source not in self.columns]
            empty = ", ".join(
                f"CAST(NULL AS VARCHAR) AS {ident(c)}"
                for c in [*self.columns, *sources, "_batch_id", "_source"]
            )
            parts = [f"SELECT {empty}, CAST(NULL AS BIGINT) AS _row WHERE false"]
        self.con.execute("CREATE OR REPLACE TEMP VIEW raw_in AS " + " UNION ALL ".join(parts))
        self.raw_rows = offset
        self._evaluate()

    def _evaluate(self) -> None:
        """``std``: one pass standardising every 信息项 and flagging every check (``_c<i>``), materialised.

        The standardisation runs once per batch: the quarantine, the duplicate keys and the standard
        zone all read this table. Flags are computed in a projection, where DuckDB turns the large
        IN lists (known area codes) into hash joins (docs/cleanse.md), and filtered only afterwards.
        """
        failures = self.plan.failures()
        inner = self.plan.sql(self.plan.standardise("raw_in", keep=["_row"]), "duckdb")
        outputs = idents(self.plan.output_schema().names)
        flags = ", ".join(
            f"{self.plan.sql(expr, 'duckdb')} AS {ident(f'_c{i}')}" for i, (_c, expr) in enumerate(failures)
        )
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE std AS SELECT _row{', ' + outputs if outputs else ''}"
            f"{', ' + flags if flags else ''} FROM ({inner}) AS standardised"
        )
        any_flag = " OR ".join(ident(f"_c{i}") for i in range(len(failures))) or "false"
        flag_cols = ", ".join(ident(f"_c{i}") for i in range(len(failures)))
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE failed AS SELECT _row{', ' + flag_cols if flag_cols else ''} "
            f"FROM std WHERE {any_flag}"
        )
        # duplicates of the primary key inside the batch: every occurrence after the first
        if self.key:
            key_cols = idents(self.key)
            self.con.execute(
                f"""CREATE OR REPLACE TEMP TABLE dup AS
                WITH firsts AS (SELECT {key_cols}, min(_row) AS _first FROM std
                                WHERE {" AND ".join(f"{ident(k)} IS NOT NULL" for k in self.key)}
                                GROUP BY ALL HAVING count(*) > 1)
                SELECT s._row FROM std s JOIN firsts f USING ({key_cols}) WHERE s._row <> f._first"""
            )
        else:
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE dup AS SELECT CAST(NULL AS BIGINT) AS _row WHERE false"
            )
        blocking = [i for i, (check, _e) in enumerate(failures) if check.severity == "blocking"]
        block_expr = " OR ".join(ident(f"_c{i}") for i in blocking) or "false"
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE bad AS
            SELECT _row FROM failed WHERE {block_expr} UNION SELECT _row FROM dup"""
        )
        self.failures = failures
        self.blocking = blocking
        self.rules_applied = sorted(
            {c.rule_id for c, _e in failures} | ({PK_DUPLICATE} if self.key else set())
        )

    # -- quarantine -----------------------------------------------------------------------------
    def quarantine(self, result: BatchResult) -> None:
        """Rows failing a blocking rule, duplicates and malformed lines, with their original values."""
        pieces = []
        for i, (check, _expr) in enumerate(self.failures):
            if check.severity != "blocking":
                continue
            doc = json.dumps(
                {"rule": check.rule_id, "column": check.column, "reason": check.message_zh},
                ensure_ascii=False,
            )
            pieces.append(f"CASE WHEN f.{ident(f'_c{i}')} THEN {lit(doc)} END")
        dup_doc = json.dumps(
            {"rule": PK_DUPLICATE, "column": ",".join(self.key), "reason": PIPELINE_RULES[PK_DUPLICATE][0]},
            ensure_ascii=False,
        )
        pieces.append(f"CASE WHEN d._row IS NOT NULL THEN {lit(dup_doc)} END")
        problems = "'[' || concat_ws(',', " + ", ".join(pieces) + ") || ']'"
        key_expr = self._key_text("s")
        raw_cols = ", ".join(f"r.{ident(c)}" for c in self.columns)
        out = self.dirs["quarantine"]
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        target = out / "quarantine-0.parquet"
        self.con.execute(
            f"""COPY (
              SELECT {lit(self.batch_id)} AS _batch_id, r._source AS _source, b._row AS _row,
                     CAST(NULL AS BIGINT) AS _line, {key_expr} AS _record_key, {problems} AS _problems,
                     CAST(NULL AS VARCHAR) AS _raw_text{", " + raw_cols if raw_cols else ""}
              FROM bad b JOIN raw_in r ON r._row = b._row JOIN std s ON s._row = b._row
              LEFT JOIN failed f ON f._row = b._row LEFT JOIN dup d ON d._row = b._row
              ORDER BY b._row
            ) TO {lit(str(target))} (FORMAT parquet)"""
        )
        quarantined = pq.ParquetFile(target).metadata.num_rows
        rejects = self.extracted.rejects
        if rejects:
            self._write_rejects(out / "quarantine-rejects.parquet", rejects, pq.read_schema(target))
        self.quarantine_schema = pq.read_schema(target)
        result.rows_quarantined = quarantined + len(rejects)
        self.counts["quarantine_rows"] = quarantined + len(rejects)
        # per-rule counts (blocking and warning), over all rows that failed anything
        sums = ", ".join(f"count_if({ident(f'_c{i}')})" for i in range(len(self.failures)))
        row = self.con.execute(f"SELECT {sums} FROM failed").fetchone() if sums else ()
        counts: dict[str, int] = {}
        for (check, _e), value in zip(self.failures, row or (), strict=False):
            label = f"{check.rule_id}:{check.column}"
            counts[label] = counts.get(label, 0) + int(value or 0)
        dup_count = self.con.execute("SELECT count(*) FROM dup").fetchone()
        if dup_count and dup_count[0]:
            counts[f"{PK_DUPLICATE}:{','.join(self.key)}"] = int(dup_count[0])
        if rejects:
            counts[f"{ROW_MALFORMED}:*"] = len(rejects)
        result.rule_counts = {k: v for k, v in counts.items() if v}
        warn = [ident(f"_c{i}") for i, (c, _e) in enumerate(self.failures) if c.severity == "warning"]
        if warn:
            found = self.con.execute(f"SELECT count(*) FROM failed WHERE {' OR '.join(warn)}").fetchone()
            result.warnings = int(found[0]) if found else 0

    def _write_rejects(self, path: Path, rejects: list[Reject], schema: pa.Schema) -> None:
        problem = json.dumps(
            {"rule": ROW_MALFORMED, "column": "*", "reason": PIPELINE_RULES[ROW_MALFORMED][0]},
            ensure_ascii=False,
        )
        columns: dict[str, list[Any]] = {name: [None] * len(rejects) for name in schema.names}
        columns["_batch_id"] = [self.batch_id] * len(rejects)
        columns["_source"] = [r.source for r in rejects]
        columns["_line"] = [r.line for r in rejects]
        columns["_problems"] = [
            "[" + problem[:-1] + ", " + json.dumps({"detail": r.reason_zh}, ensure_ascii=False)[1:] + "]"
            for r in rejects
        ]
        columns["_raw_text"] = [r.raw for r in rejects]
        pq.write_table(pa.table(columns, schema=schema), path)

    # -- standard -------------------------------------------------------------------------------
    def standard(self, result: BatchResult) -> None:
        """Accepted rows, diffed against the state before this batch; only changes are appended."""
        names = list(self.plan.output_schema().names)  # 信息项, then derived columns (e.g. address__district)
        cols = idents(names)
        hash_expr = (
            f"CAST(hash({', '.join(f'n.{ident(n)}' for n in names)}) >> 1 AS BIGINT)" if names else "0"
        )
        self.con.execute(
            f"""CREATE OR REPLACE TEMP VIEW accepted AS
            SELECT {cols}{", " if cols else ""}_row FROM std WHERE _row NOT IN (SELECT _row FROM bad)"""
        )
        accepted = self._count("SELECT count(*) FROM accepted")
        result.rows_written = accepted
        ref = self.refs[Zone.STANDARD]
        has_prior = self.lake.exists(ref) and self._prior_state()
        delete_when = "false"
        if self.spec.deletes.mode is DeleteMode.SOFT and self.spec.deletes.column:
            values = ", ".join(lit(v) for v in self.spec.deletes.values)
            delete_when = f"CAST(n.{ident(self.spec.deletes.column)} AS VARCHAR) IN ({values})"
        out = self.dirs["standard"]
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        select_new = (
            f"SELECT n.* EXCLUDE (_row), {lit(self.batch_id)} AS _batch_id, "
            f"CAST({self.seq} AS BIGINT) AS _batch_seq, "
            f"n._row AS _row, CASE WHEN {delete_when} THEN 'D' ELSE {{op}} END AS _op, {hash_expr} AS _hash "
            "FROM accepted n"
        )
        statements = []
        if self.key and has_prior:
            join = " AND ".join(f"c.{ident(k)} = n.{ident(k)}" for k in self.key)
            statements.append(
                select_new.format(op="CASE WHEN c._hash IS NULL THEN 'I' ELSE 'U' END")
                + f" LEFT JOIN prior c ON {join} WHERE c._hash IS DISTINCT FROM {hash_expr}"
            )
            if self.spec.deletes.mode is DeleteMode.SNAPSHOT:
                anti = " AND ".join(f"a.{ident(k)} = c.{ident(k)}" for k in self.key)
                nulls = ", ".join(
                    f"c.{ident(n)}" if n in self.key else f"CAST(NULL AS {self._duck_type(n)}) AS {ident(n)}"
                    for n in names
                )
                statements.append(
                    f"SELECT {nulls}, {lit(self.batch_id)}, CAST({self.seq} AS BIGINT), "
                    "CAST(NULL AS BIGINT), 'D', CAST(NULL AS BIGINT) FROM prior c "
                    f"WHERE NOT EXISTS (SELECT 1 FROM accepted a WHERE {anti})"
                )
        else:
            statements.append(select_new.format(op="'I'"))
        target = out / "standard-0.parquet"
        self.con.execute(f"COPY ({' UNION ALL '.join(statements)}) TO {lit(str(target))} (FORMAT parquet)")
        stats = self.con.execute(
            f"SELECT coalesce(count_if(_op = 'I'), 0), coalesce(count_if(_op = 'U'), 0), "
            f"coalesce(count_if(_op = 'D'), 0), count(*), coalesce(bit_xor(_hash), 0) "
            f"FROM read_parquet({lit(str(target))})"
        ).fetchone()
        assert stats is not None
        result.rows_inserted, result.rows_updated, result.rows_deleted = (
            int(stats[0]),
            int(stats[1]),
            int(stats[2]),
        )
        appended_from_accepted = self._count(
            f"SELECT count(*) FROM read_parquet({lit(str(target))}) WHERE _row IS NOT NULL"
        )
        result.rows_unchanged = accepted - appended_from_accepted
        self.counts["standard_rows"] = int(stats[3])
        self.counts["accepted"] = accepted
        self.checksum = hashlib.sha256(f"{stats[3]}:{stats[4]}".encode()).hexdigest()
        self.standard_schema = pq.read_schema(target)

    def _prior_state(self) -> bool:
        """``prior``: the current state before this batch (latest row per key, deletes dropped)."""
        ref = self.refs[Zone.STANDARD]
        self.lake.view(self.con, ref, "standard_all")
        if not self.key:
            return False
        keys = idents(self.key)
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE prior AS
            SELECT * FROM standard_all WHERE _batch_id <> {lit(self.batch_id)}
            QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY _batch_seq DESC, _row DESC NULLS LAST) = 1
              AND _op <> 'D'"""
        )
        return self._count("SELECT count(*) FROM prior") > 0

    def _duck_type(self, name: str) -> str:
        found = self.con.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'std' AND column_name = ?",
            [name],
        ).fetchone()
        return str(found[0]) if found else "VARCHAR"

    # -- resolutions ----------------------------------------------------------------------------
    def resolve(self, result: BatchResult) -> None:
        """Open quarantine entries of earlier batches whose key arrived clean in this batch."""
        out = self.dirs["resolved"]
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        self.resolved_file: Path | None = None
        qref = self.refs[Zone.QUARANTINE]
        if not self.key or not self.lake.exists(qref):
            return
        self.lake.view(self.con, qref, "quarantine_all")
        if self.lake.exists(self.resolved_ref):
            self.lake.view(self.con, self.resolved_ref, "resolved_all")
            already = (
                "AND NOT EXISTS (SELECT 1 FROM resolved_all r WHERE r._batch_id = q._batch_id "
                "AND r._entry = coalesce(q._row, -q._line) "
                f"AND r.resolved_by <> {lit(self.batch_id)})"
            )
        else:
            already = ""
        key_text = self._key_text("a")
        target = out / "resolved-0.parquet"
        self.con.execute(
            f"""COPY (
              SELECT q._batch_id, coalesce(q._row, -q._line) AS _entry, q._record_key,
                     {lit(self.batch_id)} AS resolved_by, now()::TIMESTAMP AS resolved_at
              FROM quarantine_all q
              WHERE q._batch_id <> {lit(self.batch_id)} AND q._record_key IS NOT NULL {already}
                AND q._record_key IN (SELECT {key_text} FROM accepted a)
            ) TO {lit(str(target))} (FORMAT parquet)"""
        )
        result.resolved = pq.ParquetFile(target).metadata.num_rows
        self.resolved_file = target

    # -- commits --------------------------------------------------------------------------------
    def commit_quarantine(self) -> int | None:
        assert self.quarantine_schema is not None
        self.lake.ensure_table(self.refs[Zone.QUARANTINE], self.quarantine_schema)
        return _commit(self.lake, self.refs[Zone.QUARANTINE], self.dirs["quarantine"], self.batch_id)

    def commit_resolved(self) -> int | None:
        if self.resolved_file is None:
            return None
        self.lake.ensure_table(self.resolved_ref, pq.read_schema(self.resolved_file))
        return _commit(self.lake, self.resolved_ref, self.dirs["resolved"], self.batch_id)

    def commit_standard(self) -> int | None:
        assert self.standard_schema is not None
        self.lake.ensure_table(self.refs[Zone.STANDARD], self.standard_schema)
        return _commit(self.lake, self.refs[Zone.STANDARD], self.dirs["standard"], self.batch_id)

    # -- helpers --------------------------------------------------------------------------------
    def _key_text(self, alias: str) -> str:
        if not self.key:
            return "CAST(NULL AS VARCHAR)"
        parts = ", ".join(f"CAST({alias}.{ident(k)} AS VARCHAR)" for k in self.key)
        return f"concat_ws('|', {parts})" if len(self.key) > 1 else parts

    def _count(self, sql: str) -> int:
        row = self.con.execute(sql).fetchone()
        return int(row[0]) if row else 0


def resolve_source(source: SourceSpec, data_dir: Path) -> SourceSpec:
    """Relative drop-zone paths and relative SQLite URLs are relative to the data directory."""
    if isinstance(source, FileSource) and not Path(source.path).is_absolute():
        return source.model_copy(update={"path": str((data_dir / source.path).resolve())})
    if (
        isinstance(source, SqlSource)
        and source.url.startswith("sqlite:///")
        and not source.url.startswith("sqlite:////")
    ):
        relative = source.url.removeprefix("sqlite:///")
        return source.model_copy(update={"url": f"sqlite:///{(data_dir / relative).resolve()}"})
    return source


def _commit(lake: Lake, ref: TableRef, folder: Path, batch_id: str, *, in_place: bool = False) -> int | None:
    """Commit the batch's files of one table once: a table that already holds the batch is left alone.

    Staged files are moved into the table's batch directory first (a rename); files left there by
    an attempt that died before its commit are invisible to readers and are replaced.
    """
    done = lake.committed_batch(ref, batch_id)
    if done is not None:
        return done.snapshot_id
    files = sorted(p for p in folder.glob("*.parquet") if pq.ParquetFile(p).metadata.num_rows > 0)
    if not in_place:
        target = lake.data_dir(ref, batch_id)
        for stale in target.glob("*.parquet"):
            stale.unlink()
        moved = []
        for path in files:
            destination = target / path.name
            path.replace(destination)
            moved.append(destination)
        files = moved
    info = lake.commit_files(ref, files, batch_id=batch_id)
    return info.snapshot_id if info is not None else None


def _assert_balanced(result: BatchResult, staged: _Stage) -> None:
    """read = written + quarantined, checked against the rows actually staged (never assumed)."""
    raw_rows = staged.raw_rows
    rejects = len(staged.extracted.rejects)
    if raw_rows + rejects != result.rows_read:
        raise GongshuError(
            f"batch {result.batch_id} does not balance: the connector read {result.rows_read} records "
            f"but wrote {raw_rows} raw rows and {rejects} rejects"
        )
    if not result.balanced:
        raise GongshuError(
            f"batch {result.batch_id} does not balance: read {result.rows_read} ≠ written "
            f"{result.rows_written} + quarantined {result.rows_quarantined}"
        )


def _raw_schema(extracted: Extracted, raw_dir: Path) -> pa.Schema:
    files = sorted(raw_dir.glob("*.parquet"))
    if files:
        return pq.read_schema(files[0])
    return pa.schema([(c, pa.string()) for c in [*extracted.columns, "_batch_id", "_source"]])


# -- the batch row --------------------------------------------------------------------------------


def _begin(platform: Platform, actor: Principal, name: str, trigger: str) -> tuple[str, bool]:
    """Resume the mount's unfinished batch, or start the next one; committed before any work."""
    with platform.store.session() as session:
        mount = get_mount(session, actor, name)
        if not may_manage(actor, mount.organisation_id):
            raise PermissionDenied(f"running {name} is granted to its department's stewards and operators")
        running = session.scalar(
            sa.select(Batch).where(Batch.mount_id == mount.id, Batch.state == "running").order_by(Batch.seq)
        )
        if running is not None:
            running.attempts += 1
            audit.record(
                session, actor=actor.name, action="batch.resume", object_type="batch", object_id=running.id
            )
            return running.id, True
        last = session.scalar(sa.select(sa.func.max(Batch.seq)).where(Batch.mount_id == mount.id)) or 0
        seq = last + 1
        batch_id = f"{name}-{seq:06d}-{secrets.token_hex(3)}"
        session.add(
            Batch(
                id=batch_id,
                mount_id=mount.id,
                seq=seq,
                state="running",
                trigger=trigger,
                started_by=actor.name,
                mount_version=mount.version,
                cursor_from=mount.cursor_value,
            )
        )
        audit.record(
            session,
            actor=actor.name,
            action="batch.start",
            object_type="batch",
            object_id=batch_id,
            detail={"mount": name, "trigger": trigger},
        )
        return batch_id, False


def _finish(platform: Platform, batch_id: str, result: BatchResult, extracted: Extracted) -> None:
    with platform.store.session() as session:
        batch = session.get(Batch, batch_id)
        assert batch is not None
        for name in (
            "rows_read", "rows_written", "rows_quarantined", "rows_inserted", "rows_updated",
            "rows_unchanged", "rows_deleted", "warnings", "resolved", "fingerprint", "checksum",
            "cursor_to", "snapshots", "timings", "rule_counts", "drift", "notes",
        ):  # fmt: skip
            setattr(batch, name, getattr(result, name))
        batch.sources = [{"name": s} for s in extracted.sources] + [
            {"columns": extracted.columns, "types": extracted.source_types}
        ]
        batch.state = "committed"
        batch.finished_at = utcnow()
        mount = batch.mount
        if result.cursor_to is not None:
            mount.cursor_value = result.cursor_to
        interval = schedule_interval(spec_of(mount).schedule, mount.entry.update_cycle)
        mount.next_due_at = utcnow() + interval if interval else None
        audit.record(
            session,
            actor=batch.started_by,
            action="batch.commit",
            object_type="batch",
            object_id=batch_id,
            detail={
                "mount": mount.name,
                "read": result.rows_read,
                "written": result.rows_written,
                "quarantined": result.rows_quarantined,
                "snapshots": result.snapshots,
                "drift": len(result.drift),
            },
        )


def _fail(
    platform: Platform, batch_id: str, error: GongshuError, drift_changes: list[Any] | None = None
) -> None:
    with platform.store.session() as session:
        batch = session.get(Batch, batch_id)
        if batch is None or batch.state != "running":
            return
        batch.state = "failed"
        batch.finished_at = utcnow()
        batch.error = f"{error.code}: {error.message}"
        if drift_changes:
            batch.drift = drift_changes
        audit.record(
            session,
            actor=batch.started_by,
            action="batch.fail",
            object_type="batch",
            object_id=batch_id,
            detail={"code": error.code},
        )


def _previous_batch(session: Session, mount_id: int, seq: int) -> dict[str, Any]:
    """Columns, types and rule counts of the mount's last committed batch (for drift detection)."""
    batch = session.scalar(
        sa.select(Batch)
        .where(Batch.mount_id == mount_id, Batch.state == "committed", Batch.seq < seq)
        .order_by(Batch.seq.desc())
    )
    if batch is None:
        return {}
    info: dict[str, Any] = {"rule_counts": batch.rule_counts, "rows": batch.rows_read - 0}
    for source in batch.sources or []:
        if "columns" in source:
            info["columns"] = source["columns"]
            info["types"] = source.get("types", {})
    return info


# -- persistence of the extraction (so a resumed batch re-uses exactly the committed raw input) -----


def _save_extracted(folder: Path, extracted: Extracted) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "files": [str(f) for f in extracted.files],
        "columns": extracted.columns,
        "source_types": extracted.source_types,
        "rows_read": extracted.rows_read,
        "rows_written": extracted.rows_written,
        "rejects": [r.__dict__ for r in extracted.rejects],
        "fingerprint": extracted.fingerprint,
        "cursor_max": extracted.cursor_max,
        "sources": extracted.sources,
        "notes": extracted.notes,
    }
    temp = folder / "extracted.json.tmp"
    temp.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    temp.replace(folder / "extracted.json")


def _load_extracted(folder: Path) -> Extracted:
    path = folder / "extracted.json"
    if not path.exists():
        raise GongshuError(
            f"the raw zone of this batch is committed but its extraction record {path} is missing",
            hint="the work directory was removed; start a new batch with `gongshu collect run --new`",
        )
    doc = json.loads(path.read_text(encoding="utf-8"))
    return Extracted(
        files=[Path(f) for f in doc["files"]],
        columns=doc["columns"],
        source_types=doc["source_types"],
        rows_read=doc["rows_read"],
        rows_written=doc["rows_written"],
        rejects=[Reject(**r) for r in doc["rejects"]],
        fingerprint=doc["fingerprint"],
        cursor_max=doc["cursor_max"],
        sources=doc["sources"],
        notes=doc["notes"],
    )


# -- process-level helpers ----------------------------------------------------------------------


@contextlib.contextmanager
def _mount_lock(path: Path, name: str) -> Iterator[None]:
    """One running batch per mount across processes; the OS releases the lock if we are killed."""
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(f"a batch of {name} is running in another process", hint="wait for it") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _crash_point(point: str) -> None:
    """Test hook: ``GONGSHU_CRASH_AT=<point>`` kills the process here as ``kill -9`` would."""
    if os.environ.get("GONGSHU_CRASH_AT") == point:
        os._exit(137)


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    @contextlib.contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = round(self.timings.get(step, 0.0) + time.perf_counter() - started, 3)


def now_utc() -> datetime:
    return datetime.now(UTC)


def entry_of(session: Session, mount: Mount) -> CatalogEntry:
    return mount.entry
