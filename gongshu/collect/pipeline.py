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

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.cleanse import plan_table
from gongshu.collect import drift
from gongshu.collect.connectors import Extracted, ExtractState, Reject, extract
from gongshu.collect.connectors.specs import FileSource, SourceSpec, SqlSource
from gongshu.collect.models import Batch
from gongshu.collect.mounts import bindings, get_mount, may_manage, spec_of
from gongshu.collect.specs import DriftPolicy, schedule_interval
from gongshu.collect.stage import (
    PIPELINE_RULES,
    PK_DUPLICATE,
    ROW_MALFORMED,
    BatchResult,
    Stage,
    commit_staged,
)
from gongshu.engine import connect
from gongshu.errors import Conflict, GongshuError, PermissionDenied, SchemaDrift
from gongshu.lake import Lake, TableRef, Zone, open_lake
from gongshu.orgs.roles import Principal
from gongshu.platform import Platform
from gongshu.security import audit
from gongshu.store.base import utcnow

Progress = Callable[[str], None]

__all__ = [
    "CRASH_POINTS",
    "PIPELINE_RULES",
    "PK_DUPLICATE",
    "ROW_MALFORMED",
    "BatchResult",
    "resolve_source",
    "run_mount",
]

#: Crash-injection points for the tests (``GONGSHU_CRASH_AT=after_raw_commit`` kills the process there).
CRASH_POINTS = (
    "after_extract",
    "after_stage",
    "after_raw_commit",
    "after_quarantine_commit",
    "after_resolved_commit",
    "after_standard_commit",
)


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
    _audit(platform, actor, batch_id, result, say, lake, memory_limit)
    from gongshu.share.returns import deliver_subscribed  # share builds on collect, not the reverse

    try:  # subscribed deliveries (订阅推送): like the audit, they never fail the committed batch
        deliver_subscribed(platform, name, notes=result.notes)
    except GongshuError as error:
        result.notes.append(f"subscribed deliveries 订阅推送: {error.code}: {error.message}")
    from gongshu.open.publish import publish_after_batch  # open builds on collect, not the reverse

    try:  # the open portal's publication (开放发布): a failure is a note, never fails the batch
        publish_after_batch(platform, name, result.notes)
    except GongshuError as error:
        result.notes.append(f"open publication 开放发布: {error.code}: {error.message}")
    return result


def _audit(
    platform: Platform,
    actor: Principal,
    batch_id: str,
    result: BatchResult,
    say: Progress,
    lake: Lake,
    memory_limit: str,
) -> None:
    """Audit the committed batch (稽核): its quality run, scores and the re-check of open tickets.

    The batch is committed whatever happens here; an audit that fails is recorded on the result
    and can be run again with ``gongshu quality run``.
    """
    from gongshu.quality.audit import audit_batch  # quality builds on collect, not the reverse

    say("audit 稽核")
    try:
        summary = audit_batch(platform, actor, batch_id, lake=lake, memory_limit=memory_limit)
    except GongshuError as error:
        result.audit_error = f"{error.code}: {error.message}"
        return
    result.quality_score = summary.score


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
    raw_committed = lake.committed_batch(refs[Zone.RAW], batch_id) is not None
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
        if spec.drift is DriftPolicy.STOP:
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
        staged = Stage(con, lake, refs, resolved_ref, batch_id, seq, effective, plan, extracted, work)
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
            result.snapshots["raw"] = commit_staged(lake, refs[Zone.RAW], raw_dir, batch_id, in_place=True)
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


def _assert_balanced(result: BatchResult, staged: Stage) -> None:
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
        batch.sources = list(extracted.sources)
        batch.source_schema = {"columns": extracted.columns, "types": extracted.source_types}
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
    return {
        "rule_counts": batch.rule_counts,
        "rows": batch.rows_read,
        "columns": batch.source_schema.get("columns"),
        "types": batch.source_schema.get("types", {}),
    }


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
