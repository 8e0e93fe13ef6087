"""The sharing exchange's call log (共享调用审计): every answered call, once, durable, hash-chained.

Every sharing call that was answered — verification (核验), query (查询), landing (落地), lake SQL,
district return (属地返还), served or refused — leaves one :class:`CallRecord`. Records are chained like
the main audit trail: each digest is SHA-256 over the record's canonical JSON with its sequence number
and the previous digest, so an edited, deleted or reordered record breaks the chain, and a truncated
tail is caught by the anchors the log writes into the main trail (``share.calls.anchor`` events).

The log is a SQLite file of its own (WAL, ``synchronous=FULL``) because it is written thousands of
times a second. Appends from an event loop only enqueue; one writer thread per process takes
everything pending, commits it in one transaction (group commit: one fsync for the group), then wakes
each waiting loop once. A call is acknowledged only after its COMMIT returned, so an acknowledged
record survives ``kill -9`` and a power cut. Several processes may append to the same file: each group
takes the write lock (``BEGIN IMMEDIATE``) and chains onto the head it finds there.

The same transaction keeps the metering counters (``call_usage``) and the index of the citizens
touched (``call_subjects``: keyed hashes of ID numbers, never the numbers), so metering equals the log
exactly and "who accessed my data" is one indexed lookup. See docs/share-audit.md.

Example::

    log = CallLog(data_dir / "share" / "calls.sqlite", anchor=write_anchor_event)
    seq = await log.append_async(record)   # durable when it returns
    log.close()                            # flush, final anchor, stop the writer
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import queue
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future as ThreadFuture
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from gongshu.errors import GongshuError
from gongshu.security.audit import GENESIS_DIGEST, Verification
from gongshu.store.base import CITY_TIMEZONE

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from gongshu.config import Settings

log = logging.getLogger("gongshu.share.calllog")

ANCHOR_ACTION: Final = "share.calls.anchor"
MAX_GROUP: Final = 5000
SCHEMA_VERSION: Final = 1
_SUBJECT = re.compile(r"[0-9a-f]{32}")
#: JSON string quoting without ASCII escapes: the C function behind ``json.dumps(ensure_ascii=False)``.
_quote: Callable[[str], str] = json.encoder.encode_basestring
_STOP: Final = object()

# ``record`` is the canonical JSON array of the record's fields: exactly the text that was hashed. Four
# fields are copied out of it into columns for indexes and counts (``at`` and ``grant_code`` indexed:
# time windows, a grant's recent calls; ``resource`` and ``status`` for metering), and
# :meth:`CallLog.verify` checks each copy against the record. The view ``calls_view`` shows every field
# as a column for plain SQL. (Virtual generated columns would do the same but cost more per insert.)
_FIELDS = (
    "at", "request_id", "actor", "consumer", "grant", "scenario", "resource", "api", "fields", "rows",
    "result", "status", "latency_us", "subjects",
)  # fmt: skip
_VIEW_COLUMNS = ", ".join(f"json_extract(record, '$[{i}]') AS {name}" for i, name in enumerate(_FIELDS))
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS calls (
    seq INTEGER PRIMARY KEY, record TEXT NOT NULL, prev TEXT NOT NULL, digest TEXT NOT NULL,
    at TEXT NOT NULL, grant_code TEXT NOT NULL, resource TEXT NOT NULL, status INTEGER NOT NULL);
CREATE VIEW IF NOT EXISTS calls_view AS SELECT seq, {_VIEW_COLUMNS}, prev, digest FROM calls;
CREATE INDEX IF NOT EXISTS calls_grant ON calls (grant_code, seq);
CREATE INDEX IF NOT EXISTS calls_at ON calls (at);
CREATE TABLE IF NOT EXISTS call_subjects (
    subject TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (subject, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS call_usage (
    day TEXT NOT NULL, consumer TEXT NOT NULL, scenario TEXT NOT NULL, api TEXT NOT NULL,
    result TEXT NOT NULL, calls INTEGER NOT NULL,
    PRIMARY KEY (day, consumer, scenario, api, result)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS call_head (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, digest TEXT NOT NULL);
"""  # noqa: S608 - constant names only
_INSERT_CALL = (
    "INSERT INTO calls (seq, record, prev, digest, at, grant_code, resource, status) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# The copied columns must equal the record's fields (the JSON paths of at, grant, resource, status).
_COPIES_KEPT = (
    "at IS json_extract(record, '$[0]') AND grant_code IS json_extract(record, '$[4]') "
    "AND resource IS json_extract(record, '$[6]') AND status IS json_extract(record, '$[11]')"
)
_INSERT_SUBJECT = "INSERT OR IGNORE INTO call_subjects (subject, seq) VALUES (?, ?)"
_UPSERT_USAGE = (
    "INSERT INTO call_usage (day, consumer, scenario, api, result, calls) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (day, consumer, scenario, api, result) DO UPDATE SET calls = calls + excluded.calls"
)
_SET_HEAD = (
    "INSERT INTO call_head (id, seq, digest) VALUES (1, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, digest = excluded.digest"
)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One answered sharing call. No field ever holds a personal value.

    ``at`` is timezone-aware (stored as UTC); ``request_id`` unique per call (uuid4 hex); ``actor``
    ``token:12`` / ``user:alice`` / ``cli:root``; ``consumer`` the consuming organisation's code;
    ``grant`` the grant's code (授权), ``""`` when refused before a grant was found; ``scenario`` the
    应用场景; ``resource`` the catalogue entry's code; ``api`` ``verify`` | ``query`` | ``landing`` |
    ``sql`` | ``return``; ``fields`` the names of the 信息项 delivered or compared (never values);
    ``rows`` delivered (verify: 0 or 1 compared); ``result`` ``match`` | ``mismatch`` | ``no_record`` |
    ``ok`` | a refusal code (``grant_frozen`` …); ``status`` the HTTP-like status answered;
    ``latency_us`` the time to answer; ``subjects`` the :func:`subject_hash` of every citizen touched.
    """

    at: datetime
    request_id: str
    actor: str
    consumer: str
    grant: str
    scenario: str
    resource: str
    api: str
    fields: tuple[str, ...]
    rows: int
    result: str
    status: int
    latency_us: int
    subjects: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoredCall:
    """A record as stored: its place in the chain and its digest."""

    seq: int
    record: CallRecord
    prev: str
    digest: str


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Calls on one day (Asia/Shanghai) by one consumer, scenario, API and result (计量)."""

    day: date
    consumer: str
    scenario: str
    api: str
    result: str
    calls: int


class CallLogUnavailable(GongshuError):
    """The call log could not store a call, so the call must not be answered; retrying may help."""

    code: ClassVar[str] = "call_log_unavailable"
    http_status = 503
    exit_code = 8
    transient = True


def subject_hash(key: bytes, id_number: str) -> str:
    """HMAC-SHA256 of the normalised 身份证号 (stripped, ``x`` upper-cased), first 32 hex characters.

    Example::

        subject_hash(key, " 11010519491231002x ") == subject_hash(key, "11010519491231002X")
    """
    normalised = id_number.strip().upper().encode("utf-8")
    return hmac.new(key, normalised, hashlib.sha256).hexdigest()[:32]


def record_subjects(key: bytes, id_numbers: Iterable[str]) -> tuple[str, ...]:
    """The :attr:`CallRecord.subjects` of a call touching ``id_numbers``: hashed, without repeats."""
    return tuple(dict.fromkeys(subject_hash(key, number) for number in id_numbers if number.strip()))


def call_digest(seq: int, record: str, prev: str) -> str:
    """SHA-256 of the canonical JSON ``[seq, at, request_id, …, subjects, prev]``.

    ``record`` is the stored JSON array of the record's fields (as :func:`canonical_record` makes
    it); the whole is ``json.dumps([...], ensure_ascii=False, separators=(",", ":"))``, UTF-8.
    """
    return hashlib.sha256(f'[{seq},{record[1:-1]},"{prev}"]'.encode()).hexdigest()


def canonical_record(record: CallRecord) -> str:
    """The record's fields as a compact JSON array, ``at`` as UTC ISO 8601 with microseconds.

    Built by hand rather than with :func:`json.dumps` (the same text, several times faster): strings
    are quoted by the json module's own C encoder, which refuses anything that is not a ``str``,
    and the ``d`` format refuses a count that is not an integer.

    Raises:
        TypeError, ValueError: a field of the wrong type, a naive time, or a subject that is not a
            :func:`subject_hash` (a plain ID number must never reach the log).
    """
    at = record.at
    if at.tzinfo is not UTC:
        if at.utcoffset() is None:
            raise ValueError(f"call {record.request_id}: `at` must be timezone-aware")
        at = at.astimezone(UTC)
    for subject in record.subjects:
        if not _SUBJECT.fullmatch(subject):
            raise ValueError(f"call {record.request_id}: subjects must be subject_hash() values")
    q = _quote
    return (
        f"[{q(at.isoformat(timespec='microseconds'))},{q(record.request_id)},{q(record.actor)},"
        f"{q(record.consumer)},{q(record.grant)},{q(record.scenario)},{q(record.resource)},"
        f"{q(record.api)},[{','.join(map(q, record.fields))}],{record.rows:d},{q(record.result)},"
        f"{record.status:d},{record.latency_us:d},[{','.join(map(q, record.subjects))}]]"
    )


_UsageKey = tuple[str, str, str, str, str]


# A record ready to chain: its canonical JSON, its copied columns, subjects and metering key.
_Prepared = tuple[str, tuple[str, str, str, int], tuple[str, ...], _UsageKey]


def _prepare(record: CallRecord) -> _Prepared:
    text = canonical_record(record)
    at = text[2:34]  # the UTC time is always 32 characters: 2026-11-20T17:00:00.000000+00:00
    key = (_city_day_of_hour(at[:13]), record.consumer, record.scenario, record.api, record.result)
    return text, (at, record.grant, record.resource, record.status), record.subjects, key


@lru_cache(maxsize=8192)
def _city_day_of_hour(utc_hour: str) -> str:
    # Asia/Shanghai is a whole number of hours from UTC, so the UTC hour decides the city's day.
    return datetime.fromisoformat(f"{utc_hour}:00+00:00").astimezone(CITY_TIMEZONE).date().isoformat()


def _stored(seq: int, text: str, prev: str, digest: str) -> StoredCall:
    v = json.loads(text)
    record = CallRecord(
        datetime.fromisoformat(v[0]), v[1], v[2], v[3], v[4], v[5], v[6], v[7],
        tuple(v[8]), v[9], v[10], v[11], v[12], tuple(v[13]),
    )  # fmt: skip
    return StoredCall(seq, record, prev, digest)


# One pending append: the record, the loop to wake (None for a blocking caller) and its future.
_Pending = tuple[CallRecord, asyncio.AbstractEventLoop | None, "asyncio.Future[int] | ThreadFuture[int]"]


class CallLog:
    """The call log in one SQLite file; safe to share between threads, event loops and processes.

    ``group_ms`` is the longest a group waits for more records while they keep arriving (a lone
    record commits at once). ``anchor(seq, digest)`` is called from the writer thread with the head
    at most every ``anchor_every_s`` seconds, and on :meth:`close`. ``busy_timeout_s`` bounds the
    wait for another process's write lock before a group fails with :class:`CallLogUnavailable`.
    """

    def __init__(
        self,
        path: Path,
        *,
        group_ms: float = 2.0,
        anchor_every_s: float = 30.0,
        anchor: Callable[[int, str], None] | None = None,
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.group_s = max(group_ms, 0.0) / 1000
        self.anchor_every_s = anchor_every_s
        self.anchor = anchor
        self.busy_timeout_s = busy_timeout_s
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] | None = None
        self._thread: threading.Thread | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                conn.executescript(
                    f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                )

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    # -- appending ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (idempotent; appends also start it)."""
        with self._lock:
            self._start_locked()

    def _start_locked(self) -> queue.SimpleQueue[Any]:
        if self._queue is None:
            self._queue = queue.SimpleQueue()
            writer = _Writer(self, self._queue)
            self._thread = threading.Thread(target=writer.run, name="gongshu-calllog", daemon=True)
            self._thread.start()
        return self._queue

    def _detach(self, pending: queue.SimpleQueue[Any]) -> None:
        with self._lock:
            if self._queue is pending:
                self._queue = self._thread = None

    def _submit(self, pending: _Pending) -> None:
        with self._lock:
            (self._queue or self._start_locked()).put(pending)

    async def append_async(self, record: CallRecord) -> int:
        """Append from an event loop; returns the record's seq once it is durably committed.

        Raises:
            CallLogUnavailable: its group could not be committed; nothing of the group is stored.
        """
        future = asyncio.get_running_loop().create_future()
        self._submit((record, future.get_loop(), future))
        seq: int = await future
        return seq

    def append(self, record: CallRecord) -> int:
        """Append and wait (any thread, no event loop needed); returns the seq once committed."""
        future: ThreadFuture[int] = ThreadFuture()
        self._submit((record, None, future))
        return future.result()

    def close(self) -> None:
        """Commit everything pending, write the final anchor and stop the writer thread.

        The log stays usable: a later append starts a new writer.
        """
        with self._lock:
            pending, thread = self._queue, self._thread
            self._queue = self._thread = None
            if pending is not None:
                pending.put(_STOP)
        if thread is not None:
            thread.join()

    # -- reading ------------------------------------------------------------------------------------

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same committed state."""
        with closing(self._connect()) as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")

    def head(self) -> tuple[int, str]:
        """``(last seq, last digest)``; ``(0, "0" * 64)`` when the log is empty."""
        with self._snapshot() as conn:
            return _read_head(conn)

    def count(self) -> int:
        """Calls appended: the head's seq (:meth:`verify` checks that the rows agree)."""
        return self.head()[0]

    def verify(self, anchors: Iterable[tuple[int, str]] = ()) -> Verification:
        """Recompute every digest in seq order; report the first record that does not chain.

        Detects altered fields, deleted or reordered records and, with the ``anchors`` from the main
        trail (:func:`call_log_anchors`, read *before* calling), a truncated tail.
        """
        anchored: dict[int, set[str]] = {}
        for seq, digest in anchors:
            anchored.setdefault(int(seq), set()).add(str(digest))
        prev, expected = GENESIS_DIGEST, 1
        with self._snapshot() as conn:
            head = _read_head(conn)
            for seq, text, stored_prev, digest, copies_kept in conn.execute(
                f"SELECT seq, record, prev, digest, {_COPIES_KEPT} FROM calls ORDER BY seq"  # noqa: S608
            ):
                problem = _check(seq, text, stored_prev, digest, expected, prev, anchored.get(seq))
                if not problem and not copies_kept:
                    problem = "content was altered"
                if problem:
                    return Verification(False, expected - 1, seq, problem)
                prev, expected = digest, seq + 1
        checked = expected - 1
        beyond = [seq for seq in anchored if seq > checked]
        if beyond:
            reason = f"calls up to {max(beyond)} were anchored but are missing"
            return Verification(False, checked, checked + 1, reason)
        if head != (checked, prev):
            reason = "calls after the last one were removed" if head[0] > checked else "the head was altered"
            return Verification(False, checked, checked + 1, reason)
        return Verification(True, checked)

    def calls(
        self,
        *,
        consumer: str | None = None,
        grant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[StoredCall]:
        """Calls newest first, optionally of one consumer or grant and ``since`` ≤ at < ``until``.

        ``limit`` is capped at 10,000. The grant and the time are indexed; a consumer filter alone
        reads back from the newest call until ``limit`` calls matched.
        """
        where, params = ["1 = 1"], []
        for clause, value in (
            ("json_extract(record, '$[3]') = ?", consumer),
            ("grant_code = ?", grant),
            ("at >= ?", since and _utc_text(since)),
            ("at < ?", until and _utc_text(until)),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = (  # only constant clauses go into the text; the values are bound
            f"SELECT seq, record, prev, digest FROM calls WHERE {' AND '.join(where)} "  # noqa: S608
            "ORDER BY seq DESC LIMIT ? OFFSET ?"
        )
        with self._snapshot() as conn:
            rows = conn.execute(sql, [*params, min(max(limit, 0), 10_000), max(offset, 0)]).fetchall()
        return [_stored(*row) for row in rows]

    def accesses(self, subject: str, *, limit: int = 500) -> list[StoredCall]:
        """Every call that touched the citizen with this :func:`subject_hash`, newest first."""
        sql = (
            "SELECT c.seq, c.record, c.prev, c.digest FROM call_subjects s JOIN calls c ON c.seq = s.seq "
            "WHERE s.subject = ? ORDER BY s.seq DESC LIMIT ?"
        )
        with self._snapshot() as conn:
            rows = conn.execute(sql, (subject, min(max(limit, 0), 10_000))).fetchall()
        return [_stored(*row) for row in rows]

    def resource_counts(self, *, since: datetime, until: datetime) -> dict[str, int]:
        """Answered calls (status 200) per resource code between ``since`` and ``until`` (metering)."""
        return self._counts("resource", since, until)

    def grant_counts(self, *, since: date) -> dict[str, int]:
        """Answered calls (status 200) per grant since the start of city day ``since`` (quota seeding)."""
        start = datetime.combine(since, datetime.min.time(), CITY_TIMEZONE)
        return self._counts("grant", start, None)

    def _counts(self, column: str, since: datetime, until: datetime | None) -> dict[str, int]:
        # Read through the index on ``at``: only the window's calls, from their copied columns.
        where, params = ["at >= ?", "status = 200"], [_utc_text(since)]
        if until is not None:
            where.append("at < ?")
            params.append(_utc_text(until))
        name = {"resource": "resource", "grant": "grant_code"}[column]  # a constant, never caller text
        sql = f"SELECT {name}, count(*) FROM calls WHERE {' AND '.join(where)} GROUP BY 1"  # noqa: S608
        with self._snapshot() as conn:
            return {str(key): int(n) for key, n in conn.execute(sql, params) if key}

    def usage(
        self, *, since: date | None = None, until: date | None = None, consumer: str | None = None
    ) -> list[UsageRow]:
        """Calls per day (Asia/Shanghai), consumer, scenario, API and result; both days inclusive."""
        where, params = ["1 = 1"], []
        for clause, value in (
            ("day >= ?", since and since.isoformat()),
            ("day <= ?", until and until.isoformat()),
            ("consumer = ?", consumer),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = (
            "SELECT day, consumer, scenario, api, result, calls FROM call_usage "  # noqa: S608
            f"WHERE {' AND '.join(where)} ORDER BY day, consumer, scenario, api, result"
        )
        with self._snapshot() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [UsageRow(date.fromisoformat(r[0]), *r[1:]) for r in rows]


def _utc_text(moment: datetime) -> str:
    """A time as stored: UTC ISO 8601 with microseconds, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _read_head(conn: sqlite3.Connection) -> tuple[int, str]:
    found = conn.execute("SELECT seq, digest FROM call_head WHERE id = 1").fetchone()
    return (int(found[0]), str(found[1])) if found else (0, GENESIS_DIGEST)


def _check(
    seq: int, text: str, stored_prev: str, digest: str, expected: int, prev: str, anchored: set[str] | None
) -> str | None:
    if seq != expected:
        return f"call {expected} is missing"
    if stored_prev != prev:
        return "does not link to the previous call"
    if call_digest(seq, text, prev) != digest:
        return "content was altered"
    if anchored is not None and anchored != {digest}:
        return "does not match its anchor in the main audit trail"
    return None


class _Writer:
    """The writer thread: group commit, then one wake-up per waiting loop per group."""

    def __init__(self, owner: CallLog, pending: queue.SimpleQueue[Any]) -> None:
        self.owner = owner
        self.pending = pending
        self.anchored: tuple[int, str] | None = None
        self.last_anchor = time.monotonic()
        self.unanchored = False

    def run(self) -> None:
        try:
            with closing(self.owner._connect()) as conn:
                stopping = False
                while not stopping:
                    group, stopping = self._gather()
                    if group:
                        self._commit(conn, group)
                    if self.unanchored and (stopping or self._anchor_due() <= 0):
                        self._anchor(conn)
        except BaseException as error:  # never leave a caller waiting on a dead writer
            log.exception("the call log writer stopped")
            self.owner._detach(self.pending)  # later appends start a new writer
            failure = CallLogUnavailable(f"the call log writer stopped: {error}")
            while not self.pending.empty():
                item = self.pending.get_nowait()
                if item is not _STOP:
                    _settle_all([item], [failure])

    def _anchor_due(self) -> float:
        return self.last_anchor + self.owner.anchor_every_s - time.monotonic()

    def _gather(self) -> tuple[list[_Pending], bool]:
        """Wait for a record, then take everything pending, lingering while more keep arriving."""
        timeout = max(self._anchor_due(), 0.0) if self.unanchored and self.owner.anchor else None
        try:
            first = self.pending.get(timeout=timeout)
        except queue.Empty:
            return [], False
        if first is _STOP:
            return [], True
        group: list[_Pending] = [first]
        deadline = time.monotonic() + self.owner.group_s
        while len(group) < MAX_GROUP:
            try:
                item = self.pending.get_nowait()
            except queue.Empty:
                # Let the loop thread run once (it may be mid-burst); commit when still nothing
                # came or the group has waited long enough.
                if time.monotonic() >= deadline:
                    break
                time.sleep(0)
                if self.pending.empty():
                    break
                continue
            if item is _STOP:
                return group, True
            group.append(item)
        return group, False

    def _commit(self, conn: sqlite3.Connection, group: list[_Pending]) -> None:
        outcomes: list[int | BaseException] = [0] * len(group)
        prepared: list[_Prepared] = []
        taken: list[int] = []
        for index, (record, _, _) in enumerate(group):
            try:
                prepared.append(_prepare(record))
                taken.append(index)
            except Exception as error:  # this call only (a bad field); the rest of the group goes on
                outcomes[index] = error
        if prepared:
            try:
                first = _store_group(conn, prepared)
            except Exception as error:  # nothing of the group is stored, nothing acknowledged
                failure = CallLogUnavailable(
                    f"the call log could not commit {len(prepared)} call(s): {error}",
                    hint=f"check {self.owner.path} (disk space, permissions, a writer holding the lock)",
                )
                log.error("call log commit failed: %s", error)
                for index in taken:
                    outcomes[index] = failure
            else:
                for offset, index in enumerate(taken):
                    outcomes[index] = first + offset
                self.unanchored = True
        _settle_all(group, outcomes)

    def _anchor(self, conn: sqlite3.Connection) -> None:
        self.last_anchor = time.monotonic()
        if self.owner.anchor is None:
            self.unanchored = False
            return
        try:
            conn.execute("BEGIN")
            try:
                head = _read_head(conn)
            finally:
                conn.execute("ROLLBACK")
            if head[0] and head != self.anchored:
                self.owner.anchor(*head)
                self.anchored = head
            self.unanchored = False
        except Exception:  # retried at the next interval; appends go on meanwhile
            log.exception("could not anchor the call log in the audit trail")


def _store_group(conn: sqlite3.Connection, prepared: list[_Prepared]) -> int:
    """Chain and insert one group, its subjects and its metering in one transaction; the first seq."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        seq, prev = _read_head(conn)
        first = seq + 1
        rows: list[tuple[Any, ...]] = []
        subjects: list[tuple[str, int]] = []
        usage: Counter[_UsageKey] = Counter()
        for text, copies, touched, key in prepared:
            seq += 1
            digest = call_digest(seq, text, prev)
            rows.append((seq, text, prev, digest, *copies))
            prev = digest
            for subject in touched:
                subjects.append((subject, seq))
            usage[key] += 1
        conn.executemany(_INSERT_CALL, rows)
        conn.executemany(_INSERT_SUBJECT, subjects)
        conn.executemany(_UPSERT_USAGE, [(*key, n) for key, n in usage.items()])
        conn.execute(_SET_HEAD, (seq, prev))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return first


def _settle_all(group: list[_Pending], outcomes: list[int | BaseException]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], int | BaseException]]] = {}
    for (_, loop, future), outcome in zip(group, outcomes, strict=True):
        if loop is None:
            assert isinstance(future, ThreadFuture)
            _settle(future, outcome)
        else:
            assert isinstance(future, asyncio.Future)
            by_loop.setdefault(loop, []).append((future, outcome))
    for loop, settled in by_loop.items():
        with suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_settle_loop, settled)


def _settle_loop(settled: list[tuple[asyncio.Future[int], int | BaseException]]) -> None:
    for future, outcome in settled:
        if not future.done():  # a cancelled caller: the record is stored all the same
            _settle(future, outcome)


def _settle(future: asyncio.Future[int] | ThreadFuture[int], outcome: int | BaseException) -> None:
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def call_log_path(settings: Settings) -> Path:
    """Where the platform's call log lives: ``<data_dir>/share/calls.sqlite``."""
    return settings.data_dir / "share" / "calls.sqlite"


def open_call_log(settings: Settings) -> CallLog:
    """The platform's call log (created if missing; the caller wires the anchor)."""
    return CallLog(call_log_path(settings))


def call_log_anchors(session: Session) -> list[tuple[int, str]]:
    """The ``(seq, digest)`` anchors written to the main audit trail (``share.calls.anchor`` events)."""
    import sqlalchemy as sa

    from gongshu.security.models import AuditEvent

    details = session.scalars(
        sa.select(AuditEvent.detail).where(AuditEvent.action == ANCHOR_ACTION).order_by(AuditEvent.seq)
    )
    return [(int(d["seq"]), str(d["digest"])) for d in details if "seq" in d and "digest" in d]
