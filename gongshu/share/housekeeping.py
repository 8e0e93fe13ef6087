"""The exchange's daily jobs, run by a serving process: escalation of overdue reviews (督办), the
monthly letters (prepare the previous month's, freeze overdue ones) and the open portal's freshness
alerts (更新提醒, ``gongshu.open.freshness.sweep_freshness``).

``gongshu serve`` (and ``gongshu demo``) start :func:`start_housekeeping`; each job is idempotent,
so several servers running it do no harm. The same jobs run by hand: ``gongshu share demand sweep``,
``gongshu share letters run`` and ``gongshu open freshness --sweep``.
"""

from __future__ import annotations

import logging
import threading

from gongshu.open.freshness import sweep_freshness
from gongshu.orgs.roles import SYSTEM
from gongshu.platform import Platform
from gongshu.share import confirmation, demands

log = logging.getLogger("gongshu.share")
#: Seconds between runs (the jobs are daily; running them more often only finds nothing new).
INTERVAL_S = 3600.0


def run_once(platform: Platform) -> None:
    """Escalate overdue reviews, prepare last month's letters, freeze the overdue ones, and raise or
    resolve the open datasets' freshness alerts."""
    with platform.store.session() as session:
        escalated = demands.sweep(session, SYSTEM)
    monthly = confirmation.run_monthly(platform)
    if escalated:
        log.info("escalated %d overdue reviews", len(escalated))
    log.info("monthly letters: %s", monthly)
    freshness = sweep_freshness(platform)
    log.info(
        "freshness alerts: %d raised, %d resolved, %d open",
        len(freshness.raised), len(freshness.resolved), freshness.open_alerts,
    )  # fmt: skip


def start_housekeeping(platform: Platform, *, interval_s: float = INTERVAL_S) -> threading.Event:
    """Run :func:`run_once` now and every ``interval_s`` seconds in a daemon thread; set the event to stop."""
    stop = threading.Event()

    def loop() -> None:
        while True:
            try:
                run_once(platform)
            except Exception:  # a failed run is retried at the next interval
                log.exception("sharing housekeeping failed")
            if stop.wait(interval_s):
                return

    threading.Thread(target=loop, name="gongshu-share-housekeeping", daemon=True).start()
    return stop
