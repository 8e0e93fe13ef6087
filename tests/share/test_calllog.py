"""The call log (共享调用审计): one durable, chained record per call; tampering, metering, subjects."""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongshu.config import Settings
from gongshu.share import calllog
from gongshu.share.calllog import (
    CallLog,
    CallLogUnavailable,
    CallRecord,
    UsageRow,
    call_digest,
    canonical_record,
    open_call_log,
    record_subjects,
    subject_hash,
)
from tests.share.calllog_child import KEY, append_many, call

GENESIS = "0" * 64


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "share" / "calls.sqlite"


@pytest.fixture
def log(path: Path) -> Iterator[CallLog]:
    opened = CallLog(path)
    yield opened
    opened.close()


def fill(log: CallLog, count: int, **changes: Any) -> list[CallRecord]:
    records = [call(f"r{n:04x}", **changes) for n in range(1, count + 1)]
    for record in records:
        log.append(record)
    return records


def tamper(path: Path, sql: str, *params: Any) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(sql, params)


def test_records_round_trip_in_one_chain(log: CallLog, path: Path) -> None:
    assert log.head() == (0, GENESIS) and log.count() == 0 and log.verify().ok
    records = fill(log, 5, fields=("id_number", "姓名"), result="mismatch")
    stored = log.calls()
    assert [c.seq for c in stored] == [5, 4, 3, 2, 1]
    assert [c.record for c in reversed(stored)] == records
    assert stored[-1].prev == GENESIS
    assert all(newer.prev == older.digest for newer, older in pairwise(stored))
    assert log.head() == (5, stored[0].digest) and log.count() == 5
    assert log.verify().ok and log.verify().checked == 5
    assert path.parent.is_dir()


def test_the_digest_is_sha256_of_the_documented_canonical_json(log: CallLog) -> None:
    record = call("abc", fields=('a"b', "名\n称"), at=datetime(2026, 11, 20, 17, 0, 0, 5, tzinfo=UTC))
    log.append(record)
    (stored,) = log.calls()
    canonical = json.dumps(
        [
            1,
            "2026-11-20T17:00:00.000005+00:00",
            "abc",
            "token:12",
            "D310101",
            "SQ-000123",
            "社区事务受理身份核验",
            "101001001/000001",
            "verify",
            list(record.fields),
            1,
            "match",
            200,
            180,
            list(record.subjects),
            GENESIS,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert stored.digest == hashlib.sha256(canonical.encode()).hexdigest()
    assert canonical_record(record) == f"[{canonical[3 : -len(GENESIS) - 4]}]"
    assert call_digest(1, canonical_record(record), GENESIS) == stored.digest


ALTERATIONS: list[tuple[str, int, Any]] = [
    ("at", 0, "2020-01-01T00:00:00.000000+00:00"),
    ("request_id", 1, "forged"),
    ("actor", 2, "user:mallory"),
    ("consumer", 3, "D310999"),
    ("grant", 4, "SQ-999999"),
    ("scenario", 5, "别的场景"),
    ("resource", 6, "101001001/000002"),
    ("api", 7, "query"),
    ("fields", 8, ["id_number", "name", "phone"]),
    ("rows", 9, 2),
    ("result", 10, "mismatch"),
    ("status", 11, 500),
    ("latency_us", 12, 1),
    ("subjects", 13, []),
]


def edit_record(path: Path, seq: int, index: int, value: Any) -> str:
    """Change one field of a stored record the way a forger would; returns the new text."""
    with sqlite3.connect(path) as conn:
        values = json.loads(conn.execute("SELECT record FROM calls WHERE seq = ?", (seq,)).fetchone()[0])
        values[index] = value
        text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
        conn.execute("UPDATE calls SET record = ? WHERE seq = ?", (text, seq))
    return text


@pytest.mark.parametrize(("field", "index", "value"), ALTERATIONS, ids=[a[0] for a in ALTERATIONS])
def test_an_altered_field_is_detected(log: CallLog, path: Path, field: str, index: int, value: Any) -> None:
    fill(log, 5)
    edit_record(path, 3, index, value)
    assert getattr(log.calls(offset=2, limit=1)[0].record, field) != getattr(call("r0003"), field)
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 3 and result.checked == 2
    assert result.reason == "content was altered"


@pytest.mark.parametrize(
    "change",
    ["grant_code = 'SQ-999999'", "resource = 'x'", "status = 500", "at = '2020-01-01T00:00:00.000000+00:00'"],
)
def test_an_altered_copied_column_is_detected(log: CallLog, path: Path, change: str) -> None:
    fill(log, 5)
    tamper(path, f"UPDATE calls SET {change} WHERE seq = 4")
    result = log.verify()
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 4, "content was altered")


def test_counts_of_answered_calls_by_grant_and_resource(log: CallLog) -> None:
    day = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # midnight in Shanghai: 21 November begins
    log.append(call("c1", at=day - timedelta(seconds=1), grant="SQ-1"))  # the 20th
    log.append(call("c2", at=day, grant="SQ-1"))
    log.append(call("c3", at=day + timedelta(hours=2), grant="SQ-2", resource="101001001/000002"))
    log.append(call("c4", at=day + timedelta(hours=3), grant="SQ-2", status=429, result="rate_limited"))
    log.append(call("c5", at=day + timedelta(hours=3), grant="", status=403, result="forbidden"))
    assert log.grant_counts(since=date(2026, 11, 21)) == {"SQ-1": 1, "SQ-2": 1}
    assert log.grant_counts(since=date(2026, 11, 20)) == {"SQ-1": 2, "SQ-2": 1}
    window = log.resource_counts(since=day - timedelta(hours=1), until=day + timedelta(hours=2))
    assert window == {"101001001/000001": 2}  # until is exclusive; refused calls do not count


def test_the_view_shows_every_field(log: CallLog, path: Path) -> None:
    record = call("v1", fields=("id_number", "姓名"))
    log.append(record)
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("SELECT * FROM calls_view").fetchone())
    assert row["consumer"] == "D310101" and row["grant"] == "SQ-000123" and row["status"] == 200
    assert json.loads(row["fields"]) == ["id_number", "姓名"] and row["seq"] == 1


