"""The working-day calendar: known days of every year's notice, deadlines across holidays, errors."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongshu.errors import ConfigError, ValidationFailed
from gongshu.quality.calendar import OutsideCalendar, WorkCalendar, load_calendar, read_document

D = date.fromisoformat
HOLIDAYS = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")

#: (day, working?, holiday name or None) straight from the State Council's notices.
KNOWN = [
    # 2020: 春节 extended to 02-02, so Saturday 02-01 was no longer a working day
    ("2020-01-01", False, "元旦"),
    ("2020-01-19", True, None),
    ("2020-01-31", False, "春节"),
    ("2020-02-01", False, "春节"),
    ("2020-02-03", True, None),
    ("2020-06-28", True, None),
    ("2020-10-08", False, "国庆节、中秋节"),
    ("2020-10-10", True, None),
    # 2021
    ("2021-02-07", True, None),
    ("2021-02-11", False, "春节"),
    ("2021-09-18", True, None),
    ("2021-09-20", False, "中秋节"),
    ("2021-10-09", True, None),
    # 2022
    ("2022-01-29", True, None),
    ("2022-01-30", True, None),
    ("2022-04-02", True, None),
    ("2022-10-08", True, None),
    ("2022-12-31", False, "元旦"),  # the 2023 元旦 holiday starts in 2022
    # 2023
    ("2023-01-02", False, "元旦"),
    ("2023-01-28", True, None),
    ("2023-04-05", False, "清明节"),
    ("2023-06-25", True, None),
    ("2023-09-29", False, "中秋节、国庆节"),
    ("2023-10-07", True, None),
    # 2024
    ("2024-02-04", True, None),
    ("2024-02-09", True, None),  # 除夕 was a working day in 2024 (leave encouraged, not given)
    ("2024-02-10", False, "春节"),
    ("2024-02-17", False, "春节"),
    ("2024-02-18", True, None),
    ("2024-04-07", True, None),
    ("2024-05-11", True, None),
    ("2024-06-10", False, "端午节"),
    ("2024-09-14", True, None),
    ("2024-09-29", True, None),
    ("2024-10-12", True, None),
    # 2025 (13 statutory days: 除夕 and 5月2日 added)
    ("2025-01-01", False, "元旦"),
    ("2025-01-26", True, None),
    ("2025-01-28", False, "春节"),
    ("2025-02-04", False, "春节"),
    ("2025-02-08", True, None),
    ("2025-04-27", True, None),
    ("2025-05-31", False, "端午节"),
    ("2025-09-28", True, None),
    ("2025-10-06", False, "国庆节、中秋节"),
    ("2025-10-11", True, None),
    # 2026
    ("2026-01-01", False, "元旦"),
    ("2026-01-04", True, None),
    ("2026-02-14", True, None),
    ("2026-02-15", False, "春节"),
    ("2026-02-23", False, "春节"),
    ("2026-02-28", True, None),
    ("2026-05-09", True, None),
    ("2026-09-20", True, None),
    ("2026-10-07", False, "国庆节"),
    ("2026-10-10", True, None),
    # 2027 (derived, not yet announced)
    ("2027-01-01", False, "元旦"),
    ("2027-10-01", False, "国庆节"),
    # ordinary days
    ("2024-03-02", False, None),  # a Saturday
    ("2024-03-04", True, None),  # a Monday
]


@pytest.mark.parametrize(("day", "working", "name"), KNOWN)
def test_known_days_of_the_notices(day: str, working: bool, name: str | None) -> None:
    calendar = load_calendar()
    assert calendar.is_working_day(D(day)) is working
    assert calendar.holiday_name(D(day)) == name


@pytest.mark.parametrize("day", ["2024-10-01", "2024-10-02", "2024-10-03", "2024-10-04", "2024-10-07"])
def test_national_day_2024_is_a_week_off(day: str) -> None:
    assert not load_calendar().is_working_day(D(day))
    assert load_calendar().holiday_name(D(day)) == "国庆节"


def test_spring_festival_2025_runs_from_chuxi_to_the_seventh_day() -> None:
    calendar = load_calendar()
    rest = [D("2025-01-28") + timedelta(days=i) for i in range(8)]
    assert [calendar.holiday_name(d) for d in rest] == ["春节"] * 8
    assert calendar.is_working_day(D("2025-01-27")) and calendar.is_working_day(D("2025-02-05"))
    assert calendar.adjusted_for(D("2025-01-26")) == "春节"
    assert calendar.adjusted_for(D("2025-01-27")) is None


def test_every_year_is_complete() -> None:
    calendar = load_calendar()
    assert calendar.years == range(2020, 2028)
    document = read_document()
    for year in calendar.years:
        names = {part for h in document[year]["holidays"] for part in h["name"].split("、")}
        assert names == set(HOLIDAYS), year
        summary = calendar.year_summary(year)
        assert 245 <= summary["working"] <= 252, (year, summary)
        assert document[year]["url"] or document[year].get("derived"), year
    assert document[2027]["derived"] is True
    # the totals published with the notices
    assert calendar.year_summary(2024)["working"] == 251
    assert calendar.year_summary(2025)["working"] == 248


def test_adjusted_working_days_are_weekend_days_and_never_rest_days() -> None:
    calendar = load_calendar()
    for holiday in calendar.holidays:
        for day in holiday.working:
            assert day.weekday() >= 5, (holiday.name, day)
            assert calendar.is_working_day(day)
            assert calendar.holiday_name(day) is None


def test_add_working_days_across_the_spring_festival() -> None:
    calendar = load_calendar()
    assert calendar.add_working_days(D("2025-01-24"), 1) == D("2025-01-26")  # Sunday, 调休上班
    assert calendar.add_working_days(D("2025-01-24"), 2) == D("2025-01-27")
    assert calendar.add_working_days(D("2025-01-24"), 3) == D("2025-02-05")  # after 8 days off
    assert calendar.add_working_days(D("2024-02-08"), 2) == D("2024-02-18")  # Sunday, 调休上班
    assert calendar.add_working_days(D("2026-02-13"), 1) == D("2026-02-14")
    assert calendar.add_working_days(D("2026-02-13"), 2) == D("2026-02-24")


def test_add_working_days_across_national_day() -> None:
    calendar = load_calendar()
    assert calendar.add_working_days(D("2024-09-27"), 5) == D("2024-10-10")  # 09-29 counts
    assert calendar.add_working_days(D("2024-09-30"), 1) == D("2024-10-08")
    assert calendar.add_working_days(D("2025-09-30"), 5) == D("2025-10-14")  # 10-11 counts
    assert calendar.add_working_days(D("2023-12-29"), 1) == D("2024-01-02")  # across the year


def test_zero_working_days_is_the_day_itself_or_the_next_working_day() -> None:
    calendar = load_calendar()
    assert calendar.add_working_days(D("2024-10-08"), 0) == D("2024-10-08")
    assert calendar.add_working_days(D("2024-10-03"), 0) == D("2024-10-08")
    assert calendar.add_working_days(D("2024-02-18"), 0) == D("2024-02-18")  # a working Sunday
    assert calendar.add_working_days(D("2024-03-02"), 0) == D("2024-03-04")


def test_working_days_between() -> None:
    calendar = load_calendar()
    assert calendar.working_days_between(D("2024-09-27"), D("2024-10-10")) == 5
    assert calendar.working_days_between(D("2024-10-10"), D("2024-09-27")) == -5
    assert calendar.working_days_between(D("2024-10-01"), D("2024-10-07")) == 0
    assert calendar.working_days_between(D("2024-10-08"), D("2024-10-08")) == 0


def test_dates_outside_the_calendar_are_a_clear_error() -> None:
    calendar = load_calendar()
    with pytest.raises(OutsideCalendar) as caught:
        calendar.is_working_day(D("2019-12-31"))
    assert isinstance(caught.value, ValidationFailed)
    assert caught.value.code == "outside_calendar" and caught.value.http_status == 422
    assert "2020–2027" in caught.value.message
    assert caught.value.hint and "holidays.yaml" in caught.value.hint and "2019" in caught.value.hint
    with pytest.raises(OutsideCalendar):
        calendar.holiday_name(D("2028-01-01"))
    with pytest.raises(OutsideCalendar):
        calendar.add_working_days(D("2027-12-30"), 5)  # runs into 2028
    with pytest.raises(OutsideCalendar):
        calendar.working_days_between(D("2027-12-01"), D("2028-01-10"))
    with pytest.raises(ValidationFailed):
        calendar.add_working_days(D("2024-10-08"), -1)


def test_a_calendar_from_a_document() -> None:
    calendar = WorkCalendar.from_document(
        {
            2024: {
                "holidays": [{"name": "国庆节", "rest": ["2024-10-01", "2024-10-07"], "work": ["2024-09-29"]}]
            }
        }
    )
    assert calendar.years == range(2024, 2025)
    assert calendar.is_working_day(D("2024-09-29")) and not calendar.is_working_day(D("2024-10-04"))
    assert calendar.is_working_day(D("2024-02-12"))  # nothing else declared: an ordinary Monday
    assert load_calendar() is load_calendar()  # the packaged one is loaded once


@pytest.mark.parametrize(
    "document",
    [
        {2024: {"holidays": [{"name": "x", "rest": ["2024-10-01", "2024-10-02"], "work": ["2024-10-08"]}]}},
        {2024: {"holidays": [{"name": "x", "rest": ["2024-10-05", "2024-10-06"], "work": ["2024-10-05"]}]}},
        {2024: {"holidays": [{"name": "x", "rest": ["2024-10-07", "2024-10-01"]}]}},
        {2024: {"holidays": [{"name": "x"}]}},
        {2024: {}, 2026: {}},
    ],
    ids=["weekday-as-working-day", "off-and-working", "backwards", "no-days", "gap-in-years"],
)
def test_malformed_calendar_data_is_refused(document: dict[int, dict[str, object]]) -> None:
    with pytest.raises(ConfigError):
        WorkCalendar.from_document(document)


# --- properties ---------------------------------------------------------------------------------

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 10, 31))


@settings(max_examples=300, deadline=None)
@given(start=days, n=st.integers(min_value=1, max_value=40))
def test_adding_and_counting_working_days_agree(start: date, n: int) -> None:
    calendar = load_calendar()
    end = calendar.add_working_days(start, n)
    assert end > start and calendar.is_working_day(end)
    assert calendar.working_days_between(start, end) == n
    assert calendar.working_days_between(start, end - timedelta(days=1)) == n - 1
    assert calendar.working_days_between(end, start) == -n


@settings(max_examples=300, deadline=None)
@given(a=days, b=days)
def test_counting_then_adding_lands_on_the_last_working_day(a: date, b: date) -> None:
    calendar = load_calendar()
    if b < a:
        a, b = b, a
    n = calendar.working_days_between(a, b)
    assert n >= 0
    if n == 0:
        return
    landed = calendar.add_working_days(a, n)
    assert a < landed <= b
    assert calendar.working_days_between(landed, b) == 0
    assert (landed == b) is calendar.is_working_day(b)
