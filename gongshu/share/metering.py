"""Metering (计量): answered sharing calls by resource and month, for the monthly report.

The call log counts every answered call per consumer × scenario × API × day (``call_usage``, kept
in the same transaction as the records); the report needs them per resource and month, which
:func:`calls_by_resource` reads from the log's records.
"""

from __future__ import annotations

from gongshu.platform import Platform
from gongshu.quality.calendar import month_bounds, shift_month
from gongshu.share.exchange import call_log


def calls_by_resource(platform: Platform, month: str) -> dict[str, tuple[int, int]]:
    """Answered calls (status 200) of each resource code in ``month`` and in the month before."""
    start, end = month_bounds(month)
    before, _ = month_bounds(shift_month(month, -1))
    log = call_log(platform)
    now = log.resource_counts(since=start, until=end)
    earlier = log.resource_counts(since=before, until=start)
    return {code: (now.get(code, 0), earlier.get(code, 0)) for code in set(now) | set(earlier)}
