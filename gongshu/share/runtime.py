"""The exchange at run time: verification (核验) and query (查询) calls, decided, metered and logged.

One :class:`Exchange` per service process holds the grant index (:mod:`gongshu.share.access`), the
meter, the verification indexes and the call log. Each call goes the same way, whichever shell
made it (the fast HTTP path, the FastAPI route, the CLI):

1. the grant decision (deny by default; the refusal code is the answer),
2. the rate limit and daily quota (429 with Retry-After),
3. the answer, from the granted slice only,
4. one call-log record, durably committed *before* the answer is released — so every answered
   call has exactly one record, also across a crash.

Verification compares keyed digests of normalised values: a lookup always happens, a digest is
always computed and compared in constant time, so 一致 / 不一致 / 无记录 take the same work and
the answer carries no field of the record.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dt_time
from typing import Any, TypeVar

import sqlalchemy as sa

from gongshu.collect.models import Batch, Mount
from gongshu.collect.sqlbits import ident, lit
from gongshu.engine import connect
from gongshu.errors import AuthenticationFailed, GongshuError, ValidationFailed
from gongshu.lake import open_lake
from gongshu.orgs.models import Organisation
from gongshu.orgs.tokens import authenticate_token, token_digest
from gongshu.platform import Platform
from gongshu.share.access import GrantIndex, GrantRule, Meter
from gongshu.share.calllog import CallLog, CallRecord, subject_hash
from gongshu.share.errors import QuotaExceeded, ShareDenied
from gongshu.share.exchange import call_log, subject_key
from gongshu.share.slice import CURRENT_VIEW, GrantSlice, Resource, resource_of
from gongshu.share.specs import Api
from gongshu.store.base import CITY_TIMEZONE

T = TypeVar("T")
log = logging.getLogger("gongshu.share")
#: Data elements that identify a record in a verification (公民身份号码, 统一社会信用代码).
IDENTIFYING_ELEMENTS = ("DE0101", "DE0201")
RESULT_LABELS = {"match": "一致", "mismatch": "不一致", "no_record": "无记录"}
#: How long a token's identity is cached: revocation of a token takes effect within this.
TOKEN_TTL_S = 30.0


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls: the token's user, their organisation and its code."""

    name: str
    organisation_id: int | None
    organisation: str


