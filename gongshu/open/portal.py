"""The public portal's pages as data (开放门户): the home page and the department pages.

Each function returns the context of one page, which is also its JSON twin, so everything in it is
public: open datasets' catalogue fields and published (一般) 信息项 only, counts and ratios, never a
不予开放 entry, a draft or an item that is not published. The dataset page lives in
:mod:`gongshu.open.portal_dataset`.

Definitions the pages share:

* *downloads* (下载量) and *API calls* (接口调用) as :mod:`gongshu.open.stats` defines them
  (successful accesses; the dataset page's ``preview`` counts as neither); the home page's totals
  are :func:`gongshu.open.stats.portal_stats`'s;
* *published rows* (开放数据量): the rows of every dataset's current publication;
* the on-time ratio (更新及时率) is :func:`gongshu.open.freshness.on_time_ratios`'s; overdue alerts
  are :func:`gongshu.open.freshness.open_alerts`; response times (working days) are
  :func:`gongshu.open.community.response_stats`'s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue.specs import Theme
from gongshu.errors import NotFound
from gongshu.open.community import response_stats
from gongshu.open.datasets import OpenDataset, load_open_datasets
from gongshu.open.freshness import OVERDUE, OnTimeRatio, freshness_of, on_time_ratios, open_alerts
from gongshu.open.models import OpenAccess
from gongshu.open.stats import DOWNLOAD_CHANNELS, PAGE_CHANNELS, portal_stats
from gongshu.orgs.models import Organisation

#: Datasets listed in each of the home page's highlights.
HIGHLIGHTS = 6
SUMMARY_CHARS = 90


@dataclass(frozen=True)
class Usage:
    """How often a dataset's data was taken: downloads and API calls (successful accesses)."""

    downloads: int = 0
    api_calls: int = 0


def usage_by_entry(session: Session) -> dict[int, Usage]:
    """Downloads and API calls of every dataset, by entry id (from the access log)."""
    rows = session.execute(
        sa.select(OpenAccess.entry_id, OpenAccess.channel, sa.func.count(OpenAccess.id))
        .where(OpenAccess.status < 400)
        .group_by(OpenAccess.entry_id, OpenAccess.channel)
    ).all()
    downloads: Counter[int] = Counter()
    calls: Counter[int] = Counter()
    for entry_id, channel, count in rows:
        if channel in DOWNLOAD_CHANNELS:
            downloads[entry_id] += count
        elif channel not in PAGE_CHANNELS:
            calls[entry_id] += count
    return {key: Usage(downloads[key], calls[key]) for key in set(downloads) | set(calls)}


def headline(datasets: Sequence[OpenDataset], usage: dict[int, Usage]) -> dict[str, int]:
    """The home page's numbers: open datasets, departments, published rows, downloads, API calls."""
    open_ids = {d.id for d in datasets}
    counted = [u for key, u in usage.items() if key in open_ids]
    return {
        "datasets": len(datasets),
        "unconditional": sum(1 for d in datasets if d.unconditional),
        "departments": len({d.provider_code for d in datasets}),
        "rows": sum(d.publication.rows for d in datasets if d.publication is not None),
        "downloads": sum(u.downloads for u in counted),
        "api_calls": sum(u.api_calls for u in counted),
    }


def theme_counts(datasets: Iterable[OpenDataset]) -> list[dict[str, Any]]:
    """The twelve 数据领域 in their official order, each with its number of open datasets."""
    counts = Counter(d.theme for d in datasets if d.theme)
    return [
        {"theme": theme.value, "key": theme.name.lower(), "count": counts[theme.value]} for theme in Theme
    ]


def theme_key(theme: str | None) -> str | None:
    """The message key of a 数据领域 (``经济建设`` → ``economy``); None when unset or unknown."""
    for member in Theme:
        if member.value == theme:
            return member.name.lower()
    return None


def dataset_card(dataset: OpenDataset, usage: Usage | None = None) -> dict[str, Any]:
    """The public summary of a dataset in lists (home highlights, department pages)."""
    summary = dataset.summary
    return {
        "name": dataset.name,
        "code": dataset.code,
        "title": dataset.title,
        "summary": summary if len(summary) <= SUMMARY_CHARS else summary[:SUMMARY_CHARS] + "…",
        "provider_code": dataset.provider_code,
        "provider_name": dataset.provider_name,
        "provider_name_en": dataset.provider_name_en,
        "theme": dataset.theme,
        "theme_key": theme_key(dataset.theme),
        "open_type": dataset.open_type,
        "update_cycle": dataset.update_cycle,
        "format": dataset.format,
        "modified": dataset.modified,
        "rows": dataset.publication.rows if dataset.publication is not None else None,
        "downloads": usage.downloads if usage is not None else 0,
        "api_calls": usage.api_calls if usage is not None else 0,
    }