@given(
    text=st.text(max_size=20),
    fields=st.lists(st.text(max_size=8), max_size=4),
    rows=st.integers(min_value=0, max_value=2**62),
)
def test_the_canonical_record_is_json_dumps(text: str, fields: list[str], rows: int) -> None:
    at = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    record = call("r", at=at, actor=text, scenario=text[::-1], fields=tuple(fields), rows=rows)
    values = [
        "2026-11-20T17:00:00.000000+00:00", "r", text, "D310101", "SQ-000123", text[::-1],
        "101001001/000001", "verify", fields, rows, "match", 200, 180, list(record.subjects),
    ]  # fmt: skip
    assert canonical_record(record) == json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def test_an_altered_digest_is_detected(log: CallLog, path: Path) -> None:
    fill(log, 5)
    tamper(path, "UPDATE calls SET digest = ? WHERE seq = 3", "f" * 64)
    assert log.verify().first_bad_seq == 3


def test_a_rehashed_forgery_breaks_the_next_link(log: CallLog, path: Path) -> None:
    fill(log, 5)
    text = edit_record(path, 3, 10, "mismatch")
    third = log.calls(offset=2, limit=1)[0]
    assert third.seq == 3
    tamper(path, "UPDATE calls SET digest = ? WHERE seq = 3", call_digest(3, text, third.prev))
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 4)


def test_a_broken_link_is_detected(log: CallLog, path: Path) -> None:
    fill(log, 5)
    tamper(path, "UPDATE calls SET prev = ? WHERE seq = 4", "e" * 64)
    result = log.verify()
    assert (result.ok, result.first_bad_seq, result.reason) == (
        False,
        4,
        "does not link to the previous call",
    )


def test_a_deleted_record_is_detected(log: CallLog, path: Path) -> None:
    fill(log, 5)
    tamper(path, "DELETE FROM calls WHERE seq = 3")
    result = log.verify()
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 4, "call 3 is missing")


def test_a_deleted_tail_is_detected_by_the_head_and_by_the_anchors(path: Path) -> None:
    anchors: list[tuple[int, str]] = []
    log = CallLog(path, anchor_every_s=0, anchor=lambda seq, digest: anchors.append((seq, digest)))
    fill(log, 10)
    log.close()
    assert anchors and anchors[-1] == log.head() == (10, log.calls(limit=1)[0].digest)
    tamper(path, "DELETE FROM calls WHERE seq > 8")
    naive = log.verify()
    assert not naive.ok and naive.first_bad_seq == 9 and "removed" in (naive.reason or "")
    # a careful forger also rewinds the head row: only the anchors in the main trail still tell
    eighth = log.calls(limit=1)[0]
    tamper(path, "UPDATE call_head SET seq = 8, digest = ?", eighth.digest)
    assert log.verify().ok
    result = log.verify(anchors)
    assert not result.ok and result.first_bad_seq == 9 and result.checked == 8
    assert "anchored" in (result.reason or "")


def test_an_anchor_that_does_not_match_is_detected(log: CallLog) -> None:
    fill(log, 6)
    assert log.verify([(3, log.calls(offset=3, limit=1)[0].digest)]).ok
    result = log.verify([(3, "a" * 64)])
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "anchor" in (result.reason or "")