@dataclass(slots=True)
class Answer:
    """What a call answers: an HTTP status, a JSON body and headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class VerificationIndex:
    """Keyed digests of one granted slice: record key → digest of the values a verification compares."""

    def __init__(self, digests: dict[str, bytes], secret: bytes) -> None:
        self._digests = digests
        self._secret = secret
        self._absent = hashlib.blake2b(b"absent", key=secret, digest_size=16).digest()

    def __len__(self) -> int:
        return len(self._digests)

    def check(self, key: str, values: Sequence[str]) -> str:
        """``match`` / ``mismatch`` / ``no_record`` with the same work for each."""
        stored = self._digests.get(normalise(key))
        found = stored is not None
        same = hmac.compare_digest(stored if found else self._absent, digest(self._secret, values))  # type: ignore[arg-type]
        if not found:
            return "no_record"
        return "match" if same else "mismatch"


def normalise(value: str) -> str:
    """Full-width to half-width, trimmed, upper case (the X of an ID number)."""
    return unicodedata.normalize("NFKC", value).strip().upper()


def digest(secret: bytes, values: Sequence[str]) -> bytes:
    return hashlib.blake2b(
        "\x1f".join(normalise(v) for v in values).encode("utf-8"), key=secret, digest_size=16
    ).digest()


class Exchange:
    """The running exchange of one platform (one per service process)."""

    def __init__(
        self, platform: Platform, *, log: CallLog | None = None, index: GrantIndex | None = None
    ) -> None:
        self.platform = platform
        self.settings = platform.settings
        self.index = index or GrantIndex(platform.store, refresh_s=platform.settings.share_refresh_s)
        self.log = log or call_log(platform)
        self.subject_key = subject_key(platform.settings)
        self._secret = secrets.token_bytes(32)  # digests in memory only; never stored
        self.meter = Meter()
        self._resources: dict[int, Resource] = {}
        self._tokens: dict[str, tuple[Caller, float]] = {}
        self._indexes: dict[tuple[Any, ...], VerificationIndex] = {}
        self._building: dict[tuple[Any, ...], threading.Lock] = {}
        self._watermarks: dict[str, int | None] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._duck_lock = threading.Lock()
        self._started = False
        self._prefix = uuid.uuid4().hex[:14]
        self._calls = 0

    # -- life ----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Load the grants, seed today's quota counts from the call log, start refreshing."""
        if self._started:
            return
        self._started = True
        self.seed_meter()
        self.index.start()
        threading.Thread(target=self._refresh_loop, name="gongshu-verification-indexes", daemon=True).start()

    def seed_meter(self) -> None:
        """Start today's quota counts from the call log, so a restart does not grant a second quota."""
        self.meter = Meter(self._used_today())

    def stop(self) -> None:
        self._stop.set()
        self.index.stop()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.index.refresh_s):
            try:
                self.refresh_data()
            except Exception:  # the store is briefly unreachable: check again at the next interval
                log.warning("verification index refresh failed", exc_info=True)

    def _used_today(self) -> dict[str, int]:
        today = datetime.now(UTC).astimezone(CITY_TIMEZONE).date()
        return self.log.grant_counts(since=today)

    def _request_id(self) -> str:
        """Unique per call: this process's random prefix and a counter (``os.urandom`` per call is slow)."""
        self._calls += 1
        return f"{self._prefix}{self._calls:010x}"

    # -- callers -------------------------------------------------------------------------------------

    def caller(self, secret: str | None) -> Caller:
        """The caller holding token ``secret`` (cached for :data:`TOKEN_TTL_S`)."""
        if not secret:
            raise AuthenticationFailed(
                "an API token is required", hint="send the header 'Authorization: Bearer <token>'"
            )
        key = token_digest(secret)
        now = time.monotonic()
        cached = self._tokens.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        with self.platform.store.session() as session:
            principal = authenticate_token(session, secret)
            org = session.get(Organisation, principal.organisation_id) if principal.organisation_id else None
            found = Caller(principal.name, principal.organisation_id, org.code if org else "")
        self._tokens[key] = (found, now + TOKEN_TTL_S)
        return found

    # -- verification --------------------------------------------------------------------------------

    async def verify(
        self, caller: Caller, code: str, values: Mapping[str, str], scenario: str | None = None
    ) -> Answer:
        """Answer one verification (核验) and log it before answering."""
        started = time.perf_counter()
        request_id = self._request_id()
        rule: GrantRule | None = None
        resource: Resource | None = None
        fields = tuple(values)
        try:
            rule = self.index.decide(code, caller.organisation_id, Api.VERIFY, fields, scenario=scenario)
            self.meter.admit(rule)
            resource = await self._resource(rule.entry_id)
            key_field, compared = _verification_fields(resource, values)
            index = await self._verification_index(resource, rule, key_field, compared)
            result = index.check(values[key_field], [values[c] for c in compared])
            subjects = (
                (subject_hash(self.subject_key, values[key_field]),)
                if key_field in resource.id_columns
                else ()
            )
            answer = Answer(200, {"result": result, "label": RESULT_LABELS[result], "request_id": request_id})
            rows = 0 if result == "no_record" else 1
        except GongshuError as error:
            answer, result, subjects, rows = _refusal(error, request_id), _reason(error), (), 0
        record = CallRecord(
            at=datetime.now(UTC),
            request_id=request_id,
            actor=caller.name,
            consumer=caller.organisation,
            grant=code if rule is not None else "",
            scenario=rule.scenario if rule is not None else "",
            resource=resource.entry if resource is not None else "",
            api=Api.VERIFY.value,
            fields=fields,
            rows=rows,
            result=result,
            status=answer.status,
            latency_us=int((time.perf_counter() - started) * 1e6),
            subjects=subjects,
        )
        await self.log.append_async(record)
        return answer

    # -- query ---------------------------------------------------------------------------------------

    async def query(
        self,
        caller: Caller,
        code: str,
        filters: Mapping[str, str | int | float],
        *,
        fields: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
        scenario: str | None = None,
    ) -> Answer:
        """Answer one query (查询): granted rows matching ``filters``, granted 信息项 only, masked."""
        started = time.perf_counter()
        request_id = self._request_id()
        rule: GrantRule | None = None
        resource: Resource | None = None
        asked = tuple(fields) if fields is not None else ()
        rows: list[dict[str, Any]] = []
        subjects: tuple[str, ...] = ()
        try:
            rule = self.index.decide(
                code, caller.organisation_id, Api.QUERY, (*asked, *filters), scenario=scenario
            )
            self.meter.admit(rule)
            resource = await self._resource(rule.entry_id)
            granted = self._slice(resource, rule, caller)
            chosen = list(asked) or granted.fields
            rows, total, ids = await asyncio.get_running_loop().run_in_executor(
                None, self._run_query, granted, chosen, filters, limit, offset
            )
            subjects = tuple(subject_hash(self.subject_key, i) for i in ids)
            answer = Answer(
                200,
                {
                    "fields": chosen,
                    "rows": rows,
                    "total": total,
                    "masked": [c for c in granted.masked if c in chosen],
                    "request_id": request_id,
                },
            )
            result = "ok"
            asked = tuple(chosen)
        except GongshuError as error:
            answer, result = _refusal(error, request_id), _reason(error)
        record = CallRecord(
            at=datetime.now(UTC),
            request_id=request_id,
            actor=caller.name,
            consumer=caller.organisation,
            grant=code if rule is not None else "",
            scenario=rule.scenario if rule is not None else "",
            resource=resource.entry if resource is not None else "",
            api=Api.QUERY.value,
            fields=asked,
            rows=len(rows),
            result=result,
            status=answer.status,
            latency_us=int((time.perf_counter() - started) * 1e6),
            subjects=subjects,
        )
        await self.log.append_async(record)
        return answer

    def _run_query(
        self,
        granted: GrantSlice,
        chosen: list[str],
        filters: Mapping[str, str | int | float],
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int, list[str]]:
        where = (
            " AND ".join(f"CAST({ident(k)} AS VARCHAR) = {lit(str(v))}" for k, v in filters.items()) or "true"
        )
        with self._duck_lock, connect() as con:
            granted.register(open_lake(self.settings), con)
            inner = granted.select_sql(CURRENT_VIEW, fields=chosen, where=where, with_subjects=True)
            total = con.execute(f"SELECT count(*) FROM ({inner})").fetchone()  # noqa: S608 - compiled slice
            order = ", ".join(ident(k) for k in granted.key if k in chosen) or "1"
            cursor = con.execute(
                f"SELECT * FROM ({inner}) ORDER BY {order} LIMIT {int(limit)} OFFSET {int(offset)}"  # noqa: S608
            )
            names = [d[0] for d in cursor.description]
            found = cursor.fetchall()
        rows: list[dict[str, Any]] = []
        ids: list[str] = []
        for values in found:
            record = dict(zip(names, values, strict=True))
            ids.extend(i for i in record.pop("_subject_ids") or () if i)
            rows.append({k: _jsonable(v) for k, v in record.items()})
        return rows, int(total[0]) if total else 0, ids

    # -- shared --------------------------------------------------------------------------------------

    def _slice(self, resource: Resource, rule: GrantRule, caller: Caller) -> GrantSlice:
        return resource.grant_slice(
            grant=rule.code,
            consumer=caller.organisation,
            scenario=rule.scenario,
            fields=rule.fields,
            row_scope=rule.row_scope,
            district_code=rule.district_code,
            conditions=rule.conditions,
            clear_text=rule.clear_text,
        )

    async def _resource(self, entry_id: int) -> Resource:
        found = self._resources.get(entry_id)
        if found is None:
            found = await _off_loop(self._load_resource, entry_id)
            self._resources[entry_id] = found
        return found

    def _load_resource(self, entry_id: int) -> Resource:
        with self.platform.store.session() as session:
            return resource_of(session, entry_id)

    async def _verification_index(
        self, resource: Resource, rule: GrantRule, key_field: str, compared: tuple[str, ...]
    ) -> VerificationIndex:
        # grants with the same rows share an index; conditions are interned by the grant index
        cache_key = (
            resource.mount,
            rule.row_scope,
            rule.district_code,
            id(rule.conditions) if rule.conditions else 0,
            key_field,
            compared,
        )
        found = self._indexes.get(cache_key)
        if found is None:
            granted = self._slice(resource, rule, Caller("", None, ""))
            found = await _off_loop(self._build_index, cache_key, granted, key_field, compared)
        return found

    def _build_index(
        self, cache_key: tuple[Any, ...], granted: GrantSlice, key_field: str, compared: tuple[str, ...]
    ) -> VerificationIndex:
        with self._lock:
            lock = self._building.setdefault(cache_key, threading.Lock())
        with lock:  # one build per slice, however many callers wait for it
            found = self._indexes.get(cache_key)
            if found is not None:
                return found
            seen = self._watermark(granted.mount)  # before reading: a batch committed meanwhile is newer
            columns = ", ".join(f"CAST({ident(c)} AS VARCHAR)" for c in (key_field, *compared))
            digests: dict[str, bytes] = {}
            with self._duck_lock, connect() as con:
                granted.register(open_lake(self.settings), con)
                cursor = con.execute(
                    f"SELECT {columns} FROM {ident(CURRENT_VIEW)} WHERE {granted.row_filter()}"  # noqa: S608
                )
                while batch := cursor.fetchmany(50_000):
                    for key, *values in batch:
                        if key is not None:
                            digests[normalise(key)] = digest(self._secret, [v or "" for v in values])
            index = VerificationIndex(digests, self._secret)
            self._indexes[cache_key] = index
            self._watermarks.setdefault(granted.mount, seen)
            return index

    def refresh_data(self) -> int:
        """Drop verification indexes of resources that received a batch since they were built."""
        dropped = 0
        for mount, seen in list(self._watermarks.items()):
            if self._watermark(mount) != seen:
                for key in [k for k in self._indexes if k[0] == mount]:
                    del self._indexes[key]
                    dropped += 1
                del self._watermarks[mount]
        return dropped

    def _watermark(self, mount: str) -> int | None:
        """The sequence of the mount's newest committed batch."""
        with self.platform.store.session() as session:
            return session.scalar(
                sa.select(sa.func.max(Batch.seq))
                .join(Mount, Mount.id == Batch.mount_id)
                .where(Mount.name == mount, Batch.state == "committed")
            )


