"""The audit trail's hash chain detects edits, deletions, reordering and a truncated tail."""

from __future__ import annotations

from itertools import pairwise

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.security import audit
from gongshu.security.models import AuditEvent, AuditHead
from gongshu.store import Store


def _append(store: Store, count: int) -> None:
    with store.session() as session:
        for index in range(count):
            audit.record(
                session,
                actor="user:alice",
                action="test.event",
                object_type="thing",
                object_id=index,
                detail={"n": index, "名称": "测试"},
            )


def _verify(store: Store) -> audit.Verification:
    with store.session() as session:
        return audit.verify(session)


def test_a_clean_chain_verifies(store: Store) -> None:
    _append(store, 5)
    result = _verify(store)
    assert result.ok and result.checked == 5
    with store.session() as session:
        events = audit.list_events(session, limit=10)
    assert [e.seq for e in events] == [5, 4, 3, 2, 1]
    assert all(newer.prev_digest == older.digest for newer, older in pairwise(events))


def test_altered_content_is_detected(store: Store) -> None:
    _append(store, 5)
    with store.session() as session:
        session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 3).values(actor="user:mallory"))
    result = _verify(store)
    assert not result.ok and result.first_bad_seq == 3 and result.reason == "content was altered"


def test_a_deleted_event_is_detected(store: Store) -> None:
    _append(store, 5)
    with store.session() as session:
        session.execute(sa.delete(AuditEvent).where(AuditEvent.seq == 2))
    result = _verify(store)
    assert not result.ok and result.first_bad_seq == 3 and "missing" in (result.reason or "")


def test_reordered_events_are_detected(store: Store) -> None:
    _append(store, 4)
    with store.session() as session:  # swap the contents of events 2 and 3, keeping their numbers
        two, three = (session.get(AuditEvent, n) for n in (2, 3))
        assert two and three
        two.detail, three.detail = three.detail, two.detail
        two.object_id, three.object_id = three.object_id, two.object_id
    assert _verify(store).first_bad_seq == 2


def test_a_truncated_tail_is_detected(store: Store) -> None:
    _append(store, 4)
    with store.session() as session:
        session.execute(sa.delete(AuditEvent).where(AuditEvent.seq == 4))
    result = _verify(store)
    assert not result.ok and "removed" in (result.reason or "")


def test_an_event_rolls_back_with_its_change(store: Store) -> None:
    _append(store, 1)
    session: Session = store.new_session()
    audit.record(session, actor="x", action="x", object_type="x", object_id="x")
    session.rollback()
    session.close()
    _append(store, 1)
    assert _verify(store).ok
    with store.session() as check:
        head = check.get(AuditHead, 1)
        assert head is not None and head.last_seq == 2
