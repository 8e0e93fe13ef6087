"""The data cockpit (数据驾驶舱): one month of the city's public-data figures, for leaders.

``/cockpit`` renders ``gongshu.quality.figures.cockpit`` — headline tiles, the 12-month trend,
department and district rankings, the district map, the GB/T 36344 dimensions, the top problems and
the spatial audit — with ECharts (vendored) drawing from a JSON data island, and the same figures as
HTML tables for screen readers and browsers without JavaScript. ``/cockpit.json`` answers the
figures themselves. ``?month=YYYY-MM`` chooses the month (default: the current city month). Every
signed-in user may look, as the figures hold no personal data (the library decides who may read them).

The numbers are formatted here for the pages: counts in 万 / 亿 in Chinese (``26.88亿``), in
millions and billions in English (``2.69 bn``); ``None`` (nothing measured) shows as "—".
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query
from jinja2 import pass_context
from jinja2.runtime import Context

from gongshu.errors import ValidationFailed
from gongshu.quality import figures
from gongshu.service.deps import SessionDep
from gongshu.web.auth import SignedIn
from gongshu.web.forms import blank_to_none
from gongshu.web.i18n import DEFAULT_LANGUAGE
from gongshu.web.render import templates
from gongshu.web.twins import page

router = APIRouter()

#: ``YYYY-MM`` with a real month.
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MonthQuery = Annotated[str | None, Query(description="the month shown, YYYY-MM (default: this month)")]
DASH = "—"
#: Large counts: Chinese groups by 万 (10⁴) and 亿 (10⁸), English by million and billion.
UNITS = {
    "zh-CN": ((100_000_000, "亿"), (10_000, "万")),
    "en": ((1_000_000_000, " bn"), (1_000_000, " M")),
}
#: Below this a count is written out in full (17,396 个目录, not 1.74万).
IN_FULL = 100_000


@page(router, "/cockpit", "quality/cockpit.html")
def cockpit(session: SessionDep, actor: SignedIn, month: MonthQuery = None) -> dict[str, Any]:
    """The cockpit of ``month``: the figures of the monthly report, drawn for a big screen."""
    return {"cockpit": figures.cockpit(session, actor=actor, month=parse_month(month))}


def parse_month(value: str | None) -> str | None:
    """The month asked for, or ``None`` for the current one (the form's month field left blank)."""
    month = blank_to_none(value)
    if month is not None and not MONTH.fullmatch(month):
        raise ValidationFailed(
            {"month": [f"月份应为 YYYY-MM，例如 2026-10 (month must be YYYY-MM, not {month!r})"]},
            hint="choose a month such as 2026-10",
        )
    return month


# --- numbers as the pages show them --------------------------------------------------------------


def format_count(lang: str, value: float | None) -> str:
    """A count, large ones in the language's units: ``format_count("zh-CN", 268_800_000) == "2.69亿"``."""
    if value is None:
        return DASH
    for size, unit in UNITS.get(lang, UNITS[DEFAULT_LANGUAGE]):
        if abs(value) >= max(size, IN_FULL):
            return f"{value / size:.2f}{unit}"
    return f"{value:,.0f}" if isinstance(value, float) else f"{value:,}"


def format_percent(value: float | None, *, signed: bool = False, places: int = 2) -> str:
    """A fraction as a percentage: ``0.1801`` → ``18.01%`` (``+18.01%`` when ``signed``)."""
    if value is None:
        return DASH
    return f"{value * 100:+.{places}f}%" if signed else f"{value * 100:.{places}f}%"


def format_decimal(value: float | None, *, signed: bool = False, places: int = 1) -> str:
    """A score or a number of days: ``76.38`` → ``76.4`` (``+0.8`` when ``signed``)."""
    if value is None:
        return DASH
    return f"{value:+.{places}f}" if signed else f"{value:.{places}f}"


def direction(value: float | None) -> str:
    """``up``, ``down``, ``flat`` or ``none``: which arrow a change gets."""
    if value is None:
        return "none"
    return "up" if value > 0 else "down" if value < 0 else "flat"


def change_of(now: float | None, before: float | None) -> float | None:
    """The difference of two scores, or ``None`` when either was not measured."""
    return None if now is None or before is None else now - before


def short_name(name: str) -> str:
    """A department's name without the city: ``上海市公安局`` → ``公安局``."""
    return name.removeprefix("上海市") or name


@pass_context
def _count(context: Context, value: float | None) -> str:
    return format_count(context["lang"], value)


templates.filters.update(
    cockpit_count=_count,
    cockpit_percent=format_percent,
    cockpit_decimal=format_decimal,
    cockpit_direction=direction,
    cockpit_short=short_name,
)
templates.globals["cockpit_change"] = change_of
