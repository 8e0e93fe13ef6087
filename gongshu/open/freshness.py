"""Freshness (更新及时性): each open dataset's last update against its 更新周期.

A dataset's last update is its newest publication (every committed batch publishes). Its next
update is due one cycle later (实时 and 每日: the next city day; 每周: 7 days; 每月, 每季度, 每年: the
same day 1, 3 or 12 months later); 不定期 datasets are never overdue and are left out of the ratio.
A dataset never published is due one cycle after its 发布日期. The on-time ratio of a department
or of the city is on-time datasets over on-time plus overdue ones.

Alerts (更新提醒): :func:`sweep` (daily, from the serving process's housekeeping, or
``gongshu open freshness --sweep``) raises one :class:`~gongshu.open.models.OpenFreshnessAlert` per
overdue dataset for its department and resolves it once the dataset is fresh again;
:func:`open_alerts` lists them for a department's pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue.specs import UpdateCycle
from gongshu.open.datasets import OpenDataset, dataset_name, load_open_datasets
from gongshu.open.models import OpenFreshnessAlert
from gongshu.orgs.roles import SYSTEM
from gongshu.quality.calendar import shift_month
from gongshu.security import audit
from gongshu.store.base import CITY_TIMEZONE, city_today, utcnow

if TYPE_CHECKING:
    from gongshu.platform import Platform

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


# --- alerts (更新提醒): overdue datasets raised to their department --------------------------------


@dataclass(frozen=True)
class FreshnessSweep:
    """What one sweep did: the overdue count, and the 资源代码 of the alerts raised and resolved."""

    today: date
    overdue: int
    raised: tuple[str, ...]
    resolved: tuple[str, ...]
    open_alerts: int


def sweep(session: Session, today: date | None = None) -> FreshnessSweep:
    """Raise one alert per overdue open dataset and resolve the alerts of datasets fresh again.

    An entry has at most one open alert. An alert whose due date is no longer the dataset's (it was
    published since, then fell overdue again) is resolved and a new one raised; an entry no longer
    open (or now 不定期) has its alert resolved. Each change appends an audit event.
    """
    day = today or city_today()
    overdue: dict[int, tuple[OpenDataset, Freshness]] = {}
    for dataset in load_open_datasets(session):
        state = freshness_of(dataset, day)
        if state.overdue:
            overdue[dataset.id] = (dataset, state)
    alerts = {a.entry_id: a for a in session.scalars(sa.select(OpenFreshnessAlert).where(_OPEN_ALERT))}
    resolved: list[str] = []
    for entry_id, alert in alerts.items():
        current = overdue.get(entry_id)
        if current is None or current[1].due_on != alert.due_on:
            alert.resolved_at = utcnow()
            resolved.append(alert.entry.code)
            _audit(
                session, "resolve", alert, {"dataset": alert.entry.code, "due_on": alert.due_on.isoformat()}
            )
    raised: list[str] = []
    for entry_id, (dataset, state) in overdue.items():
        existing = alerts.get(entry_id)
        if existing is not None and existing.resolved_at is None:
            continue
        assert state.due_on is not None
        alert = OpenFreshnessAlert(
            entry_id=entry_id, organisation_id=dataset.provider_id, due_on=state.due_on
        )
        session.add(alert)
        session.flush()
        raised.append(dataset.code)
        _audit(
            session,
            "raise",
            alert,
            {"dataset": dataset.code, "due_on": state.due_on.isoformat(), "days_overdue": state.days_overdue},
        )
    return FreshnessSweep(day, len(overdue), tuple(raised), tuple(resolved), len(overdue))


_OPEN_ALERT = OpenFreshnessAlert.resolved_at.is_(None)


def _audit(session: Session, action: str, alert: OpenFreshnessAlert, detail: dict[str, Any]) -> None:
    audit.record(
        session,
        actor=SYSTEM.name,
        action=f"open.freshness.{action}",
        object_type="open_freshness_alert",
        object_id=alert.id,
        detail=detail | {"organisation_id": alert.organisation_id},
    )


def sweep_freshness(platform: Platform, today: date | None = None) -> FreshnessSweep:
    """:func:`sweep` in its own transaction (daily housekeeping, ``gongshu open freshness --sweep``)."""
    with platform.store.session() as session:
        return sweep(session, today)


@dataclass(frozen=True)
class Alert:
    """An open freshness alert as the department sees it."""

    id: int
    dataset: str  # the public name
    code: str
    title: str
    organisation_id: int
    due_on: date
    days_overdue: int
    raised_at: datetime


def open_alerts(
    session: Session, organisation_id: int | None = None, *, today: date | None = None
) -> list[Alert]:
    """The open alerts (of one department, or all), most overdue first."""
    day = today or city_today()
    query = sa.select(OpenFreshnessAlert).where(_OPEN_ALERT)
    if organisation_id is not None:
        query = query.where(OpenFreshnessAlert.organisation_id == organisation_id)
    found = [
        Alert(
            id=a.id,
            dataset=dataset_name(a.entry.code),
            code=a.entry.code,
            title=a.entry.name,
            organisation_id=a.organisation_id,
            due_on=a.due_on,
            days_overdue=max(0, (day - a.due_on).days),
            raised_at=a.raised_at,
        )
        for a in session.scalars(query).unique()
    ]
    return sorted(found, key=lambda a: (-a.days_overdue, a.code))


def ratio_document(counts: OnTimeRatio) -> dict[str, Any]:
    ratio = counts.ratio
    return {
        "on_time": counts.on_time,
        "overdue": counts.overdue,
        "irregular": counts.irregular,
        "ratio": round(ratio, 4) if ratio is not None else None,
    }


def freshness_report(session: Session, today: date | None = None) -> dict[str, Any]:
    """The city's and every department's on-time ratio and the overdue datasets (pages, API, CLI)."""
    day = today or city_today()
    datasets = load_open_datasets(session)
    city, by_department = on_time_ratios(datasets, day)
    names = {d.provider_code: (d.provider_name, d.provider_name_en) for d in datasets}
    alerts = {a.code: a for a in open_alerts(session, today=day)}
    overdue: list[dict[str, Any]] = []
    for dataset in datasets:
        state = freshness_of(dataset, day)
        if not state.overdue:
            continue
        alert = alerts.get(dataset.code)
        overdue.append(
            {
                "name": dataset.name,
                "code": dataset.code,
                "title": dataset.title,
                "department": dataset.provider_code,
                "department_name": dataset.provider_name,
                "department_name_en": dataset.provider_name_en,
                "update_cycle": dataset.update_cycle,
                "last_update": state.last_update,
                "due_on": state.due_on,
                "days_overdue": state.days_overdue,
                "alert_raised_at": alert.raised_at if alert is not None else None,
            }
        )
    overdue.sort(key=lambda row: (-row["days_overdue"], row["code"]))
    return {
        "today": day,
        "city": ratio_document(city),
        "departments": [
            {"code": code, "name": names[code][0], "name_en": names[code][1], **ratio_document(counts)}
            for code, counts in by_department.items()
        ],
        "overdue": overdue,
    }
