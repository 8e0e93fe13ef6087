"""The portal's public statistics (开放统计): what is open, how much it is used, how fresh it is.

Definitions (docs/open-community.md):

- **downloads** (下载量): successful accesses (status < 400) in ``open_accesses`` whose channel is
  ``download`` (a published file) or ``dump`` (the CSV dump URL);
- **API calls** (接口调用): successful accesses on every other data channel — ``datastore_search``
  and the CKAN actions that read data; dataset-page previews (``page``) count as neither;
- **open datasets / departments / published rows**: the open datasets of
  :func:`gongshu.open.datasets.load_open_datasets`, their providers, and their current publications'
  row counts;
- **datasets by department over time**: a dataset counts from the month of its first publication,
  or of its 发布日期 when that is earlier (or when it was never published);
- **on-time ratio**: :func:`gongshu.open.freshness.on_time_ratios`;
- **applications**: ``gongshu.open.applications.application_stats`` when that module provides it,
  else the number of applications filed.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections import Counter
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.open.datasets import OpenDataset, dataset_name, load_open_datasets
from gongshu.open.freshness import on_time_ratios, ratio_document
from gongshu.open.models import OpenAccess, OpenApplication, OpenPublication
from gongshu.quality.calendar import shift_month
from gongshu.store.base import CITY_TIMEZONE

DOWNLOAD_CHANNELS = frozenset({"download", "dump"})
#: Channels that are neither downloads nor API calls.
PAGE_CHANNELS = frozenset({"page", "preview"})
DAYS = 30
MONTHS = 12
TOP = 10


def channel_kind(channel: str) -> str | None:
    """``downloads``, ``api_calls`` or None (page views) for an ``open_accesses.channel``."""
    if channel in DOWNLOAD_CHANNELS:
        return "downloads"
    if channel in PAGE_CHANNELS:
        return None
    return "api_calls"


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_until(today: date, count: int = MONTHS) -> list[str]:
    """The ``count`` city months ending with ``today``'s, oldest first (``YYYY-MM``)."""
    current = _month(today)
    return [shift_month(current, -back) for back in range(count - 1, -1, -1)]


def _usage(session: Session, since: date) -> dict[tuple[date, int, str], int]:
    """Successful accesses since ``since`` by (day, entry id, channel)."""
    rows = session.execute(
        sa.select(OpenAccess.day, OpenAccess.entry_id, OpenAccess.channel, sa.func.count())
        .where(OpenAccess.day >= since, OpenAccess.status < 400)
        .group_by(OpenAccess.day, OpenAccess.entry_id, OpenAccess.channel)
    )
    return {(day, entry, channel): count for day, entry, channel, count in rows}


def _totals_by_entry(session: Session) -> dict[int, Counter[str]]:
    rows = session.execute(
        sa.select(OpenAccess.entry_id, OpenAccess.channel, sa.func.count())
        .where(OpenAccess.status < 400)
        .group_by(OpenAccess.entry_id, OpenAccess.channel)
    )
    totals: dict[int, Counter[str]] = {}
    for entry, channel, count in rows:
        kind = channel_kind(channel)
        if kind is not None:
            totals.setdefault(entry, Counter())[kind] += count
    return totals


def _series(usage: dict[tuple[date, int, str], int], keys: list[str], key_of: Any) -> list[dict[str, Any]]:
    counts: dict[str, Counter[str]] = {key: Counter() for key in keys}
    for (day, _entry, channel), count in usage.items():
        kind, key = channel_kind(channel), key_of(day)
        if kind is not None and key in counts:
            counts[key][kind] += count
    return [
        {"period": k, "downloads": counts[k]["downloads"], "api_calls": counts[k]["api_calls"]} for k in keys
    ]


def _first_publications(session: Session) -> dict[int, date]:
    rows = session.execute(
        sa.select(OpenPublication.entry_id, sa.func.min(OpenPublication.published_at)).group_by(
            OpenPublication.entry_id
        )
    )
    return {entry: first.astimezone(CITY_TIMEZONE).date() for entry, first in rows if first is not None}