def _verification_fields(resource: Resource, values: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """The identifying 信息项 among ``values`` and the ones to compare; 422 when there is none."""
    names = list(values)
    key = next(
        (n for n in names if (c := resource.column(n)) is not None and c.element in IDENTIFYING_ELEMENTS),
        None,
    )
    if key is None:
        key = next((n for n in names if n in resource.key), None)
    if key is None:
        raise ValidationFailed(
            {"values": ["须含标识信息项（身份证号、信用代码或主键） an identifying 信息项 is required"]}
        )
    compared = tuple(n for n in names if n != key)
    if not compared:
        raise ValidationFailed({"values": ["须含至少一个比对信息项 at least one 信息项 to compare"]})
    for name in names:
        if resource.column(name) is None:
            raise ValidationFailed({"values": [f"资源没有信息项 no 信息项 {name!r}"]})
        if not isinstance(values[name], str) or len(values[name]) > 200:
            raise ValidationFailed({f"values.{name}": ["须为不超过 200 字的文本 text up to 200 characters"]})
    return key, compared


def _refusal(error: GongshuError, request_id: str) -> Answer:
    body = {"error": {**error.to_dict(), "request_id": request_id}}
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, QuotaExceeded) else {}
    return Answer(error.http_status, body, headers)


def _reason(error: GongshuError) -> str:
    if isinstance(error, ShareDenied | QuotaExceeded):
        return error.reason
    return error.code


def _jsonable(value: object) -> object:
    """Dates and times as ISO text; everything else as DuckDB returned it."""
    return value.isoformat() if isinstance(value, date | datetime | dt_time) else value


async def _off_loop(function: Callable[..., T], *args: Any) -> T:
    """Run blocking work (store, lake) in a thread, so the loop keeps answering."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one exchange call outside a service (the CLI)."""
    return asyncio.run(coroutine)
