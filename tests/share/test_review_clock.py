"""The approval clock (审核时限) on a simulated calendar: deadlines in working days, escalation (督办).

The calendar is made up for 2030: 国庆节 rests 10-01 to 10-07, with Sunday 09-29 and Saturday 10-12
made working days (调休). A demand filed on Friday 09-27 has ten working days for the provider's
review: Sun 29, Mon 30, (holiday), Tue 10-08 … Fri 11, Sat 12, Mon 14, Tue 15, Wed 16 → 10-16.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from gongshu.config import Settings
from gongshu.orgs.roles import Principal, Role
from gongshu.platform import Platform
from gongshu.quality.calendar import WorkCalendar
from gongshu.share import demands
from gongshu.share.specs import Decision, DemandCreate
from tests.share.conftest import POPULATION, ensure_user

CALENDAR = WorkCalendar.from_document(
    {
        2030: {
            "holidays": [
                {"name": "国庆节", "rest": ["2030-10-01", "2030-10-07"], "work": ["2030-09-29", "2030-10-12"]}
            ]
        }
    }
)
FRIDAY = date(2030, 9, 27)  # the last working day before 国庆节
DUE = date(2030, 10, 16)


@pytest.fixture(scope="module")
def people(share_platform: Platform) -> dict[str, Principal]:
    return {
        "consumer": ensure_user(share_platform, "d310101_consumer_t", "D310101", [Role.CONSUMER]),
        "reviewer": ensure_user(share_platform, "ga_reviewer_t", "GA", [Role.REVIEWER]),
        "operator": ensure_user(share_platform, "operator_t", "DSJ", [Role.OPERATOR]),
    }


def file(platform: Platform, consumer: Principal, *, settings: Settings | None = None) -> str:
    spec = DemandCreate(
        entry=POPULATION,
        scenario="社区人口服务",
        purpose="为辖区居民办理公共服务核验身份信息",
        legal_basis="《上海市公共数据管理办法》第二十条",
        fields=["id_number", "name", "district_code"],
        row_scope="district",
        method="接口",
        period_end=date(2030, 12, 31),
    )
    with platform.store.session() as session:
        demand = demands.file_demand(
            session, consumer, spec, settings=settings or platform.settings, calendar=CALENDAR, today=FRIDAY
        )
        return demand.code


def swept(platform: Platform, operator: Principal, today: date) -> list[str]:
    with platform.store.session() as session:
        return [d.code for d in demands.sweep(session, operator, today=today)]


def overdue_on(platform: Platform, actor: Principal, side: str, today: date) -> list[str]:
    with platform.store.session() as session:
        return [d.code for d in demands.list_demands(session, actor, side=side, overdue=True, today=today)]


def test_the_calendar_counts_weekends_holidays_and_adjusted_days() -> None:
    assert FRIDAY.weekday() == 4 and CALENDAR.holiday_name(date(2030, 10, 1)) == "国庆节"
    assert CALENDAR.is_working_day(date(2030, 9, 29)) and CALENDAR.is_working_day(date(2030, 10, 12))
    assert not CALENDAR.is_working_day(date(2030, 9, 28)) and not CALENDAR.is_working_day(date(2030, 10, 13))
    assert CALENDAR.working_days_between(FRIDAY, DUE) == 10


def test_the_provider_review_escalates_once_the_day_after_its_deadline(
    share_platform: Platform, people: dict[str, Principal]
) -> None:
    code = file(share_platform, people["consumer"])
    with share_platform.store.session() as session:
        demand = demands.get_demand(session, people["operator"], code)
        assert demand.status == "provider_review" and demand.provider_due == DUE
        assert demand.platform_due is None and demand.escalated_at is None

    assert code not in swept(share_platform, people["operator"], DUE)  # the last day is still in time
    assert code not in overdue_on(share_platform, people["consumer"], "consumer", DUE)

    late = DUE + timedelta(days=1)
    assert code in swept(share_platform, people["operator"], late)
    assert swept(share_platform, people["operator"], late) == []  # idempotent
    assert code not in swept(share_platform, people["operator"], late + timedelta(days=3))
    with share_platform.store.session() as session:
        demand = demands.get_demand(session, people["consumer"], code)
        assert demand.escalated_at is not None
        assert [e.action for e in demand.events] == ["file", "escalate"]
        assert demand.events[-1].note == f"审核超期 overdue since {DUE}"
        assert demands.demand_public(session, demand, today=late).overdue
        assert not demands.demand_public(session, demand, today=DUE).overdue

    assert code in overdue_on(share_platform, people["consumer"], "consumer", late)
    assert code in overdue_on(share_platform, people["reviewer"], "provider", late)
    assert code not in overdue_on(share_platform, people["reviewer"], "consumer", late)


def test_the_platform_review_gets_its_own_deadline(
    share_platform: Platform, people: dict[str, Principal]
) -> None:
    code = file(share_platform, people["consumer"])
    swept(share_platform, people["operator"], DUE + timedelta(days=1))
    approved_on = date(2030, 10, 18)  # a Friday, two days late
    with share_platform.store.session() as session:
        demand = demands.decide(
            session, people["reviewer"], code, Decision(approve=True, reason="同意"),
            settings=share_platform.settings, calendar=CALENDAR, today=approved_on,
        )  # fmt: skip
        assert demand.status == "platform_review"
        assert demand.platform_due == date(2030, 10, 25)  # five working days, over a weekend
        assert demand.escalated_at is None  # the platform's clock starts clean

    platform_due = date(2030, 10, 25)
    assert code not in swept(share_platform, people["operator"], platform_due)
    assert code not in overdue_on(share_platform, people["consumer"], "consumer", platform_due)
    assert code in swept(share_platform, people["operator"], platform_due + timedelta(days=1))
    assert code in overdue_on(
        share_platform, people["reviewer"], "provider", platform_due + timedelta(days=1)
    )
    with share_platform.store.session() as session:
        demand = demands.get_demand(session, people["operator"], code)
        assert [e.action for e in demand.events] == ["file", "escalate", "provider_approve", "escalate"]
        demand = demands.decide(
            session, people["operator"], code, Decision(approve=True), settings=share_platform.settings
        )
        assert demand.status == "granted" and demand.escalated_at is None
    assert code not in overdue_on(share_platform, people["consumer"], "consumer", date(2030, 12, 1))


def test_review_days_are_configurable(share_platform: Platform, people: dict[str, Principal]) -> None:
    settings = share_platform.settings.model_copy(update={"share_review_days": 3})
    code = file(share_platform, people["consumer"], settings=settings)
    with share_platform.store.session() as session:
        # Sun 09-29 (调休), Mon 09-30, then the first day after the holiday.
        assert demands.get_demand(session, people["operator"], code).provider_due == date(2030, 10, 8)
    assert code in swept(share_platform, people["operator"], date(2030, 10, 9))


def test_only_operators_sweep(share_platform: Platform, people: dict[str, Principal]) -> None:
    from gongshu.errors import PermissionDenied

    with pytest.raises(PermissionDenied), share_platform.store.session() as session:
        demands.sweep(session, people["reviewer"], today=DUE)