def test_reordered_records_are_detected(log: CallLog, path: Path) -> None:
    fill(log, 5)
    with sqlite3.connect(path) as conn:  # swap the whole contents of calls 2 and 3, numbers too
        conn.execute("UPDATE calls SET seq = -2 WHERE seq = 2")
        conn.execute("UPDATE calls SET seq = 2 WHERE seq = 3")
        conn.execute("UPDATE calls SET seq = 3 WHERE seq = -2")
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_reordered_contents_are_detected(log: CallLog, path: Path) -> None:
    fill(log, 5)
    with sqlite3.connect(path) as conn:  # swap the records, keeping numbers and links
        two, three = (conn.execute("SELECT record FROM calls WHERE seq = ?", (n,)).fetchone() for n in (2, 3))
        conn.execute("UPDATE calls SET record = ? WHERE seq = 2", three)
        conn.execute("UPDATE calls SET record = ? WHERE seq = 3", two)
    assert log.verify().first_bad_seq == 2


def test_usage_counts_by_day_in_shanghai(log: CallLog) -> None:
    evening = datetime(2026, 11, 20, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai: still the 20th
    late = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 01:00 on the 21st in Shanghai
    log.append(call("a1", at=evening))
    log.append(call("a2", at=late))
    log.append(call("a3", at=late, result="mismatch"))
    log.append(call("a4", at=late + timedelta(seconds=1)))
    log.append(call("a5", at=late, consumer="D310104", api="query", result="ok"))
    log.append(call("a6", at=late, grant="", result="grant_frozen", status=403, rows=0, subjects=()))
    scenario = "社区事务受理身份核验"
    assert log.usage(consumer="D310101") == [
        UsageRow(date(2026, 11, 20), "D310101", scenario, "verify", "match", 1),
        UsageRow(date(2026, 11, 21), "D310101", scenario, "verify", "grant_frozen", 1),
        UsageRow(date(2026, 11, 21), "D310101", scenario, "verify", "match", 2),
        UsageRow(date(2026, 11, 21), "D310101", scenario, "verify", "mismatch", 1),
    ]
    assert [(r.day.day, r.consumer, r.calls) for r in log.usage(since=date(2026, 11, 21))] == [
        (21, "D310101", 1),
        (21, "D310101", 2),
        (21, "D310101", 1),
        (21, "D310104", 1),
    ]
    assert sum(r.calls for r in log.usage(until=date(2026, 11, 20))) == 1
    assert sum(r.calls for r in log.usage()) == log.count() == 6


def test_calls_filter_by_consumer_grant_and_time(log: CallLog) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(10):
        log.append(
            call(f"c{n}", at=start + timedelta(hours=n), consumer=f"D31010{n % 2}", grant=f"SQ-{n % 3}")
        )
    assert [c.record.request_id for c in log.calls(consumer="D310101")] == ["c9", "c7", "c5", "c3", "c1"]
    assert [c.seq for c in log.calls(grant="SQ-0", consumer="D310100")] == [7, 1]
    window = log.calls(since=start + timedelta(hours=2), until=start + timedelta(hours=5))
    assert [c.record.request_id for c in window] == ["c4", "c3", "c2"]
    assert [c.seq for c in log.calls(limit=3, offset=2)] == [8, 7, 6]


def test_subject_hash_normalises_the_id_number() -> None:
    upper = subject_hash(KEY, "11010519491231002X")
    assert subject_hash(KEY, " 11010519491231002x\n") == upper
    assert len(upper) == 32 and all(ch in "0123456789abcdef" for ch in upper)
    assert subject_hash(KEY, "110105194912310029") != upper
    assert subject_hash(b"another-key", "11010519491231002X") != upper
    assert record_subjects(KEY, ["11010519491231002x", "11010519491231002X", " "]) == (upper,)


def test_accesses_finds_every_call_touching_a_citizen(log: CallLog) -> None:
    alice, bob = (subject_hash(KEY, n) for n in ("310101199001011234", "31010119900202123X"))
    log.append(call("q1", subjects=(alice,)))
    log.append(call("q2", subjects=(bob,)))
    log.append(call("q3", subjects=(alice, bob), api="query", rows=2))
    log.append(call("q4", subjects=()))
    assert [c.record.request_id for c in log.accesses(alice)] == ["q3", "q1"]
    assert [c.record.request_id for c in log.accesses(bob, limit=1)] == ["q3"]
    assert log.accesses(subject_hash(KEY, "310101199003031234")) == []


def test_no_personal_value_reaches_the_file(log: CallLog, path: Path) -> None:
    ids = [f"31010119900101{n:03d}X" for n in range(50)]
    for n, number in enumerate(ids):
        log.append(call(f"p{n}", subjects=record_subjects(KEY, [number.lower()])))
    with pytest.raises(ValueError, match="subject_hash"):
        log.append(call("plain", subjects=(ids[0],)))  # a plain number is refused, not stored
    assert log.count() == 50
    raw = b"".join(p.read_bytes() for p in path.parent.glob("calls.sqlite*"))
    assert raw  # the records are there …
    for number in ids:  # … but no ID number, in any case, or the digits alone
        for form in (number, number.lower(), number[:-1]):
            assert form.encode() not in raw, form
    log.close()
    raw = b"".join(p.read_bytes() for p in path.parent.glob("calls.sqlite*"))
    assert not any(number[:-1].encode() in raw for number in ids)


def test_a_naive_time_or_wrong_type_fails_only_that_call(log: CallLog) -> None:
    with pytest.raises(ValueError, match="timezone"):
        log.append(call("naive", at=datetime(2026, 11, 20, 8, 0)))
    with pytest.raises(TypeError):
        log.append(call("typed", consumer=310101))
    assert log.append(call("fine")) == 1 and log.verify().ok


def test_many_concurrent_appends_from_an_event_loop(log: CallLog) -> None:
    wakeups = 0

    async def main() -> list[int]:
        nonlocal wakeups
        loop = asyncio.get_running_loop()
        original = loop.call_soon_threadsafe

        def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal wakeups
            wakeups += 1
            return original(*args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign,assignment]
        return await asyncio.gather(*(log.append_async(call(f"a{n:05x}")) for n in range(3000)))

    seqs = asyncio.run(main())
    assert sorted(seqs) == list(range(1, 3001))
    assert wakeups < 3000 / 10  # one wake-up per group, not one per record
    assert log.count() == 3000 and log.verify().ok
    assert {c.record.request_id for c in log.calls(limit=10_000)} == {f"a{n:05x}" for n in range(3000)}


def test_two_processes_append_to_one_chain(path: Path) -> None:
    CallLog(path)  # the schema first, so the children race only on appends
    spawn = multiprocessing.get_context("spawn")
    children = [spawn.Process(target=append_many, args=(str(path), p, 400)) for p in ("x", "y")]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
        assert child.exitcode == 0
    log = CallLog(path)
    result = log.verify()
    assert result.ok and result.checked == 800 == log.count()
    ids = [c.record.request_id for c in log.calls(limit=10_000)]
    assert sorted(ids) == sorted(f"{p}-{n:06x}" for p in ("x", "y") for n in range(400))
    assert sum(r.calls for r in log.usage()) == 800


def test_a_failed_commit_acknowledges_nothing(path: Path) -> None:
    log = CallLog(path, busy_timeout_s=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the busy timeout

    async def attempt() -> list[int | BaseException]:
        return await asyncio.gather(
            *(log.append_async(call(f"f{n}")) for n in range(20)), return_exceptions=True
        )

    outcomes = asyncio.run(attempt())
    assert all(isinstance(o, CallLogUnavailable) for o in outcomes), outcomes
    failed = outcomes[0]
    assert isinstance(failed, CallLogUnavailable) and failed.http_status == 503 and failed.transient
    with pytest.raises(CallLogUnavailable):
        log.append(call("blocking"))
    blocker.execute("ROLLBACK")
    blocker.close()
    assert log.count() == 0 and log.calls() == [] and log.usage() == []
    assert log.append(call("after")) == 1  # the log recovers once the lock is free
    assert log.verify().ok and log.count() == 1
    log.close()


def test_any_failure_to_store_acknowledges_nothing(log: CallLog, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(calllog, "_store_group", broken)
    with pytest.raises(CallLogUnavailable, match="disk on fire"):
        log.append(call("lost"))
    monkeypatch.undo()
    assert log.count() == 0 and log.append(call("kept")) == 1


def test_a_removed_head_row_is_detected(log: CallLog, path: Path) -> None:
    fill(log, 3)
    tamper(path, "DELETE FROM call_head")
    result = log.verify()
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 4, "the head was altered")


def test_close_flushes_and_anchors_and_the_log_reopens(path: Path) -> None:
    anchors: list[tuple[int, str]] = []
    log = CallLog(path, anchor_every_s=3600, anchor=lambda seq, digest: anchors.append((seq, digest)))

    async def burst() -> None:  # returns before any append is acknowledged
        pending = [asyncio.ensure_future(log.append_async(call(f"b{n}"))) for n in range(50)]
        await asyncio.sleep(0)
        assert not any(task.done() for task in pending)

    asyncio.run(burst())
    log.close()
    assert log.count() == 50 and anchors == [log.head()]
    log.close()  # idempotent
    assert log.append(call("again")) == 51  # appending restarts the writer
    log.close()
    assert anchors[-1] == log.head() and log.head()[0] == 51 and log.verify(anchors).ok


def test_open_call_log_lives_in_the_data_directory(tmp_path: Path) -> None:
    log = open_call_log(Settings(data_dir=tmp_path))
    assert log.path == tmp_path / "share" / "calls.sqlite" and log.path.exists()
    with sqlite3.connect(log.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
