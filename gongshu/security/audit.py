"""The audit trail (审计日志): every change and every data access, hash-chained.

Each event's digest is SHA-256 over its canonical JSON and the previous event's digest, so altering,
deleting or reordering any event breaks the chain, and :func:`verify` names the first broken one.
Appends are serialised by updating the single ``audit_head`` row inside the caller's transaction,
which works the same on SQLite (write lock) and PostgreSQL (row lock); the event commits or rolls
back with the change it records.

Details must never hold personal values (ID numbers, names of citizens, phone numbers) or secrets.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.security.models import AuditEvent, AuditHead
from gongshu.store.base import utcnow

GENESIS_DIGEST = "0" * 64
HEAD_ID = 1


def event_digest(event: AuditEvent) -> str:
    """SHA-256 of an event's canonical JSON form, chained to the previous event's digest."""
    canonical = json.dumps(
        [
            event.seq,
            event.at.isoformat(),
            event.actor,
            event.action,
            event.object_type,
            event.object_id,
            event.detail,
            event.prev_digest,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction.

    Example::

        record(session, actor="user:alice", action="catalog.publish",
               object_type="catalog_entry", object_id="301001001/000001", detail={"version": 3})
    """
    head_seq, prev = _advance_head(session)
    at = utcnow().replace(microsecond=0)
    detail = json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str))
    event = AuditEvent(
        seq=head_seq,
        at=at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail,
        prev_digest=prev,
    )
    event.digest = event_digest(event)
    session.add(event)
    session.execute(sa.update(AuditHead).where(AuditHead.id == HEAD_ID).values(last_digest=event.digest))
    session.flush()
    return event


def _advance_head(session: Session) -> tuple[int, str]:
    # The UPDATE takes the lock before we read the previous digest, so two writers cannot both
    # chain onto the same event.
    row = session.execute(
        sa.update(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .values(last_seq=AuditHead.last_seq + 1)
        .returning(AuditHead.last_seq, AuditHead.last_digest)
    ).one_or_none()
    if row is None:
        session.add(AuditHead(id=HEAD_ID, last_seq=1, last_digest=GENESIS_DIGEST))
        session.flush()
        return 1, GENESIS_DIGEST
    return int(row[0]), str(row[1])


@dataclass(frozen=True)
class Verification:
    """The outcome of checking the chain."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None


def verify(session: Session, *, batch: int = 5000) -> Verification:
    """Recompute every digest in order; report the first event that does not chain.

    Detects edited fields, deleted events (a gap or a broken link), reordering, and a truncated
    tail (the head row no longer matches the last event).
    """
    prev, expected_seq, checked = GENESIS_DIGEST, 1, 0
    last_seen = 0
    while True:
        events = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.seq > last_seen).order_by(AuditEvent.seq).limit(batch)
        ).all()
        for event in events:
            problem = _check_event(event, expected_seq, prev)
            if problem:
                return Verification(False, checked, event.seq, problem)
            prev, expected_seq, checked, last_seen = event.digest, event.seq + 1, checked + 1, event.seq
        if len(events) < batch:
            break
    head = session.get(AuditHead, HEAD_ID)
    if head is not None and (head.last_seq != checked or head.last_digest != prev):
        return Verification(False, checked, checked + 1, "events after the last one were removed")
    return Verification(True, checked)


def _check_event(event: AuditEvent, expected_seq: int, prev: str) -> str | None:
    if event.seq != expected_seq:
        return f"event {expected_seq} is missing"
    if event.prev_digest != prev:
        return "does not link to the previous event"
    recomputed = event_digest(event)
    if recomputed != event.digest:
        return "content was altered"
    return None


def list_events(
    session: Session,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    limit: int = 100,
    before_seq: int | None = None,
) -> list[AuditEvent]:
    """Newest events first, optionally about one object or by one actor."""
    query = sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(min(limit, 1000))
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id:
        query = query.where(AuditEvent.object_id == object_id)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if before_seq:
        query = query.where(AuditEvent.seq < before_seq)
    return list(session.scalars(query))
