"""Freshness (更新及时性): status per update cycle, month ends, 不定期, alerts raised once and resolved."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gongshu.cli.main import app as cli
from gongshu.demo import DEMO_PASSWORD
from gongshu.open import freshness
from gongshu.open.datasets import OpenDataset, Publication, load_open_datasets
from gongshu.open.freshness import IRREGULAR, ON_TIME, OVERDUE, freshness_of, next_due, on_time_ratios
from gongshu.open.models import OpenFreshnessAlert
from gongshu.platform import Platform
from gongshu.security.models import AuditEvent
from gongshu.service import create_app
from gongshu.share.housekeeping import run_once
from gongshu.store.base import CITY_TIMEZONE, city_today
from tests.open.conftest import ADDRESSES
from tests.web.web_support import sign_in


@pytest.mark.parametrize(
    ("last", "cycle", "due"),
    [
        (date(2026, 1, 31), "每月", date(2026, 2, 28)),
        (date(2028, 1, 31), "每月", date(2028, 2, 29)),
        (date(2026, 3, 31), "每月", date(2026, 4, 30)),
        (date(2026, 12, 15), "每月", date(2027, 1, 15)),
        (date(2026, 11, 30), "每季度", date(2027, 2, 28)),
        (date(2026, 8, 31), "每季度", date(2026, 11, 30)),
        (date(2024, 2, 29), "每年", date(2025, 2, 28)),
        (date(2026, 12, 28), "每周", date(2027, 1, 4)),
        (date(2026, 12, 31), "每日", date(2027, 1, 1)),
        (date(2026, 12, 31), "实时", date(2027, 1, 1)),
        (date(2026, 12, 31), "不定期", None),
    ],
)
def test_next_due_per_cycle_including_month_ends(last: date, cycle: str, due: date | None) -> None:
    assert next_due(last, cycle) == due


def published(day: date) -> Publication:
    moment = datetime.combine(day, time(23, 30), CITY_TIMEZONE).astimezone(UTC)  # a late city evening
    return Publication(1, moment, 10, ("a",), "x.parquet", {}, None)


@pytest.fixture(scope="module")
def sample(portal: Platform) -> OpenDataset:
    with portal.store.session() as session:
        return next(d for d in load_open_datasets(session) if d.code == ADDRESSES)


def test_freshness_status_on_and_after_the_due_date(sample: OpenDataset) -> None:
    monthly = dataclasses.replace(sample, update_cycle="每月", publication=published(date(2026, 1, 31)))
    on_due = freshness_of(monthly, date(2026, 2, 28))
    assert (on_due.status, on_due.last_update, on_due.due_on) == (
        ON_TIME,
        date(2026, 1, 31),
        date(2026, 2, 28),
    )
    late = freshness_of(monthly, date(2026, 3, 3))
    assert late.status == OVERDUE and late.days_overdue == 3 and late.overdue
    irregular = dataclasses.replace(monthly, update_cycle="不定期")
    assert freshness_of(irregular, date(2030, 1, 1)).status == IRREGULAR
    never = dataclasses.replace(sample, update_cycle="每年", publication=None, publish_date=date(2025, 6, 1))
    assert freshness_of(never, date(2026, 6, 1)).status == ON_TIME
    assert freshness_of(never, date(2026, 6, 2)).status == OVERDUE


def test_on_time_ratios_leave_irregular_out(sample: OpenDataset) -> None:
    day = date(2026, 3, 1)
    fresh = dataclasses.replace(sample, update_cycle="每日", publication=published(date(2026, 2, 28)))
    stale = dataclasses.replace(sample, update_cycle="每周", publication=published(date(2026, 2, 1)))
    irregular = dataclasses.replace(sample, update_cycle="不定期")
    city, departments = on_time_ratios([fresh, stale, fresh, irregular], day)
    assert (city.on_time, city.overdue, city.irregular) == (2, 1, 1)
    assert city.ratio == pytest.approx(2 / 3)
    assert departments[sample.provider_code] == city
    assert on_time_ratios([irregular], day)[0].ratio is None


def alerts_of(platform: Platform) -> list[OpenFreshnessAlert]:
    with platform.store.session() as session:
        found = list(session.scalars(sa.select(OpenFreshnessAlert).order_by(OpenFreshnessAlert.id)).unique())
        session.expunge_all()
        return found


def test_alerts_are_raised_once_and_resolved(portal: Platform) -> None:
    today = city_today()
    far = today + timedelta(days=800)  # every periodic dataset is overdue by then
    with portal.store.session() as session:
        periodic = [d for d in load_open_datasets(session) if freshness_of(d, far).overdue]
        fresh_today = {d.code for d in periodic if not freshness_of(d, today).overdue}
    assert periodic, "the demo has periodic open datasets"
    first = freshness.sweep_freshness(portal, far)
    assert set(first.raised) >= {d.code for d in periodic} - set(first.resolved)
    assert first.overdue == len(periodic)
    again = freshness.sweep_freshness(portal, far)
    assert again.raised == () and again.resolved == ()
    open_now = [a for a in alerts_of(portal) if a.resolved_at is None]
    assert len(open_now) == len(periodic) == len({a.entry_id for a in open_now})
    with portal.store.session() as session:
        provider = periodic[0].provider_id
        listed = freshness.open_alerts(session, provider, today=far)
        assert listed and all(a.organisation_id == provider for a in listed)
        assert listed[0].days_overdue >= listed[-1].days_overdue > 0
        raised = session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "open.freshness.raise")
        )
        assert raised is not None and raised >= len(periodic)
    back = freshness.sweep_freshness(portal, today)
    assert set(back.resolved) == fresh_today
    with portal.store.session() as session:
        still = {a.code for a in freshness.open_alerts(session)}
    assert still.isdisjoint(fresh_today)
    assert len(still) == back.overdue


def test_housekeeping_runs_the_sweep(portal: Platform) -> None:
    run_once(portal)
    with portal.store.session() as session:
        report = freshness.freshness_report(session)
        alerts = {a.code for a in freshness.open_alerts(session)}
    assert alerts == {row["code"] for row in report["overdue"]}


def test_cli_and_pages_show_ratios_and_alerts(portal: Platform) -> None:
    result = CliRunner().invoke(
        cli, ["open", "freshness", "--sweep", "--json", "--data-dir", str(portal.settings.data_dir)]
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert {"city", "departments", "overdue", "sweep"} <= set(shown)
    assert shown["city"]["on_time"] + shown["city"]["overdue"] + shown["city"]["irregular"] > 0
    table = CliRunner().invoke(cli, ["open", "freshness", "--data-dir", str(portal.settings.data_dir)])
    assert table.exit_code == 0 and "city on-time" in table.output
    with TestClient(create_app(portal)) as client:
        for lang, heading in (("zh-CN", "更新及时性"), ("en", "Freshness")):
            page = client.get("/open/freshness", params={"lang": lang})
            assert page.status_code == 200 and heading in page.text
        twin = client.get("/open/freshness.json").json()
        assert twin["city"] == shown["city"] and twin["my_alerts"] is None
        api = client.get("/api/v1/open/freshness", params={"department": "GHZY"}).json()
        assert api["departments"] == shown["departments"]
        assert client.post("/api/v1/open/freshness/sweep").status_code == 401


def test_a_steward_sees_the_department_alerts(portal: Platform) -> None:
    with portal.store.session() as session:
        datasets = {d.code: d for d in load_open_datasets(session)}
    addresses = datasets[ADDRESSES]
    due = freshness_of(addresses, city_today()).due_on
    if due is None:
        pytest.skip("标准地址信息 is 不定期 in this demo")
    with portal.store.session() as session:  # an open alert of GHZY, as a sweep on a later day leaves it
        mine = OpenFreshnessAlert.entry_id == addresses.id
        session.execute(sa.update(OpenFreshnessAlert).where(mine).values(resolved_at=datetime.now(UTC)))
        session.add(
            OpenFreshnessAlert(entry_id=addresses.id, organisation_id=addresses.provider_id, due_on=due)
        )
    with TestClient(create_app(portal)) as steward:
        sign_in(steward, "ghzy_steward", DEMO_PASSWORD)
        mine = steward.get("/open/freshness.json").json()["my_alerts"]
        assert ADDRESSES in [a["code"] for a in mine]
        home = steward.get("/index.json").json()
        assert ADDRESSES in [a["code"] for a in home["open_alerts"]]
        assert addresses.title in steward.get("/").text
