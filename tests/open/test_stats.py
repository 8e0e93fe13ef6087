"""Portal statistics (开放统计): figures match the inserted ``open_accesses`` rows; the page renders."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gongshu.open.datasets import load_open_datasets
from gongshu.open.freshness import on_time_ratios, ratio_document
from gongshu.open.models import OpenAccess
from gongshu.open.stats import channel_kind, months_until, portal_stats
from gongshu.platform import Platform
from gongshu.service import create_app
from gongshu.store.base import CITY_TIMEZONE, city_today
from tests.browser_support import ARTIFACTS, chromium, served
from tests.open.conftest import ADDRESSES

#: (days ago, channel, status, how many)
ACCESSES = [
    (0, "download", 200, 3),
    (0, "dump", 200, 2),
    (0, "datastore_search", 200, 4),
    (0, "package_show", 200, 1),  # a CKAN action
    (0, "page", 200, 5),  # a preview: neither
    (0, "download", 429, 7),  # refused: not counted
    (1, "datastore_search", 200, 2),
    (45, "download", 200, 6),  # outside the 30 days, inside the 12 months
    (500, "download", 200, 9),  # outside both windows, still in the totals
]


def test_channel_kinds() -> None:
    assert [channel_kind(c) for c in ("download", "dump", "datastore_search", "ckan", "page")] == [
        "downloads", "downloads", "api_calls", "api_calls", None,
    ]  # fmt: skip


def test_months_until_crosses_the_year() -> None:
    assert months_until(date(2026, 2, 10), 3) == ["2025-12", "2026-01", "2026-02"]


def insert_accesses(platform: Platform, today: date) -> int:
    with platform.store.session() as session:
        entry_id = next(d.id for d in load_open_datasets(session) if d.code == ADDRESSES)
        for ago, channel, status, count in ACCESSES:
            day = today - timedelta(days=ago)
            at = datetime.combine(day, time(10), CITY_TIMEZONE).astimezone(UTC)
            for _ in range(count):
                session.add(
                    OpenAccess(
                        at=at, day=day, entry_id=entry_id, caller="anonymous", channel=channel, status=status
                    )
                )
    return entry_id


def by_period(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["period"]: row for row in rows}


def test_figures_match_the_inserted_accesses(portal: Platform) -> None:
    today = city_today()
    with portal.store.session() as session:
        before = portal_stats(session, today)
    insert_accesses(portal, today)
    with portal.store.session() as session:
        after = portal_stats(session, today)
        datasets = load_open_datasets(session)
    assert after["totals"]["downloads"] - before["totals"]["downloads"] == 3 + 2 + 6 + 9
    assert after["totals"]["api_calls"] - before["totals"]["api_calls"] == 4 + 1 + 2
    days_before, days_after = by_period(before["daily"]), by_period(after["daily"])
    assert len(after["daily"]) == 30 and after["daily"][-1]["period"] == today.isoformat()
    now, yesterday = today.isoformat(), (today - timedelta(days=1)).isoformat()
    assert days_after[now]["downloads"] - days_before[now]["downloads"] == 5
    assert days_after[now]["api_calls"] - days_before[now]["api_calls"] == 5
    assert days_after[yesterday]["api_calls"] - days_before[yesterday]["api_calls"] == 2
    assert sum(r["downloads"] for r in after["daily"]) - sum(r["downloads"] for r in before["daily"]) == 5
    months_before, months_after = by_period(before["monthly"]), by_period(after["monthly"])
    assert len(after["monthly"]) == 12 and after["months"][-1] == f"{today.year:04d}-{today.month:02d}"
    monthly_downloads = sum(r["downloads"] for r in after["monthly"]) - sum(
        r["downloads"] for r in before["monthly"]
    )
    assert monthly_downloads == 5 + 6
    old = today - timedelta(days=45)
    old_month = f"{old.year:04d}-{old.month:02d}"
    assert months_after[old_month]["downloads"] - months_before[old_month]["downloads"] >= 6
    top = {row["code"]: row for row in after["top_datasets"]}
    assert top[ADDRESSES]["downloads"] >= 20 and top[ADDRESSES]["api_calls"] >= 7
    assert after["totals"]["datasets"] == len(datasets)
    assert after["totals"]["departments"] == len({d.provider_code for d in datasets})
    assert after["totals"]["rows"] == sum(d.publication.rows for d in datasets if d.publication)
    city, departments = on_time_ratios(datasets, today)
    assert after["on_time"]["city"] == ratio_document(city)
    assert set(after["on_time"]["departments"]) == set(departments)


def test_datasets_by_department_are_cumulative(portal: Platform) -> None:
    with portal.store.session() as session:
        figures = portal_stats(session, city_today())
        datasets = load_open_datasets(session)
    rows = {row["code"]: row for row in figures["by_department"]}
    assert set(rows) == {d.provider_code for d in datasets}
    for row in rows.values():
        assert len(row["counts"]) == 12
        assert row["counts"] == sorted(row["counts"])  # never decreasing
        assert row["counts"][-1] == sum(1 for d in datasets if d.provider_code == row["code"])


@pytest.mark.parametrize(("lang", "heading"), [("zh-CN", "开放统计"), ("en", "Statistics")])
def test_stats_page_renders_with_charts(portal: Platform, lang: str, heading: str) -> None:
    with TestClient(create_app(portal)) as client:
        page = client.get("/open/stats", params={"lang": lang})
        assert page.status_code == 200, page.text
        assert heading in page.text and page.text.count("<svg") >= 3
        twin = client.get("/open/stats.json").json()
        assert {"totals", "daily", "monthly", "by_department", "top_datasets", "on_time"} <= set(twin)
        api = client.get("/api/v1/open/stats").json()
        assert api["totals"] == twin["totals"]


@pytest.mark.browser
def test_stats_page_in_a_browser(portal: Platform) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with served(portal) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.goto(f"{url}/open/stats")
        assert page.locator("h1").inner_text() == "开放统计"
        assert page.locator("svg.chart").count() >= 3
        page.screenshot(path=str(ARTIFACTS / "open-comm-stats.png"), full_page=True)
