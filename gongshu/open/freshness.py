"""Freshness (更新及时性): each open dataset's last update against its 更新周期.

A dataset's last update is its newest publication (every committed batch publishes). Its next
update is due one cycle later (实时 and 每日: the next city day; 每周: 7 days; 每月, 每季度, 每年: the
same day 1, 3 or 12 months later); 不定期 datasets are never overdue and are left out of the ratio.
A dataset never published is due one cycle after its 发布日期. The on-time ratio of a department
or of the city is on-time datasets over on-time plus overdue ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from gongshu.catalogue.specs import UpdateCycle
from gongshu.open.datasets import OpenDataset
from gongshu.quality.calendar import shift_month
from gongshu.store.base import CITY_TIMEZONE

ON_TIME = "on_time"
OVERDUE = "overdue"
IRREGULAR = "irregular"

STATUS_LABELS = {
    ON_TIME: ("按时更新", "On time"),
    OVERDUE: ("更新逾期", "Overdue"),
    IRREGULAR: ("不定期", "Irregular"),
}

_MONTHS = {UpdateCycle.MONTHLY.value: 1, UpdateCycle.QUARTERLY.value: 3, UpdateCycle.YEARLY.value: 12}
_DAYS = {UpdateCycle.REALTIME.value: 1, UpdateCycle.DAILY.value: 1, UpdateCycle.WEEKLY.value: 7}


@dataclass(frozen=True)
class Freshness:
    """One dataset's freshness on ``today``: ``last_update`` (city date or None), ``due_on``, ``status``."""

    status: str
    last_update: date | None
    due_on: date | None
    days_overdue: int = 0

    @property
    def overdue(self) -> bool:
        return self.status == OVERDUE


def next_due(last: date, cycle: str) -> date | None:
    """The date the update after ``last`` is due under ``cycle``; None for 不定期."""
    if cycle in _DAYS:
        return last + timedelta(days=_DAYS[cycle])
    if cycle in _MONTHS:
        month = shift_month(f"{last.year:04d}-{last.month:02d}", _MONTHS[cycle])
        year, number = (int(part) for part in month.split("-"))
        for day in (last.day, 30, 29, 28):  # the same day, or the month's last when it has none
            try:
                return date(year, number, day)
            except ValueError:
                continue
    return None


def freshness_of(dataset: OpenDataset, today: date) -> Freshness:
    """The freshness of ``dataset`` on the city date ``today``."""
    publication = dataset.publication
    last = publication.published_at.astimezone(CITY_TIMEZONE).date() if publication is not None else None
    start = last or dataset.publish_date or dataset.created_at.astimezone(CITY_TIMEZONE).date()
    due = next_due(start, dataset.update_cycle)
    if due is None:
        return Freshness(IRREGULAR, last, None)
    if today > due:
        return Freshness(OVERDUE, last, due, (today - due).days)
    return Freshness(ON_TIME, last, due)


@dataclass(frozen=True)
class OnTimeRatio:
    """On-time and overdue counts of a group of datasets; ``ratio`` is None when none is periodic."""

    on_time: int
    overdue: int
    irregular: int

    @property
    def ratio(self) -> float | None:
        periodic = self.on_time + self.overdue
        return self.on_time / periodic if periodic else None


def on_time_ratios(
    datasets: Iterable[OpenDataset], today: date
) -> tuple[OnTimeRatio, dict[str, OnTimeRatio]]:
    """The city's ratio and each department's (by organisation code)."""
    counts: dict[str, list[int]] = {}
    city = [0, 0, 0]
    index = {ON_TIME: 0, OVERDUE: 1, IRREGULAR: 2}
    for dataset in datasets:
        slot = index[freshness_of(dataset, today).status]
        counts.setdefault(dataset.provider_code, [0, 0, 0])[slot] += 1
        city[slot] += 1
    return OnTimeRatio(*city), {code: OnTimeRatio(*values) for code, values in sorted(counts.items())}
