"""The serving process's daily jobs run, and running them twice changes nothing more."""

from __future__ import annotations

import sqlalchemy as sa

from gongshu.platform import Platform
from gongshu.security.models import AuditEvent
from gongshu.share.housekeeping import run_once, start_housekeeping


def test_daily_jobs_are_idempotent(share_platform: Platform) -> None:
    run_once(share_platform)
    with share_platform.store.session() as session:
        events = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    run_once(share_platform)
    with share_platform.store.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events
    stop = start_housekeeping(share_platform, interval_s=3600)
    stop.set()
