"""Reading batches (批次) and mounts as documents, and running the mounts that are due (调度).

The same documents feed the CLI (``--json``), the API and the pages' JSON twins.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.collect.connectors.envvars import mask_url
from gongshu.collect.models import Batch, Mount
from gongshu.collect.mounts import list_mounts, may_see, spec_of
from gongshu.collect.specs import schedule_interval
from gongshu.errors import GongshuError, NotFound
from gongshu.orgs.roles import Principal
from gongshu.platform import Platform
from gongshu.store.base import utcnow


def list_batches(
    session: Session,
    actor: Principal,
    *,
    mount: str | None = None,
    state: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Batch], int]:
    """Batches visible to ``actor``, newest first, and how many there are in all."""
    query = sa.select(Batch).join(Mount)
    visible = [m.id for m in list_mounts(session, actor)]
    query = query.where(Batch.mount_id.in_(visible))
    if mount:
        query = query.where(Mount.name == mount)
    if state:
        query = query.where(Batch.state == state)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Batch.started_at.desc(), Batch.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), total


def get_batch(session: Session, actor: Principal, batch_id: str) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None or not may_see(actor, batch.mount):
        raise NotFound(f"no batch {batch_id}")
    return batch


def batch_document(batch: Batch) -> dict[str, Any]:
    """A batch as JSON: counts (and whether they balance), checksums, snapshots, timings, drift."""
    return {
        "id": batch.id,
        "mount": batch.mount.name,
        "entry": batch.mount.entry.code,
        "seq": batch.seq,
        "state": batch.state,
        "trigger": batch.trigger,
        "started_by": batch.started_by,
        "started_at": batch.started_at.isoformat(),
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
        "attempts": batch.attempts,
        "counts": {
            "read": batch.rows_read,
            "written": batch.rows_written,
            "quarantined": batch.rows_quarantined,
            "inserted": batch.rows_inserted,
            "updated": batch.rows_updated,
            "unchanged": batch.rows_unchanged,
            "deleted": batch.rows_deleted,
            "warnings": batch.warnings,
            "resolved": batch.resolved,
        },
        "balanced": batch.balanced if batch.state == "committed" else None,
        "fingerprint": batch.fingerprint,
        "checksum": batch.checksum,
        "cursor": {"from": batch.cursor_from, "to": batch.cursor_to},
        "snapshots": batch.snapshots,
        "timings": batch.timings,
        "rule_counts": batch.rule_counts,
        "drift": batch.drift,
        "notes": batch.notes,
        "sources": batch.sources,
        "source_schema": batch.source_schema,
        "error": batch.error,
    }


def mount_document(mount: Mount, last: Batch | None = None) -> dict[str, Any]:
    spec = spec_of(mount)
    return {
        "name": mount.name,
        "entry": mount.entry.code,
        "entry_name": mount.entry.name,
        "organisation": mount.organisation.code,
        "organisation_name": mount.organisation.name,
        "source_kind": spec.source.kind,
        "version": mount.version,
        "active": mount.active,
        "schedule": spec.schedule,
        "update_cycle": mount.entry.update_cycle,
        "drift": spec.drift.value,
        "key": spec.key,
        "cursor": mount.cursor_value,
        "next_due_at": mount.next_due_at.isoformat() if mount.next_due_at else None,
        "spec": masked_spec(mount.spec),
        "last_batch": batch_document(last) if last else None,
    }


def mount_documents(session: Session, actor: Principal) -> list[dict[str, Any]]:
    """The mounts ``actor`` may see, each with its latest batch."""
    found = list_mounts(session, actor)
    last = last_batches(session, [m.id for m in found])
    return [mount_document(m, last.get(m.id)) for m in found]


def mount_status(session: Session, mount: Mount) -> dict[str, Any]:
    """One mount's document with its latest batch."""
    return mount_document(mount, last_batches(session, [mount.id]).get(mount.id))


def masked_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as shown to people: a password written into a source URL is masked."""
    source = dict(spec.get("source") or {})
    if isinstance(source.get("url"), str):
        source["url"] = mask_url(source["url"])
    return {**spec, "source": source}


def last_batches(session: Session, mount_ids: list[int]) -> dict[int, Batch]:
    """The latest batch of each mount."""
    latest = (
        sa.select(Batch.mount_id, sa.func.max(Batch.seq).label("seq"))
        .where(Batch.mount_id.in_(mount_ids))
        .group_by(Batch.mount_id)
        .subquery()
    )
    rows = session.scalars(
        sa.select(Batch).join(latest, sa.and_(Batch.mount_id == latest.c.mount_id, Batch.seq == latest.c.seq))
    )
    return {b.mount_id: b for b in rows}


def due_mounts(session: Session, actor: Principal) -> list[str]:
    """Active mounts whose next run is due (from their schedule or the entry's 更新周期)."""
    now = utcnow()
    names = []
    for mount in list_mounts(session, actor):
        interval = schedule_interval(spec_of(mount).schedule, mount.entry.update_cycle)
        if mount.active and interval is not None and (mount.next_due_at is None or mount.next_due_at <= now):
            names.append(mount.name)
    return names


def run_due(platform: Platform, actor: Principal, **kwargs: Any) -> list[tuple[str, Any]]:
    """Run every due mount once; one failing source does not stop the others."""
    from gongshu.collect.pipeline import run_mount

    with platform.store.session() as session:
        names = due_mounts(session, actor)
    outcomes: list[tuple[str, Any]] = []
    for name in names:
        try:
            outcomes.append((name, run_mount(platform, actor, name, trigger="schedule", **kwargs)))
        except GongshuError as error:
            outcomes.append((name, error))
    return outcomes
