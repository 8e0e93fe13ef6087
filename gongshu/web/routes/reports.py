"""The monthly public-data quality report (质量月报): the list of months, the report page, PDF and XLSX.

``/reports/{month}`` renders ``gongshu.quality.figures.monthly_report`` (its JSON twin answers the
same figures); ``/reports/{month}.pdf`` prints :func:`render_print_html` with headless Chromium and
``/reports/{month}.xlsx`` is the workbook, both in the viewer's language. Every signed-in user may
read the reports. Labels and number formats come from ``gongshu.quality.render``, so the page, the
PDF and the workbook say the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from gongshu.quality import figures, render
from gongshu.service.deps import SessionDep
from gongshu.service.routes.reports import monthly_report, report_file
from gongshu.web import i18n
from gongshu.web.auth import SignedIn
from gongshu.web.render import templates
from gongshu.web.twins import page

router = APIRouter()

#: The months the list offers: this month and the eleven before it.
MONTHS_LISTED = 12
#: The font stack of the printed report (Debian's fonts-wqy-zenhei first, as on the servers).
PRINT_FONT = Markup("'WenQuanYi Zen Hei', 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif")


def render_print_html(report: Mapping[str, Any], lang: str = i18n.DEFAULT_LANGUAGE) -> str:
    """The report as one self-contained printable HTML document (inline CSS and SVG, no script).

    Rendered with the pages' Jinja environment and message catalogues, without a request, so the
    CLI can print the PDF with no server running::

        report_pdf(render_print_html(report, "zh-CN"))
    """
    chosen = lang if lang in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    return templates.get_template("quality/report_print.html").render(report=report, lang=chosen)


def viewer_language(request: Request) -> str:
    platform = getattr(request.app.state, "platform", None)
    return i18n.choose_language(
        request, platform.settings.default_language if platform else i18n.DEFAULT_LANGUAGE
    )


# --- files (registered before the page: "/reports/{month}" would take "2026-10.pdf") ---------------


@router.get("/reports/{month}.pdf")
def report_pdf_file(month: str, request: Request, session: SessionDep, actor: SignedIn) -> Response:
    """The report as an A4 PDF in the viewer's language (503 with a hint when the server has no Chromium)."""
    lang = viewer_language(request)
    report = monthly_report(session, month, actor, request.app.state.platform)
    return report_file(render.report_pdf(render_print_html(report, lang)), month, "pdf", lang)


@router.get("/reports/{month}.xlsx")
def report_xlsx_file(month: str, request: Request, session: SessionDep, actor: SignedIn) -> Response:
    """The report as an XLSX workbook in the viewer's language."""
    lang = viewer_language(request)
    return report_file(
        render.report_xlsx(monthly_report(session, month, actor, request.app.state.platform), lang),
        month,
        "xlsx",
        lang,
    )


# --- pages --------------------------------------------------------------------------------------


@page(router, "/reports", "quality/reports.html")
def report_list(actor: SignedIn) -> dict[str, Any]:
    """The months with a report: this month (still in progress) and the eleven before it."""
    months = render.recent_months(figures.current_month(), MONTHS_LISTED)
    return {"months": [{"month": m, "in_progress": i == 0} for i, m in enumerate(months)]}


@page(router, "/reports/{month}", "quality/report.html")
def report_page(month: str, request: Request, session: SessionDep, actor: SignedIn) -> dict[str, Any]:
    """One month's report: headline figures, narrative, charts, departments, districts, problems."""
    report = monthly_report(session, month, actor, request.app.state.platform)
    current = figures.current_month()
    return {
        "report": report,
        "previous_month": figures.shift_month(month, -1),
        "next_month": figures.shift_month(month, 1) if month < current else None,
        "in_progress": month == current,
    }


# --- what the report templates use --------------------------------------------------------------


@pass_context
def _fmt(context: Context, value: Any, kind: render.Kind = "count") -> str:
    return render.fmt(value, kind, context["lang"])


@pass_context
def _quantity(context: Context, value: float | None) -> str:
    return render.quantity(value, context["lang"])


@pass_context
def _label(context: Context, key: str) -> str:
    return render.label(key, context["lang"])


@pass_context
def _in_lang(context: Context, zh: str | None, en: str | None = None) -> str:
    return render.in_lang(zh, en, context["lang"])


@pass_context
def _month_label(context: Context, month: str) -> str:
    return render.month_label(month, context["lang"])


@pass_context
def _title(context: Context, month: str) -> str:
    return render.report_title(month, context["lang"])


@pass_context
def _dimension(context: Context, dimension: str | None) -> str:
    return render.dimension_label(dimension or "", context["lang"])


@pass_context
def _headline(context: Context, figures: Mapping[str, Any]) -> list[dict[str, str]]:
    return render.headline(figures, context["lang"])


@pass_context
def _charts(
    context: Context, report: Mapping[str, Any], width: int = 560, line_width: int = 560
) -> dict[str, Markup]:
    svg = render.charts(report, context["lang"], width=width, line_width=line_width)
    return {name: Markup(text) for name, text in svg.items()}  # noqa: S704  (every text in it is escaped)


def _rate(failed: float | None, checked: float | None) -> float | None:
    return failed / checked if failed is not None and checked else None


def css_string(text: str) -> Markup:
    """``text`` for the inside of a CSS string in a ``<style>`` (``@page`` margin boxes): anything but
    letters, digits and plain punctuation as a CSS escape, so no quote or ``</style>`` gets through."""
    safe = "".join(ch if ch.isalnum() or ch in " -:/.,()" else f"\\{ord(ch):x} " for ch in str(text))
    return Markup(safe)  # noqa: S704  (escaped above)


def css_pages(text: str) -> Markup:
    """A message with ``{page}`` and ``{pages}`` as CSS ``content`` with the page counters.

    ``"第 {page} 页 / 共 {pages} 页"`` → ``"第 " counter(page) " 页 / 共 " counter(pages) " 页"``.
    """
    parts = re.split(r"\{(pages?)\}", text)
    return Markup(  # noqa: S704  (escaped by css_string)
        " ".join(f"counter({part})" if i % 2 else f'"{css_string(part)}"' for i, part in enumerate(parts))
    )


templates.filters.update(
    report_fmt=_fmt,
    report_quantity=_quantity,
    report_short=render.short_name,
    report_css_string=css_string,
    report_css_pages=css_pages,
)
templates.globals.update(
    report_label=_label,
    report_in_lang=_in_lang,
    report_month_label=_month_label,
    report_title=_title,
    report_dimension=_dimension,
    report_headline=_headline,
    report_charts=_charts,
    report_diff=render.difference,
    report_rate=_rate,
    report_time=render.city_time,
    report_font=PRINT_FONT,
)
