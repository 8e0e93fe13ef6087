"""Snapshots (快照) of a table: the history, batches found by id, and time travel."""

from __future__ import annotations

from datetime import UTC, datetime

from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot, ancestors_of

from gongshu.errors import NotFound, ValidationFailed
from gongshu.lake.specs import BATCH_ID_PROPERTY, SnapshotInfo


def snapshot_info(snapshot: Snapshot) -> SnapshotInfo:
    """The gongshu view of an Iceberg snapshot."""
    summary: dict[str, str] = {}
    if snapshot.summary is not None:
        summary = {key: str(value) for key, value in snapshot.summary.model_dump().items()}
    return SnapshotInfo(
        snapshot_id=snapshot.snapshot_id,
        parent_id=snapshot.parent_snapshot_id,
        committed_at=datetime.fromtimestamp(snapshot.timestamp_ms / 1000, tz=UTC),
        operation=summary.get("operation", "append"),
        batch_id=summary.get(BATCH_ID_PROPERTY),
        added_records=int(summary.get("added-records", 0)),
        added_files=int(summary.get("added-data-files", 0)),
        total_records=int(summary.get("total-records", 0)),
        summary=summary,
    )


def lineage(table: Table) -> list[Snapshot]:
    """The snapshots of the table's main branch, oldest first (what time travel can reach)."""
    return list(reversed(list(ancestors_of(table.current_snapshot(), table.metadata))))


def find_batch(table: Table, batch_id: str) -> Snapshot | None:
    """The snapshot that committed ``batch_id``, if any."""
    for snapshot in table.metadata.snapshots:
        if snapshot.summary is not None and snapshot.summary[BATCH_ID_PROPERTY] == batch_id:
            return snapshot
    return None


def resolve(
    table: Table, name: str, *, snapshot_id: int | None = None, as_of: datetime | None = None
) -> Snapshot | None:
    """The snapshot asked for: by id, the one current at ``as_of``, else the current one.

    ``None`` means the table has no snapshot yet (nothing was ever committed).

    Raises:
        ValidationFailed: both ``snapshot_id`` and ``as_of`` are given, or ``as_of`` is naive.
        NotFound: no snapshot has that id, or ``as_of`` is before the table's first snapshot.
    """
    if snapshot_id is not None and as_of is not None:
        raise ValidationFailed({"snapshot": ["give a snapshot id or a time (as of), not both"]})
    if snapshot_id is not None:
        snapshot = table.snapshot_by_id(snapshot_id)
        if snapshot is None:
            raise NotFound(
                f"{name} has no snapshot {snapshot_id}",
                hint=f"list its snapshots with `gongshu lake history {name}`",
                value=snapshot_id,
            )
        return snapshot
    if as_of is not None:
        return _current_at(table, name, as_of)
    return table.current_snapshot()


def _current_at(table: Table, name: str, as_of: datetime) -> Snapshot | None:
    if as_of.tzinfo is None:
        raise ValidationFailed({"as_of": [f"{as_of.isoformat()} has no time zone; give one (e.g. +08:00)"]})
    snapshots = lineage(table)
    if not snapshots:
        return None
    as_of_ms = as_of.timestamp() * 1000
    found = [snapshot for snapshot in snapshots if snapshot.timestamp_ms <= as_of_ms]
    if not found:
        first = snapshot_info(snapshots[0]).committed_at
        raise NotFound(
            f"{name} had no snapshot yet at {as_of.isoformat()}; the first is of {first.isoformat()}",
            hint="pick a later time or a snapshot id from the history",
            value=as_of.isoformat(),
        )
    return found[-1]
