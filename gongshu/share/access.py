"""The grant decision (授权判定): one in-memory index of every grant, checked in microseconds.

Every sharing call — verification, query, lake SQL, landing — asks :meth:`GrantIndex.decide`
whether this consumer may use this grant for this API, these 信息项 and this scenario now. Deny by
default: an unknown grant and another consumer's grant get the same ``forbidden`` answer; then the
grant's own state (revoked, suspended, frozen, expired, not yet valid), its method, fields and
scenario are checked in that order, and the first failure is the refusal's code.

The index holds a slim copy of every grant (a city's million grants take a few hundred MB) and
reloads what changed (``updated_at`` moves on every change) every ``share_refresh_s`` seconds, so a
suspension or revocation takes effect within that interval on every running service.

Rate limits (calls per second, a token bucket) and daily quotas (calls per city day) are counted
here too, per grant; exceeding either answers 429 with the seconds to wait.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from gongshu.share.errors import DENIAL_REASONS, QuotaExceeded, ShareDenied
from gongshu.share.models import Grant
from gongshu.share.specs import METHOD_APIS, GrantStatus
from gongshu.store import Store
from gongshu.store.base import CITY_TIMEZONE

log = logging.getLogger("gongshu.share")
#: Grants changed this long before the last refresh are read again (clock skew between writers).
_OVERLAP = timedelta(seconds=2)
_COLUMNS = (
    Grant.id,
    Grant.code,
    Grant.consumer_id,
    Grant.entry_id,
    Grant.scenario,
    Grant.method,
    sa.cast(Grant.fields, sa.Text).label("fields"),
    Grant.row_scope,
    Grant.district_code,
    sa.cast(Grant.conditions, sa.Text).label("conditions"),
    Grant.clear_text,
    Grant.daily_quota,
    Grant.rate_per_second,
    Grant.valid_from,
    Grant.expires_at,
    Grant.status,
    Grant.frozen_at,
    Grant.updated_at,
)


@dataclass(slots=True)
class GrantRule:
    """What the decision needs of one grant (the rest is read from the store when a call needs it)."""

    id: int
    code: str
    consumer_id: int
    entry_id: int
    scenario: str
    apis: frozenset[str]
    fields: frozenset[str]
    row_scope: str
    district_code: str | None
    conditions: tuple[dict[str, Any], ...]
    clear_text: bool
    daily_quota: int
    rate: int
    valid_from: float  # POSIX seconds
    expires: float
    status: str
    frozen: bool


def deny(reason: str) -> ShareDenied:
    zh, en = DENIAL_REASONS[reason]
    return ShareDenied(reason, f"{en} ({zh})")


class GrantIndex:
    """Every grant, in memory, for decisions; refreshed incrementally from the store."""

    def __init__(self, store: Store, *, refresh_s: float = 5.0) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self._rules: dict[str, GrantRule] = {}
        self._watermark: datetime | None = None
        self._lock = threading.Lock()
        self._fields: dict[str, frozenset[str]] = {}  # interned: many grants share a field list
        self._conditions: dict[str, tuple[dict[str, Any], ...]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.loaded_at = 0.0

    def __len__(self) -> int:
        return len(self._rules)

    def get(self, code: str) -> GrantRule | None:
        return self._rules.get(code)

    def refresh(self) -> int:
        """Read grants changed since the last refresh (all of them the first time); how many."""
        with self._lock:
            since = self._watermark
            query = sa.select(*_COLUMNS)
            if since is not None:
                query = query.where(Grant.updated_at >= since - _OVERLAP)
            count = 0
            newest = since
            with self.store.engine.connect() as conn:
                result = conn.execution_options(yield_per=20_000).execute(query)
                for row in result:
                    rule = self._rule(row)
                    self._rules[rule.code] = rule
                    updated = _aware(row.updated_at)
                    if newest is None or updated > newest:
                        newest = updated
                    count += 1
            self._watermark = newest
            self.loaded_at = time.monotonic()
            return count

    def load_one(self, code: str) -> GrantRule | None:
        """Load (or reload) one grant only: the CLI and bulk channels decide with the same rules."""
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(*_COLUMNS).where(Grant.code == code)).one_or_none()
        if row is None:
            self._rules.pop(code, None)
            return None
        rule = self._rule(row)
        self._rules[code] = rule
        return rule

    def start(self) -> None:
        """Load everything now and keep refreshing in a background thread."""
        if self._thread is not None:
            return
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="gongshu-grant-index", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.refresh_s):
            try:
                self.refresh()
            except Exception:  # the store is briefly unreachable: keep the last known grants
                log.warning("grant index refresh failed; keeping the last known grants", exc_info=True)

    def decide(
        self,
        code: str,
        consumer_id: int | None,
        api: str,
        fields: Iterable[str] = (),
        *,
        scenario: str | None = None,
        now: float | None = None,
    ) -> GrantRule:
        """The grant if ``consumer_id`` may call ``api`` for ``fields`` now; else :class:`ShareDenied`."""
        rule = self._rules.get(code)
        if rule is None or consumer_id is None or rule.consumer_id != consumer_id:
            raise deny("forbidden")
        if rule.status != GrantStatus.ACTIVE:
            raise deny("grant_revoked" if rule.status == GrantStatus.REVOKED else "grant_suspended")
        if rule.frozen:
            raise deny("grant_frozen")
        moment = time.time() if now is None else now
        if moment >= rule.expires:
            raise deny("grant_expired")
        if moment < rule.valid_from:
            raise deny("grant_not_yet_valid")
        if api not in rule.apis:
            raise deny("method_not_granted")
        if scenario is not None and scenario != rule.scenario:
            raise deny("scenario_mismatch")
        for name in fields:
            if name not in rule.fields:
                raise deny("fields_not_granted")
        return rule

    def _rule(self, row: Any) -> GrantRule:
        raw = row.fields or "[]"
        fields = self._fields.get(raw)
        if fields is None:
            fields = frozenset(json.loads(raw))
            self._fields[raw] = fields
        raw_conditions = row.conditions or "[]"
        conditions = self._conditions.get(raw_conditions)
        if conditions is None:
            conditions = tuple(json.loads(raw_conditions))
            self._conditions[raw_conditions] = conditions
        return GrantRule(
            id=row.id,
            code=row.code,
            consumer_id=row.consumer_id,
            entry_id=row.entry_id,
            scenario=row.scenario,
            apis=frozenset(api.value for api in METHOD_APIS.get(row.method, frozenset())),
            fields=fields,
            row_scope=row.row_scope,
            district_code=row.district_code,
            conditions=conditions,
            clear_text=bool(row.clear_text),
            daily_quota=int(row.daily_quota),
            rate=int(row.rate_per_second),
            valid_from=_aware(row.valid_from).timestamp(),
            expires=_aware(row.expires_at).timestamp(),
            status=row.status,
            frozen=row.frozen_at is not None,
        )


class Meter:
    """Per-grant rate limits (token bucket) and daily quotas (calls per city day), in memory.

    ``used`` seeds today's counts (from the call log) when a service starts, so a restart does not
    hand out a second quota. A call is counted when it is admitted.
    """

    def __init__(self, used: dict[str, int] | None = None, *, day: str | None = None) -> None:
        self._day = day or city_day(time.time())
        self._used: dict[str, int] = dict(used or {})
        self._buckets: dict[str, tuple[float, float]] = {}  # code -> (tokens, at)

    def admit(self, rule: GrantRule, now: float | None = None) -> None:
        """Count one call of ``rule`` or raise :class:`QuotaExceeded` (429 with Retry-After)."""
        moment = time.time() if now is None else now
        day = city_day(moment)
        if day != self._day:
            self._day, self._used = day, {}
        used = self._used.get(rule.code, 0)
        if used >= rule.daily_quota:
            wait = seconds_to_next_city_day(moment)
            zh, en = DENIAL_REASONS["quota_exceeded"]
            raise QuotaExceeded(
                "quota_exceeded", f"{en} ({zh}): {rule.daily_quota:,} a day", retry_after=wait
            )
        tokens, at = self._buckets.get(rule.code, (float(rule.rate), moment))
        tokens = min(float(rule.rate), tokens + (moment - at) * rule.rate)
        if tokens < 1.0:
            self._buckets[rule.code] = (tokens, moment)
            zh, en = DENIAL_REASONS["rate_limited"]
            wait = max(1, math.ceil((1.0 - tokens) / rule.rate))
            raise QuotaExceeded("rate_limited", f"{en} ({zh}): {rule.rate} a second", retry_after=wait)
        self._buckets[rule.code] = (tokens - 1.0, moment)
        self._used[rule.code] = used + 1

    def used(self, code: str) -> int:
        return self._used.get(code, 0)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def city_day(moment: float) -> str:
    return datetime.fromtimestamp(moment, CITY_TIMEZONE).date().isoformat()


def seconds_to_next_city_day(moment: float) -> int:
    now = datetime.fromtimestamp(moment, CITY_TIMEZONE)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((tomorrow - now).total_seconds()))
