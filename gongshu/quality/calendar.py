"""The working-day calendar of mainland China (工作日历): for deadlines counted in working days.

Saturdays and Sundays are rest days, except the weekend days a State Council notice makes working
days (调休上班日); statutory public holidays (法定节假日) with their bridging days (放假调休) are rest
days. The data are in ``quality/data/holidays.yaml`` (one block per year, from the notice on
www.gov.cn; ``docs/tickets.md`` says how to add a year). Days are city dates (Asia/Shanghai): pass
``gongshu.store.base.city_today()``, not a UTC date.

The calendar is general: problem tickets (问题工单) use it for their deadlines, and the sharing
approval clocks count the same working days.

Example::

    calendar = load_calendar()
    calendar.is_working_day(date(2024, 2, 18))        # True: a Sunday made a working day
    calendar.holiday_name(date(2024, 10, 3))          # "国庆节"
    calendar.add_working_days(date(2024, 9, 30), 1)   # date(2024, 10, 8)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, ClassVar

import yaml

from gongshu.errors import ConfigError, ValidationFailed
from gongshu.store.base import CITY_TIMEZONE

DATA_FILE = "data/holidays.yaml"
_DAY = timedelta(days=1)


class OutsideCalendar(ValidationFailed):
    """A date outside the years the working-day calendar covers."""

    code: ClassVar[str] = "outside_calendar"

    def __init__(self, day: date, years: range) -> None:
        covered = f"{years.start}–{years.stop - 1}"
        super().__init__(
            {"date": [f"{day.isoformat()} is outside the working-day calendar ({covered})"]},
            hint=f"add the State Council's holiday notice for {day.year} to "
            f"gongshu/quality/{DATA_FILE} (see docs/tickets.md)",
        )
        self.value = day


@dataclass(frozen=True)
class Holiday:
    """One holiday of a year's notice: its rest days (first to last) and its weekend working days."""

    name: str
    first: date
    last: date
    working: tuple[date, ...] = ()

    def days(self) -> Iterable[date]:
        day = self.first
        while day <= self.last:
            yield day
            day += _DAY


class WorkCalendar:
    """Which city dates are working days, for the years ``years``.

    Build it from the packaged data with :func:`load_calendar`, or from a document of the same
    shape as ``holidays.yaml`` with :meth:`from_document` (tests)::

        WorkCalendar.from_document({2024: {"holidays": [
            {"name": "国庆节", "rest": ["2024-10-01", "2024-10-07"], "work": ["2024-09-29"]}]}})
    """

    def __init__(self, holidays: Iterable[Holiday], years: range) -> None:
        if len(years) == 0:
            raise ConfigError("a working-day calendar needs at least one year")
        self.years = years
        self.holidays = tuple(holidays)
        self._rest: dict[date, str] = {}
        self._work: dict[date, str] = {}
        for holiday in self.holidays:
            for day in holiday.days():
                self._rest[day] = holiday.name
            for day in holiday.working:
                self._work[day] = holiday.name
        clash = sorted(set(self._rest) & set(self._work))
        if clash:
            raise ConfigError(f"days both off and working in the calendar: {clash[0].isoformat()}")

    @classmethod
    def from_document(cls, document: Mapping[Any, Any]) -> WorkCalendar:
        """A calendar from ``{year: {holidays: [{name, rest: [first, last], work: [...]}]}}``."""
        try:
            years = sorted(int(year) for year in document)
        except ValueError:
            raise ConfigError(f"the calendar's years must be numbers: {list(document)}") from None
        if not years or years != list(range(years[0], years[-1] + 1)):
            raise ConfigError(f"the calendar's years must be consecutive: {years}")
        holidays = [
            _holiday(year, item)
            for year, block in document.items()
            for item in (block or {}).get("holidays", [])
        ]
        return cls(holidays, range(years[0], years[-1] + 1))

    def covers(self, day: date) -> bool:
        return day.year in self.years

    def is_working_day(self, day: date) -> bool:
        """True for a weekday that is no holiday, and for a weekend day made a working day (调休)."""
        self._check(day)
        if day in self._work:
            return True
        return day.weekday() < 5 and day not in self._rest

    def holiday_name(self, day: date) -> str | None:
        """The holiday ``day`` belongs to (a rest day of it), else ``None`` (weekends have none)."""
        self._check(day)
        return self._rest.get(day)

    def adjusted_for(self, day: date) -> str | None:
        """The holiday for which the weekend day ``day`` is a working day (调休上班), else ``None``."""
        self._check(day)
        return self._work.get(day)

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += _DAY
        return day

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``n=0``: ``start`` if working, else the next).

        Example: 5 working days after Friday 2024-09-27 is 2024-10-10, across 国庆节 with
        Sunday 09-29 a working day.
        """
        if n < 0:
            raise ValidationFailed({"n": [f"working days to add must be 0 or more, not {n}"]})
        day = start
        self._check(day)
        if n == 0:
            return self.next_working_day(day)
        while n:
            day += _DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after ``a`` up to and including ``b``; negative when ``b`` is before ``a``.

        It agrees with :meth:`add_working_days`: ``working_days_between(a, add_working_days(a, n))``
        is ``n`` for every ``n >= 1``.
        """
        if b < a:
            return -self.working_days_between(b, a)
        self._check(a)
        self._check(b)
        count = 0
        day = a + _DAY
        while day <= b:
            count += self.is_working_day(day)
            day += _DAY
        return count

    def year_summary(self, year: int) -> dict[str, int]:
        """How many working days, rest days and weekend working days ``year`` has (a sanity check)."""
        day, end = date(year, 1, 1), date(year, 12, 31)
        self._check(day)
        working = rest = adjusted = 0
        while day <= end:
            if self.is_working_day(day):
                working += 1
                adjusted += day.weekday() >= 5
            else:
                rest += 1
            day += _DAY
        return {"working": working, "rest": rest, "adjusted": adjusted}

    def _check(self, day: date) -> None:
        if day.year not in self.years:
            raise OutsideCalendar(day, self.years)


