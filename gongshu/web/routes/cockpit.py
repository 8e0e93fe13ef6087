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

from typing import Annotated, Any

from fastapi import APIRouter, Query
from jinja2 import pass_context
from jinja2.runtime import Context

from gongshu.quality import calendar, figures, render
from gongshu.service.deps import PlatformDep, SessionDep
from gongshu.share.metering import calls_by_resource
from gongshu.web.auth import SignedIn
from gongshu.web.forms import blank_to_none
from gongshu.web.render import templates
from gongshu.web.twins import page

router = APIRouter()

MonthQuery = Annotated[str | None, Query(description="the month shown, YYYY-MM (default: this month)")]
DASH = "—"
#: Below this a count is written out in full (17,396 个目录, not 1.74万).
IN_FULL = 100_000


@page(router, "/cockpit", "quality/cockpit.html")
def cockpit(
    session: SessionDep, platform: PlatformDep, actor: SignedIn, month: MonthQuery = None
) -> dict[str, Any]:
    """The cockpit of ``month``: the figures of the monthly report, drawn for a big screen."""
    chosen = parse_month(month)
    calls = calls_by_resource(platform, chosen or figures.current_month())
    return {"cockpit": figures.cockpit(session, actor=actor, month=chosen, calls=calls)}


def parse_month(value: str | None) -> str | None:
    """The month asked for, or ``None`` for the current one (the form's month field left blank)."""
    month = blank_to_none(value)
    return None if month is None else calendar.parse_month(month)


# --- numbers as the pages show them --------------------------------------------------------------


def format_count(lang: str, value: float | None) -> str:
    """A count, large ones in the language's units: ``format_count("zh-CN", 268_800_000) == "2.69亿"``."""
    return render.quantity(value, lang, compact=True, in_full=IN_FULL)


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
templates.globals["cockpit_change"] = render.difference
