"""The DuckDB statements of one batch (批次的计算): standardise and check once, then quarantine,
the standard zone's change log and the resolutions, each staged in the work directory and committed
to the lake once (ADR 0006). ``gongshu.collect.pipeline`` orchestrates them.
"""

# ruff: noqa: S608 - every identifier passes through sqlbits.ident and every value through lit() or a bound parameter

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from gongshu.cleanse import CleansePlan
from gongshu.collect.connectors import Extracted, Reject
from gongshu.collect.specs import DeleteMode, MountSpec
from gongshu.collect.sqlbits import ident, idents, lit
from gongshu.lake import Lake, TableRef, Zone

#: The pipeline's own rules (the cleanser's rules are in gongshu/cleanse/data).
PK_DUPLICATE = "PK_DUPLICATE"
ROW_MALFORMED = "ROW_MALFORMED"
PIPELINE_RULES = {
    PK_DUPLICATE: ("主键重复：同一批次中已有相同主键的记录", "duplicate primary key within the batch"),
    ROW_MALFORMED: ("源数据行格式错误，无法解析", "the source line could not be parsed"),
}


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
    quality_score: float | None = None  # the audit run's score (稽核得分), when the audit ran
    audit_error: str | None = None  # why the audit did not run (the batch itself is committed)

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_written + self.rows_quarantined

    def document(self) -> dict[str, Any]:
        """The run as JSON (CLI ``--json``, the API, the pages' twins), with ``balanced``."""
        return asdict(self) | {"balanced": self.balanced}


class Stage:
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
        self.checksum: str | None = None
        self.standard_schema: pa.Schema | None = None
        self.quarantine_schema: pa.Schema | None = None

    # -- inputs ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        """``raw_in``: the batch's raw rows with ``_row`` (their position across the batch's files)."""
        files = [Path(f) for f in self.extracted.files if Path(f).exists()]
        if files:
            self.raw_rows = raw_view(self.con, files)
        else:  # an empty drop: no rows, but every column the plan reads
            sources = [b.source for b in self.plan.bindings if b.source and b.source not in self.columns]
            empty = ", ".join(
                f"CAST(NULL AS VARCHAR) AS {ident(c)}"
                for c in [*self.columns, *sources, "_batch_id", "_source"]
            )
            self.con.execute(
                f"CREATE OR REPLACE TEMP VIEW raw_in AS "
                f"SELECT {empty}, CAST(NULL AS BIGINT) AS _row WHERE false"
            )
            self.raw_rows = 0
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
        self.quarantine_schema = pq.read_schema(target)
        rejects = self.extracted.rejects
        if rejects:
            self._write_rejects(out / "quarantine-rejects.parquet", rejects, self.quarantine_schema)
        result.rows_quarantined = quarantined + len(rejects)
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
        problem = {"rule": ROW_MALFORMED, "column": "*", "reason": PIPELINE_RULES[ROW_MALFORMED][0]}
        columns: dict[str, list[Any]] = {name: [None] * len(rejects) for name in schema.names}
        columns["_batch_id"] = [self.batch_id] * len(rejects)
        columns["_source"] = [r.source for r in rejects]
        columns["_line"] = [r.line for r in rejects]
        columns["_problems"] = [
            json.dumps([problem | {"detail": r.reason_zh}], ensure_ascii=False) for r in rejects
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
                types = dict(
                    self.con.execute("SELECT column_name, column_type FROM (DESCRIBE std)").fetchall()
                )
                # a delete marker carries its key; every other column is an empty value of its type
                nulls = ", ".join(
                    f"c.{ident(n)}" if n in self.key else f"CAST(NULL AS {types[n]})" for n in names
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
            f"coalesce(count_if(_op = 'D'), 0), coalesce(count_if(_row IS NOT NULL), 0), count(*), "
            f"coalesce(bit_xor(_hash), 0) FROM read_parquet({lit(str(target))})"
        ).fetchone()
        assert stats is not None
        inserted, updated, deleted, from_accepted, rows, digest = (int(v) for v in stats)
        result.rows_inserted, result.rows_updated, result.rows_deleted = inserted, updated, deleted
        result.rows_unchanged = accepted - from_accepted  # accepted rows not appended: no change
        self.checksum = hashlib.sha256(f"{rows}:{digest}".encode()).hexdigest()
        self.standard_schema = pq.read_schema(target)

    def _prior_state(self) -> bool:
        """``prior``: the current state before this batch (latest row per key, deletes dropped)."""
        ref = self.refs[Zone.STANDARD]
        self.lake.view(self.con, ref, "standard_all")
        if not self.key:
            return False
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE prior AS "
            + current_state_sql("standard_all", self.key, exclude_batch=self.batch_id)
        )
        return self._count("SELECT count(*) FROM prior") > 0

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
        return commit_staged(self.lake, self.refs[Zone.QUARANTINE], self.dirs["quarantine"], self.batch_id)

    def commit_resolved(self) -> int | None:
        if self.resolved_file is None:
            return None
        self.lake.ensure_table(self.resolved_ref, pq.read_schema(self.resolved_file))
        return commit_staged(self.lake, self.resolved_ref, self.dirs["resolved"], self.batch_id)

    def commit_standard(self) -> int | None:
        assert self.standard_schema is not None
        self.lake.ensure_table(self.refs[Zone.STANDARD], self.standard_schema)
        return commit_staged(self.lake, self.refs[Zone.STANDARD], self.dirs["standard"], self.batch_id)

    # -- helpers --------------------------------------------------------------------------------
    def _key_text(self, alias: str) -> str:
        if not self.key:
            return "CAST(NULL AS VARCHAR)"
        parts = ", ".join(f"CAST({alias}.{ident(k)} AS VARCHAR)" for k in self.key)
        return f"concat_ws('|', {parts})" if len(self.key) > 1 else parts

    def _count(self, sql: str) -> int:
        row = self.con.execute(sql).fetchone()
        return int(row[0]) if row else 0


def raw_view(con: duckdb.DuckDBPyConnection, files: Sequence[Path], name: str = "raw_in") -> int:
    """View ``name`` over a batch's raw Parquet files with ``_row``, each row's position across them.

    The collect stage and the audit both number rows this way, so a problem's row position means the
    same row everywhere. Returns the number of rows.
    """
    parts, offset = [], 0
    for path in files:
        parts.append(
            f"SELECT *, file_row_number + {offset} AS _row FROM read_parquet({lit(str(path))}, "
            "file_row_number = true)"
        )
        offset += pq.ParquetFile(path).metadata.num_rows
    con.execute(f"CREATE OR REPLACE TEMP VIEW {ident(name)} AS " + " UNION ALL BY NAME ".join(parts))
    return offset


def current_state_sql(change_log: str, key: Sequence[str], *, exclude_batch: str | None = None) -> str:
    """``SELECT`` a standard change log's current state: each key's latest row, deletions dropped.

    Without a key every row not marked deleted counts. ``exclude_batch`` leaves one batch out (the
    state before it).
    """
    where = f"WHERE _batch_id <> {lit(exclude_batch)}" if exclude_batch is not None else ""
    if not key:
        return f"SELECT * FROM {ident(change_log)} {where or 'WHERE true'} AND _op <> 'D'"
    return (
        f"SELECT * FROM {ident(change_log)} {where} QUALIFY row_number() OVER (PARTITION BY {idents(key)} "
        "ORDER BY _batch_seq DESC, _row DESC NULLS LAST) = 1 AND _op <> 'D'"
    )


def commit_staged(
    lake: Lake, ref: TableRef, folder: Path, batch_id: str, *, in_place: bool = False
) -> int | None:
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