def _holiday(year: object, item: Mapping[str, Any]) -> Holiday:
    try:
        first, last = (_date(d) for d in item["rest"])
        working = tuple(sorted(_date(d) for d in item.get("work") or ()))
        name = str(item["name"])
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"holiday {dict(item)} of {year} is malformed ({error})") from None
    if last < first:
        raise ConfigError(f"{name} of {year} ends before it begins: {first} > {last}")
    weekdays = [d for d in working if d.weekday() < 5]
    if weekdays:
        raise ConfigError(f"{name} of {year}: {weekdays[0]} is a weekday, not a weekend working day")
    return Holiday(name, first, last, working)


def _date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def read_document() -> dict[Any, Any]:
    """The packaged ``holidays.yaml`` as loaded (years → notice, url, holidays)."""
    text = resources.files("gongshu.quality").joinpath(DATA_FILE).read_text("utf-8")
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise ConfigError(f"gongshu/quality/{DATA_FILE} holds no years")
    return loaded


@cache
def load_calendar() -> WorkCalendar:
    """The working-day calendar of the packaged data, loaded once."""
    return WorkCalendar.from_document(read_document())


# -- city months (统计月份): the reports, the cockpit and the ticket counts ---------------------------

MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def parse_month(value: str) -> str:
    """``YYYY-MM`` of a real month (2000–2100), or a ValidationFailed naming the field ``month``."""
    if not MONTH.fullmatch(value):
        raise ValidationFailed(
            {"month": [f"月份应为 YYYY-MM，例如 2026-10 (month must be YYYY-MM, not {value!r})"]},
            hint="choose a month such as 2026-10",
        )
    if not 2000 <= int(value[:4]) <= 2100:
        raise ValidationFailed({"month": ["the year must lie between 2000 and 2100"]})
    return value


def current_month(now: datetime | None = None) -> str:
    """The city month (Asia/Shanghai) of ``now`` (default: this instant) as ``YYYY-MM``."""
    return (now or datetime.now(UTC)).astimezone(CITY_TIMEZONE).strftime("%Y-%m")


def shift_month(month: str, delta: int) -> str:
    """``shift_month("2026-01", -1)`` → ``"2025-12"``."""
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a city month, as UTC instants."""
    start = datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=CITY_TIMEZONE)
    following = shift_month(month, 1)
    end = datetime(int(following[:4]), int(following[5:7]), 1, tzinfo=CITY_TIMEZONE)
    return start.astimezone(UTC), end.astimezone(UTC)