def ratio_doc(ratio: OnTimeRatio | None) -> dict[str, Any]:
    """An on-time ratio as the pages show it (``ratio`` None when no dataset is periodic)."""
    if ratio is None:
        return {"on_time": 0, "overdue": 0, "irregular": 0, "ratio": None}
    return {
        "on_time": ratio.on_time,
        "overdue": ratio.overdue,
        "irregular": ratio.irregular,
        "ratio": round(ratio.ratio, 4) if ratio.ratio is not None else None,
    }


def home_page(session: Session, *, today: date) -> dict[str, Any]:
    """The portal's home page: numbers, the 数据领域 grid, the newest and the most downloaded datasets."""
    datasets = load_open_datasets(session)
    usage = usage_by_entry(session)
    newest = sorted(datasets, key=lambda d: d.modified, reverse=True)[:HIGHLIGHTS]
    downloaded = sorted(
        (d for d in datasets if usage.get(d.id, Usage()).downloads),
        key=lambda d: (-usage[d.id].downloads, d.code),
    )[:HIGHLIGHTS]
    city, _ = on_time_ratios(datasets, today)
    totals = portal_stats(session, today)["totals"]
    return {
        "stats": {key: totals[key] for key in ("datasets", "departments", "rows", "downloads", "api_calls")},
        "on_time": ratio_doc(city),
        "themes": theme_counts(datasets),
        "newest": [dataset_card(d, usage.get(d.id)) for d in newest],
        "most_downloaded": [dataset_card(d, usage.get(d.id)) for d in downloaded],
    }


# --- departments -----------------------------------------------------------------------------------


def departments_page(session: Session, *, today: date) -> dict[str, Any]:
    """Every department with open datasets: how many, their rows and downloads, the on-time ratio."""
    datasets = load_open_datasets(session)
    usage = usage_by_entry(session)
    city, ratios = on_time_ratios(datasets, today)
    by_org: dict[str, list[OpenDataset]] = {}
    for dataset in datasets:
        by_org.setdefault(dataset.provider_code, []).append(dataset)
    departments: list[dict[str, Any]] = [
        {
            "code": code,
            "name": group[0].provider_name,
            "name_en": group[0].provider_name_en,
            "datasets": len(group),
            "unconditional": sum(1 for d in group if d.unconditional),
            "rows": sum(d.publication.rows for d in group if d.publication is not None),
            "downloads": sum(usage.get(d.id, Usage()).downloads for d in group),
            "on_time": ratio_doc(ratios.get(code)),
        }
        for code, group in by_org.items()
    ]
    departments.sort(key=lambda d: (-len(by_org[d["code"]]), d["code"]))
    return {"departments": departments, "on_time": ratio_doc(city)}


def department_page(session: Session, org_code: str, *, today: date) -> dict[str, Any]:
    """One department's open datasets with their freshness, its overdue alerts and reply times.

    A department without open datasets is reported like an unknown one (404).
    """
    organisation = session.scalar(sa.select(Organisation).where(Organisation.code == org_code))
    datasets = [d for d in load_open_datasets(session) if d.provider_code == org_code]
    if organisation is None or not datasets:
        raise NotFound(f"no department {org_code!r} with open datasets", value=org_code)
    usage = usage_by_entry(session)
    _, ratios = on_time_ratios(datasets, today)
    cards = []
    for dataset in datasets:
        fresh = freshness_of(dataset, today)
        cards.append(
            dataset_card(dataset, usage.get(dataset.id))
            | {"freshness": fresh.status, "due_on": fresh.due_on, "days_overdue": fresh.days_overdue}
        )
    cards.sort(key=lambda c: (c["freshness"] != OVERDUE, c["code"]))
    return {
        "department": {
            "code": organisation.code,
            "name": organisation.name,
            "name_en": organisation.name_en,
            "uscc": organisation.uscc,
            "kind": organisation.kind,
        },
        "stats": headline(datasets, usage),
        "on_time": ratio_doc(ratios.get(org_code)),
        "datasets": cards,
        "alerts": overdue_alerts(session, organisation.id, {d.name for d in datasets}, today=today),
        "requests": request_times(session, organisation.code, today=today),
    }


def overdue_alerts(
    session: Session, organisation_id: int, names: set[str], *, today: date
) -> list[dict[str, Any]]:
    """The department's open freshness alerts (更新逾期提醒) on its open datasets, most overdue first."""
    return [
        {
            "name": alert.dataset,
            "title": alert.title,
            "due_on": alert.due_on,
            "days_overdue": alert.days_overdue,
            "raised_at": alert.raised_at,
        }
        for alert in open_alerts(session, organisation_id, today=today)
        if alert.dataset in names  # an alert on an entry no longer open stays private
    ]


def request_times(session: Session, org_code: str, *, today: date) -> dict[str, Any]:
    """Data requests and feedback addressed to the department and its response time in working days
    (:func:`gongshu.open.community.response_stats`)."""
    for row in response_stats(session, today=today):
        if row.code == org_code:
            return {
                "received": row.received,
                "replied": row.replied,
                "open": row.open,
                "overdue": row.overdue,
                "average_days": row.average_days,
                "median_days": row.median_days,
            }
    return {"received": 0, "replied": 0, "open": 0, "overdue": 0, "average_days": None, "median_days": None}
