"""Per-key quotas and rate limits of the open APIs (限流与配额): 429 with Retry-After.

Every data call (``datastore_search``, downloads, dumps) and every CKAN action is admitted by
:meth:`OpenMeter.admit` before it runs. A developer key and a credential are limited by their own
``daily_quota`` and ``rate_per_s``; anonymous callers by the platform's anonymous limits per client
address. Counts are per city day (Asia/Shanghai) and in memory per serving process; a starting
service seeds today's counts of keys from ``open_accesses`` so a restart gives no second quota.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.config import Settings
from gongshu.open.caller import Caller
from gongshu.open.models import OpenAccess
from gongshu.share.access import city_day, seconds_to_next_city_day
from gongshu.share.errors import QuotaExceeded
from gongshu.store.base import city_today


@dataclass(frozen=True)
class Limits:
    daily_quota: int
    rate_per_s: int


class OpenMeter:
    """Token buckets and daily counts by meter key (``key:<id>`` or ``addr:<client address>``)."""

    def __init__(self, settings: Settings, used: dict[str, int] | None = None) -> None:
        self._anonymous = Limits(settings.open_anonymous_daily_quota, settings.open_anonymous_rate_per_s)
        self._day = city_day(time.time())
        self._used: dict[str, int] = dict(used or {})
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def seeded(cls, settings: Settings, session: Session) -> OpenMeter:
        """A meter holding today's counts of every key, read from the access log."""
        rows = session.execute(
            sa.select(OpenAccess.key_id, sa.func.count())
            .where(OpenAccess.day == city_today(), OpenAccess.key_id.is_not(None))
            .group_by(OpenAccess.key_id)
        )
        return cls(settings, {f"key:{key_id}": count for key_id, count in rows})

    def limits(self, caller: Caller) -> Limits:
        if caller.key_id is not None and caller.daily_quota and caller.rate_per_s:
            return Limits(caller.daily_quota, caller.rate_per_s)
        return self._anonymous

    def meter_key(self, caller: Caller, client: str | None) -> str:
        if caller.key_id is not None:
            return f"key:{caller.key_id}"
        if caller.user_id is not None:
            return f"user:{caller.user_id}"
        return f"addr:{client or 'unknown'}"

    def admit(self, caller: Caller, client: str | None, now: float | None = None) -> None:
        """Count one call or raise :class:`QuotaExceeded` (429, ``Retry-After`` seconds)."""
        moment = time.time() if now is None else now
        limits = self.limits(caller)
        key = self.meter_key(caller, client)
        with self._lock:
            day = city_day(moment)
            if day != self._day:
                self._day, self._used = day, {}
            used = self._used.get(key, 0)
            if used >= limits.daily_quota:
                raise QuotaExceeded(
                    "quota_exceeded",
                    f"daily quota used up (今日调用次数已用完): {limits.daily_quota:,} a day",
                    retry_after=seconds_to_next_city_day(moment),
                )
            tokens, at = self._buckets.get(key, (float(limits.rate_per_s), moment))
            tokens = min(float(limits.rate_per_s), tokens + (moment - at) * limits.rate_per_s)
            if tokens < 1.0:
                self._buckets[key] = (tokens, moment)
                wait = max(1, math.ceil((1.0 - tokens) / limits.rate_per_s))
                raise QuotaExceeded(
                    "rate_limited",
                    f"rate limit reached (调用过于频繁): {limits.rate_per_s} a second",
                    retry_after=wait,
                )
            self._buckets[key] = (tokens - 1.0, moment)
            self._used[key] = used + 1

    def used(self, caller: Caller, client: str | None = None) -> int:
        """Calls counted today for the caller's meter key."""
        with self._lock:
            return self._used.get(self.meter_key(caller, client), 0)