def opened_on(dataset: OpenDataset, first_publication: date | None) -> date:
    """When a dataset started counting as open: its first publication or its 发布日期, the earlier."""
    known = [d for d in (first_publication, dataset.publish_date) if d is not None]
    return min(known) if known else dataset.created_at.astimezone(CITY_TIMEZONE).date()


def datasets_over_time(
    session: Session, datasets: list[OpenDataset], months: list[str]
) -> list[dict[str, Any]]:
    """Per department, the open datasets counted at the end of each month of ``months`` (cumulative)."""
    firsts = _first_publications(session)
    rows: dict[str, dict[str, Any]] = {}
    for dataset in datasets:
        month = _month(opened_on(dataset, firsts.get(dataset.id)))
        row = rows.setdefault(
            dataset.provider_code,
            {
                "code": dataset.provider_code,
                "name": dataset.provider_name,
                "name_en": dataset.provider_name_en,
                "opened": [],
            },
        )
        row["opened"].append(month)
    for row in rows.values():
        opened = row.pop("opened")
        row["counts"] = [sum(1 for m in opened if m <= month) for month in months]
    return sorted(rows.values(), key=lambda row: (-row["counts"][-1] if row["counts"] else 0, row["code"]))


def _plain(value: Any) -> Any:
    """Pydantic models and dataclasses (and lists of them) as plain documents."""
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def application_figures(session: Session, today: date) -> Any:
    """The applications statistics of ``gongshu.open.applications`` when it has them (else None)."""
    try:
        module = importlib.import_module("gongshu.open.applications")
    except ImportError:
        return None
    figures = getattr(module, "application_stats", None)
    if not callable(figures):
        return None
    parameters = inspect.signature(figures).parameters
    return _plain(figures(session, today=today) if "today" in parameters else figures(session))


def portal_stats(session: Session, today: date) -> dict[str, Any]:
    """Totals, usage by day (30 days) and month (12 months), datasets by department over time,
    top datasets, on-time ratios and applications, as of the city date ``today``."""
    datasets = load_open_datasets(session)
    months = months_until(today)
    first_day = min(today - timedelta(days=DAYS - 1), date.fromisoformat(months[0] + "-01"))
    usage = _usage(session, first_day)
    days = [(today - timedelta(days=back)) for back in range(DAYS - 1, -1, -1)]
    by_entry = _totals_by_entry(session)
    open_ids = {d.id for d in datasets}
    downloads = sum(c["downloads"] for e, c in by_entry.items() if e in open_ids)
    api_calls = sum(c["api_calls"] for e, c in by_entry.items() if e in open_ids)
    city, departments = on_time_ratios(datasets, today)
    applications = session.scalar(sa.select(sa.func.count()).select_from(OpenApplication)) or 0
    top = sorted(
        (d for d in datasets if by_entry.get(d.id)),
        key=lambda d: (-by_entry[d.id]["downloads"], -by_entry[d.id]["api_calls"], d.code),
    )[:TOP]
    return {
        "today": today,
        "totals": {
            "datasets": len(datasets),
            "departments": len({d.provider_code for d in datasets}),
            "rows": sum(d.publication.rows for d in datasets if d.publication is not None),
            "downloads": downloads,
            "api_calls": api_calls,
            "applications": applications,
        },
        "daily": _series(usage, [d.isoformat() for d in days], lambda day: day.isoformat()),
        "monthly": _series(usage, months, _month),
        "months": months,
        "by_department": datasets_over_time(session, datasets, months),
        "top_datasets": [
            {
                "name": dataset_name(d.code),
                "code": d.code,
                "title": d.title,
                "department": d.provider_code,
                "department_name": d.provider_name,
                "department_name_en": d.provider_name_en,
                "downloads": by_entry[d.id]["downloads"],
                "api_calls": by_entry[d.id]["api_calls"],
            }
            for d in top
        ],
        "on_time": {
            "city": ratio_document(city),
            "departments": {code: ratio_document(counts) for code, counts in departments.items()},
        },
        "applications": application_figures(session, today),
    }
