"""The monthly public-data quality report (月度公共数据质量报告): labels, numbers, charts, workbook, files.

Pure functions of the figures dict that ``gongshu.quality.figures.monthly_report`` returns (its
shape is in docs/quality-report.md): no database, no network. The page, the PDF and the XLSX
workbook share this module's labels and number formats, so a figure reads the same everywhere.

- :func:`svg_bar_chart`, :func:`svg_line_chart` (from :mod:`gongshu.quality.svg`) and :func:`charts`,
  the report's four charts as inline SVG (no JavaScript), for the page and the printed PDF alike;
- :func:`report_xlsx`: the workbook (概览, 市级部门, 各区, 质量维度, 主要问题, 趋势);
- :func:`report_pdf` (from :mod:`gongshu.quality.pdf`): self-contained HTML printed by headless Chromium;
- :func:`write_report`: the files for the CLI.

Example::

    data = report_xlsx(report, "zh-CN")
    pdf = report_pdf(render_print_html(report, "zh-CN"))   # render_print_html: gongshu.web.routes.reports
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import xlsxwriter

from gongshu.errors import GongshuError, NotFound
from gongshu.quality.calendar import current_month, parse_month, shift_month
from gongshu.quality.pdf import PdfFailed, PdfUnavailable, find_chromium, report_pdf
from gongshu.quality.svg import NONE, svg_bar_chart, svg_line_chart, text_width
from gongshu.store.base import CITY_TIMEZONE

__all__ = [
    "PdfFailed",
    "PdfUnavailable",
    "charts",
    "check_month",
    "find_chromium",
    "fmt",
    "headline",
    "label",
    "render_print_html",
    "report_pdf",
    "report_xlsx",
    "svg_bar_chart",
    "svg_line_chart",
    "write_report",
]

Lang = str
Kind = Literal[
    "count",
    "count_change",
    "ratio",
    "ratio_change",
    "days",
    "days_change",
    "score",
    "score_change",
    "average",
    "average_change",
    "text",
]

CITY_NAME = ("上海市", "Shanghai")
ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December")  # fmt: skip

# --- labels -------------------------------------------------------------------------------------

#: Every FIGURES key in the contract's order, with how its value is formatted.
FIGURES: dict[str, Kind] = {
    "entries": "count",
    "mounted": "count",
    "mounted_ratio": "ratio",
    "tables": "count",
    "records_month": "count",
    "records_previous": "count",
    "records_change": "ratio_change",
    "records_total": "count",
    "latency_days": "days",
    "latency_previous": "days",
    "latency_change": "days_change",
    "demands": "count",
    "demands_previous": "count",
    "calls": "count",
    "calls_previous": "count",
    "score": "score",
    "score_previous": "score",
    "checked": "count",
    "anomalies": "count",
    "open_tickets": "count",
    "overdue_tickets": "count",
}

#: The report's own vocabulary (zh-CN, en): figure names, columns, sheets. One source for the
#: page, the PDF and the workbook (the quality library cannot read the web's message catalogues).
LABELS: dict[str, tuple[str, str]] = {
    "entries": ("编制资源目录", "Catalogue entries compiled"),
    "mounted": ("已挂载目录", "Entries with data mounted"),
    "mounted_ratio": ("挂载率", "Mounted ratio"),
    "tables": ("归集数据表", "Tables collected"),
    "records_month": ("本月归集（条）", "Records collected this month"),
    "records_previous": ("上月归集（条）", "Records collected last month"),
    "records_change": ("归集环比", "Records, month on month"),
    "records_total": ("累计归集（条）", "Records collected in total"),
    "latency_days": ("平均归集时间（天）", "Average collection latency (days)"),
    "latency_previous": ("上月平均归集时间（天）", "Latency last month (days)"),
    "latency_change": ("归集时间较上月（天）", "Latency change (days)"),
    "demands": ("共享需求", "Sharing demands"),
    "demands_previous": ("上月共享需求", "Sharing demands last month"),
    "calls": ("资源共享次数", "Sharing calls"),
    "calls_previous": ("上月资源共享次数", "Sharing calls last month"),
    "score": ("质量得分", "Quality score"),
    "score_previous": ("上月质量得分", "Quality score last month"),
    "checked": ("稽核检查数", "Values checked"),
    "anomalies": ("稽核异常数", "Values failing"),
    "open_tickets": ("未关闭工单", "Open tickets"),
    "overdue_tickets": ("超期工单", "Overdue tickets"),
    "rank": ("排名", "Rank"),
    "code": ("代码", "Code"),
    "department": ("部门", "Department"),
    "district": ("区", "District"),
    "city": ("市级部门", "City departments"),
    "districts_total": ("各区", "Districts"),
    "this_month": ("本月", "This month"),
    "last_month": ("上月", "Last month"),
    "figure": ("指标", "Figure"),
    "top_problems": ("主要问题", "Top problems"),
    "score_change": ("得分较上月", "Score change"),
    "tickets": ("工单 未关闭 / 超期", "Tickets open / overdue"),
    "located": ("属地记录 / 异常", "Located rows / failing"),
    "located_rows": ("属地记录数", "Rows located in it"),
    "located_failed": ("属地异常数", "Of which failing"),
    "dimension": ("质量维度", "Dimension"),
    "dimension_key": ("维度代码", "Dimension key"),
    "failed": ("不合格数", "Failed"),
    "failure_rate": ("不合格率", "Failure rate"),
    "no": ("序号", "No."),
    "rule": ("规则", "Rule"),
    "description": ("问题描述", "Problem"),
    "entry": ("资源代码", "Resource code"),
    "entry_name": ("资源名称", "Resource"),
    "column": ("字段", "Column"),
    "label": ("信息项", "Data item"),
    "month": ("月份", "Month"),
    "records": ("归集记录数", "Records collected"),
    "batches": ("归集批次", "Batches"),
    "spatial": ("空间数据稽核", "Spatial data audit"),
    "spatial_checked": ("检查数据（条）", "Records checked"),
    "spatial_anomalies": ("稽核异常（条）", "Anomalies"),
    "spatial_passed": ("合格数据（条）", "Records passing"),
    "report_month": ("报告月份", "Report month"),
    "previous_month": ("上月", "Previous month"),
    "generated_at": ("生成时间", "Generated at"),
    "narrative": ("报告摘要", "Summary"),
    "title": ("公共数据质量月报", "public data quality report"),
    "sheet_summary": ("概览", "Summary"),
    "sheet_departments": ("市级部门", "City departments"),
    "sheet_districts": ("各区", "Districts"),
    "sheet_dimensions": ("质量维度", "Quality dimensions"),
    "sheet_problems": ("主要问题", "Top problems"),
    "sheet_trend": ("趋势", "Trend"),
    "unit_count": ("个", ""),
    "unit_records": ("条", "records"),
    "unit_calls": ("次", "calls"),
    "unit_tables": ("张", "tables"),
    "unit_days": ("天", "days"),
    "mounted_of": ("已挂载 {mounted}（{ratio}）", "{mounted} mounted ({ratio})"),
    "total_of": ("累计归集 {total}", "{total} in total"),
    "mom": ("环比 {change}", "{change} month on month"),
    "vs_last": ("较上月 {change}", "{change} on last month"),
    "overdue_of": ("其中超期 {overdue}", "{overdue} overdue"),
    "headline_records": ("本月归集", "Collected this month"),
    "headline_latency": ("平均归集时间", "Average collection latency"),
    "headline_score": ("质量平均得分", "Average quality score"),
    "headline_tickets": ("问题工单", "Problem tickets"),
    "chart_department_scores": ("市级部门质量得分", "Quality scores of city departments"),
    "chart_district_scores": ("各区质量得分", "Quality scores of districts"),
    "chart_records_trend": ("近 12 个月归集记录数", "Records collected, last 12 months"),
    "chart_score_trend": ("近 12 个月质量得分", "Quality score, last 12 months"),
}

# dimension keys of GB/T 36344, for reports whose dimension rows lack a label
DIMENSIONS = {
    "normative": ("规范性", "Normativity"),
    "completeness": ("完整性", "Completeness"),
    "accuracy": ("准确性", "Accuracy"),
    "consistency": ("一致性", "Consistency"),
    "timeliness": ("时效性", "Timeliness"),
    "accessibility": ("可访问性", "Accessibility"),
}


def label(key: str, lang: Lang = "zh-CN", **values: object) -> str:
    """The report's label of ``key`` in ``lang`` (``label("score", "en")`` → ``"Quality score"``)."""
    zh, en = LABELS.get(key, (key, key))
    text = en if lang == "en" else zh
    return text.format(**values) if values else text


def in_lang(zh: str | None, en: str | None, lang: Lang) -> str:
    """The English text where there is one and English is wanted, else the Chinese."""
    return (en if lang == "en" and en else zh) or ""


def dimension_label(dimension: str, lang: Lang) -> str:
    zh, en = DIMENSIONS.get(dimension, (dimension, dimension))
    return en if lang == "en" else zh


def month_label(month: str, lang: Lang = "zh-CN") -> str:
    """``2026-10`` as ``2026年10月`` or ``October 2026``."""
    year, number = int(month[:4]), int(month[5:7])
    return f"{ENGLISH_MONTHS[number - 1]} {year}" if lang == "en" else f"{year}年{number}月"


def report_title(month: str, lang: Lang = "zh-CN") -> str:
    """``上海市公共数据质量月报 2026年10月`` / ``Shanghai public data quality report, October 2026``."""
    if lang == "en":
        return f"{CITY_NAME[1]} {label('title', 'en')}, {month_label(month, 'en')}"
    return f"{CITY_NAME[0]}{label('title')} {month_label(month)}"


def report_filename(month: str, fmt: str, lang: Lang = "zh-CN") -> str:
    """The download's file name: ``上海市公共数据质量月报-2026-10.xlsx`` (ASCII in English)."""
    if lang == "en":
        return f"quality-report-{month}.{fmt}"
    return f"{CITY_NAME[0]}{label('title')}-{month}.{fmt}"


def short_name(name: str) -> str:
    """A department's name without the city, for narrow chart labels: 上海市公安局 → 市公安局,
    Shanghai Municipal Public Security Bureau → Public Security Bureau."""
    english = f"{CITY_NAME[1]} Municipal "
    if name.startswith(english):
        return name.removeprefix(english)
    return "市" + name.removeprefix(CITY_NAME[0]) if name.startswith(CITY_NAME[0]) else name


# --- months -------------------------------------------------------------------------------------


def city_time(value: str | None) -> str:
    """An ISO time (``generated_at``) as ``YYYY-MM-DD HH:MM`` in city time; ``—`` if absent."""
    if not value:
        return NONE
    moment = datetime.fromisoformat(value)
    return (moment.astimezone(CITY_TIMEZONE) if moment.tzinfo else moment).strftime("%Y-%m-%d %H:%M")


def recent_months(current: str, count: int = 12) -> list[str]:
    """``current`` and the months before it, newest first."""
    return [shift_month(current, -i) for i in range(count)]


def check_month(month: str, *, current: str | None = None) -> str:
    """``month`` if it is a real ``YYYY-MM`` month not after ``current`` (default: this city month).

    Raises:
        ValidationFailed: not a ``YYYY-MM`` month (``calendar.parse_month``).
        NotFound: a month that has not begun (its report cannot exist yet).
    """
    latest = current or current_month()
    if parse_month(month) > latest:
        raise NotFound(f"no report for {month}: the month has not begun", hint=f"the latest is {latest}")
    return month


# --- numbers ------------------------------------------------------------------------------------


def _signed(text: str, value: float) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "±") + text


def fmt(value: Any, kind: Kind = "count", lang: Lang = "zh-CN") -> str:
    """A figure as shown on the page and in the PDF; ``None`` as ``—``.

    Example: ``fmt(0.1801, "ratio_change")`` → ``"+18.01%"``, ``fmt(13.2, "days")`` → ``"13.20"``.
    """
    if value is None or value == "":
        return NONE
    if kind == "text":
        return str(value)
    number = float(value)
    if kind == "count":
        return f"{int(number):,}" if number == int(number) else f"{number:,.2f}"
    if kind == "ratio":
        return f"{number * 100:.2f}%"
    if kind == "ratio_change":
        return _signed(f"{abs(number) * 100:.2f}%", number)
    if kind == "days":
        return f"{number:.2f}"
    if kind == "days_change":
        return _signed(f"{abs(number):.2f}", number)
    if kind == "score":
        return f"{number:.1f}"
    if kind == "average":
        return f"{number:.2f}"
    if kind == "count_change":
        return _signed(f"{abs(number):,.0f}", number)
    if kind == "score_change":
        return _signed(f"{abs(number):.1f}", number)
    return _signed(f"{abs(number):.2f}", number)  # average_change


def quantity(value: float | None, lang: str = "zh-CN", *, compact: bool = False, in_full: float = 1e4) -> str:
    """A large count in the units a reader says: ``26.88 亿`` / ``2.69 billion``, ``3,811.09 万``.

    ``compact`` is the cockpit's tile style (``27.40亿``, ``2.74 bn``); counts below ``in_full`` are
    written out in full (``17,396``).
    """
    if value is None:
        return NONE
    if lang == "en":
        steps = ((1e9, " bn" if compact else " billion"), (1e6, " M" if compact else " million"))
    else:
        steps = ((1e8, "亿"), (1e4, "万"))
    for size, unit in steps:
        if abs(value) >= max(size, in_full):
            if compact:
                return f"{value / size:.2f}{unit}"
            number = f"{value / size:,.2f}".removesuffix(".00")
            return f"{number}{unit}" if lang == "en" else f"{number} {unit}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def change_ratio(now: float | None, before: float | None) -> float | None:
    """``now`` against ``before`` as a fraction (``None`` when there is nothing to compare with)."""
    if now is None or not before:
        return None
    return now / before - 1


def difference(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


# --- headline figures ---------------------------------------------------------------------------


def _tone(change: float | None, *, higher_is_better: bool = True) -> str:
    if not change:
        return "flat"
    return "good" if (change > 0) == higher_is_better else "bad"


def headline(figures: Mapping[str, Any], lang: Lang = "zh-CN") -> list[dict[str, str]]:
    """The headline cards of one scope (市级部门 or 各区), as the seed's monthly paragraph reports them.

    Each card: ``key``, ``label``, ``value``, ``note`` and ``tone`` (``good``/``bad``/``flat``: the
    change's colour; a longer latency is bad).
    """
    f = dict(figures)

    def unit(text: str, name: str) -> str:  # 26.88 亿条, 6,740 个, 5.03 billion records
        word = label(name, lang)
        return text if text == NONE or not word else f"{text}{'' if text[-1] in '亿万' else ' '}{word}"

    demands, score = (difference(f.get(k), f.get(f"{k}_previous")) for k in ("demands", "score"))
    calls = change_ratio(f.get("calls"), f.get("calls_previous"))
    mounted = {"mounted": fmt(f.get("mounted")), "ratio": fmt(f.get("mounted_ratio"), "ratio")}
    total = unit(quantity(f.get("records_total"), lang), "unit_records")
    latency = unit(fmt(f.get("latency_change"), "days_change"), "unit_days")
    cards = [
        ("entries", unit(fmt(f.get("entries")), "unit_count"), label("mounted_of", lang, **mounted), "flat"),
        ("tables", unit(fmt(f.get("tables")), "unit_tables"), label("total_of", lang, total=total), "flat"),
        ("headline_records", unit(quantity(f.get("records_month"), lang), "unit_records"),
         label("mom", lang, change=fmt(f.get("records_change"), "ratio_change")),
         _tone(f.get("records_change"))),
        ("headline_latency", unit(fmt(f.get("latency_days"), "days"), "unit_days"),
         label("vs_last", lang, change=latency), _tone(f.get("latency_change"), higher_is_better=False)),
        ("demands", unit(fmt(f.get("demands")), "unit_count"),
         label("vs_last", lang, change=fmt(demands, "count_change")), _tone(demands)),
        ("calls", unit(quantity(f.get("calls"), lang), "unit_calls"),
         label("mom", lang, change=fmt(calls, "ratio_change")), _tone(calls)),
        ("headline_score", fmt(f.get("score"), "average"),
         label("vs_last", lang, change=fmt(score, "average_change")), _tone(score)),
        ("headline_tickets", fmt(f.get("open_tickets")),
         label("overdue_of", lang, overdue=fmt(f.get("overdue_tickets"))),
         "bad" if f.get("overdue_tickets") else "flat"),
    ]  # fmt: skip
    return [
        {"key": key, "label": label(key, lang), "value": value, "note": note, "tone": tone}
        for key, value, note, tone in cards
    ]


def charts(
    report: Mapping[str, Any], lang: Lang = "zh-CN", *, width: int = 560, line_width: int | None = None
) -> dict[str, str]:
    """The report's four charts as SVG text: department and district scores (bars, ``width`` wide),
    the 12-month trend of records and of the score (lines, ``line_width`` wide)."""
    line_width = line_width or width
    departments = [(short_name(in_lang(d["name"], d.get("name_en"), lang)), d.get("score"))
                   for d in report["departments"]]  # fmt: skip
    districts = [(in_lang(d["name"], d.get("name_en"), lang), d.get("score")) for d in report["districts"]]
    trend = report["trend"]
    months = [t["month"][2:] if lang == "en" else f"{int(t['month'][5:])}月" for t in trend]
    return {
        "departments": svg_bar_chart(
            departments, title=label("chart_department_scores", lang), max_value=100, width=width, lang=lang
        ),
        "districts": svg_bar_chart(
            districts, title=label("chart_district_scores", lang), max_value=100, width=width, lang=lang
        ),
        "records": svg_line_chart(
            [(label("records", lang), [t.get("records") for t in trend])],
            months, title=label("chart_records_trend", lang), width=line_width, lang=lang,
        ),
        "score": svg_line_chart(
            [(label("score", lang), [t.get("score") for t in trend])],
            months, title=label("chart_score_trend", lang), width=line_width, lang=lang,
        ),
    }  # fmt: skip


# --- the XLSX workbook --------------------------------------------------------------------------

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_MEDIA_TYPE = "application/pdf"
NUMBER_FORMATS: dict[str, str] = {
    "count": "#,##0",
    "ratio": "0.00%",
    "ratio_change": "+0.00%;-0.00%;0.00%",
    "days": "0.00",
    "days_change": "+0.00;-0.00;0.00",
    "score": "0.00",
    "average": "0.00",
    "score_change": "+0.00;-0.00;0.00",
    "average_change": "+0.00;-0.00;0.00",
    "count_change": "+#,##0;-#,##0;0",
}
SUMMARY_HEADER_ROW = 3
#: The summary's rows: a figure and the key of its last-month value (if the contract has one).
SUMMARY_ROWS: list[tuple[str, str | None]] = [
    ("entries", None),
    ("mounted", None),
    ("mounted_ratio", None),
    ("tables", None),
    ("records_month", "records_previous"),
    ("records_change", None),
    ("records_total", None),
    ("latency_days", "latency_previous"),
    ("latency_change", None),
    ("demands", "demands_previous"),
    ("calls", "calls_previous"),
    ("score", "score_previous"),
    ("checked", None),
    ("anomalies", None),
    ("open_tickets", None),
    ("overdue_tickets", None),
]
Getter = Callable[[Mapping[str, Any], str], Any]
Column = tuple[str, Kind, float, Getter]  # label key, kind, width, the value of a row in a language


class _Book:
    """An xlsxwriter workbook with the report's cell formats; ``None`` is left as an empty cell."""

    def __init__(self, buffer: io.BytesIO) -> None:
        # no string becomes a formula or a link: names come from departments (untrusted input)
        options = {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
        self.book = xlsxwriter.Workbook(buffer, options | {"strings_to_urls": False})
        base = {"font_name": "等线", "font_size": 10, "valign": "top"}
        self.header = self.book.add_format(
            base | {"bold": True, "bg_color": "#E8F0FB", "bottom": 1, "text_wrap": True, "valign": "vcenter"}
        )
        self.title = self.book.add_format(base | {"bold": True, "font_size": 16, "font_color": "#083A73"})
        self.text = self.book.add_format(base | {"text_wrap": True})
        self.formats = {
            kind: self.book.add_format(base | {"num_format": f}) for kind, f in NUMBER_FORMATS.items()
        }
        self.formats["text"] = self.text

    def cell(self, sheet: Any, row: int, col: int, value: Any, kind: Kind) -> None:
        if value is None or value == "":
            return
        if kind == "text" or isinstance(value, str):
            sheet.write_string(row, col, str(value), self.text)
        else:
            sheet.write_number(row, col, value, self.formats[kind])

    def table(
        self,
        name: str,
        columns: Sequence[Column],
        rows: Sequence[Mapping[str, Any]],
        lang: Lang,
        *,
        freeze_cols: int,
    ) -> None:
        """A sheet of one table: a frozen header row, widths, number formats, a filter."""
        sheet = self.book.add_worksheet(name)
        sheet.set_row(0, 32)
        for col, (key, _, width, _) in enumerate(columns):
            sheet.write_string(0, col, label(key, lang), self.header)
            sheet.set_column(col, col, width)
        for r, row in enumerate(rows, start=1):
            for col, (_, kind, _, value_of) in enumerate(columns):
                self.cell(sheet, r, col, value_of(row, lang), kind)
        sheet.freeze_panes(1, freeze_cols)
        sheet.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)

    def close(self) -> None:
        self.book.close()


def _summary_sheet(book: _Book, report: Mapping[str, Any], lang: Lang) -> None:
    """概览: the title, the month, 市级部门 and 各区 side by side (this month, last month), the
    spatial audit and the narrative."""
    sheet = book.book.add_worksheet(label("sheet_summary", lang))
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 4, 18)
    sheet.set_row(0, 26)
    sheet.write_string(0, 0, report_title(report["month"], lang), book.title)
    meta = [("report_month", report["month"]), ("previous_month", report.get("previous_month")),
            ("generated_at", city_time(report.get("generated_at")))]  # fmt: skip
    sheet.write_string(1, 0, "    ".join(f"{label(k, lang)}: {v}" for k, v in meta if v))
    header = [label("figure", lang)] + [
        f"{label(scope, lang)} · {label(when, lang)}"
        for scope in ("city", "districts_total")
        for when in ("this_month", "last_month")
    ]
    sheet.set_row(SUMMARY_HEADER_ROW, 30)
    sheet.write_row(SUMMARY_HEADER_ROW, 0, header, book.header)
    for r, (key, previous) in enumerate(SUMMARY_ROWS, start=SUMMARY_HEADER_ROW + 1):
        sheet.write_string(r, 0, label(key, lang), book.text)
        for c, scope in enumerate(("city", "districts_total")):
            book.cell(sheet, r, 1 + 2 * c, report[scope].get(key), FIGURES[key])
            if previous:
                book.cell(sheet, r, 2 + 2 * c, report[scope].get(previous), FIGURES[previous])
    r = SUMMARY_HEADER_ROW + len(SUMMARY_ROWS) + 2
    spatial = report.get("spatial") or {}
    sheet.write_string(r, 0, label("spatial", lang), book.header)
    for i, key in enumerate(("checked", "anomalies", "passed"), start=1):
        sheet.write_string(r + i, 0, label(f"spatial_{key}", lang), book.text)
        book.cell(sheet, r + i, 1, spatial.get(key), "count")
    r += 5
    sheet.write_string(r, 0, label("narrative", lang), book.header)
    for i, paragraph in enumerate((report.get("narrative") or {}).get(lang) or [], start=1):
        sheet.merge_range(r + i, 0, r + i, 4, paragraph, book.text)
        sheet.set_row(r + i, 15 * max(2, math.ceil(text_width(paragraph, 1) / 95)))
    sheet.freeze_panes(SUMMARY_HEADER_ROW + 1, 1)


def _field(name: str) -> Getter:
    return lambda row, lang: row.get(name)


def _name(row: Mapping[str, Any], lang: Lang) -> str:
    return in_lang(row.get("name"), row.get("name_en"), lang)


def _problems(row: Mapping[str, Any], lang: Lang) -> str:
    return "\n".join(
        f"{in_lang(p.get('description'), p.get('description_en'), lang)}"
        f"（{p.get('label') or p.get('column')}，{fmt(p.get('failed'))}）"
        for p in row.get("top_problems") or []
    )


def _dimension(row: Mapping[str, Any], lang: Lang) -> str:
    return in_lang(row.get("label"), row.get("label_en"), lang) or dimension_label(row["dimension"], lang)


def _description(row: Mapping[str, Any], lang: Lang) -> str:
    return in_lang(row.get("description"), row.get("description_en"), lang)


def _failure_rate(row: Mapping[str, Any], lang: Lang) -> float | None:
    failed, checked = row.get("failed"), row.get("checked")
    return failed / checked if isinstance(failed, int | float) and checked else None


def _columns(*specs: tuple[str, Kind, float]) -> list[Column]:
    return [(key, kind, width, _field(key)) for key, kind, width in specs]


LEAD = _columns(("rank", "count", 6), ("code", "text", 10))
FIGURE_COLUMNS = _columns(*((key, kind, 12 if kind == "count" else 10) for key, kind in FIGURES.items()))
#: Each sheet after the summary: its label, the report's list it shows, its columns, frozen columns.
SHEETS: list[tuple[str, str, list[Column], int]] = [
    ("sheet_departments", "departments",
     [*LEAD, ("department", "text", 30, _name), *FIGURE_COLUMNS, ("top_problems", "text", 60, _problems)], 3),
    ("sheet_districts", "districts",
     [*LEAD, ("district", "text", 14, _name), *FIGURE_COLUMNS,
      *_columns(("located_rows", "count", 12), ("located_failed", "count", 12))], 3),
    ("sheet_dimensions", "dimensions",
     [("dimension", "text", 14, _dimension), ("dimension_key", "text", 14, _field("dimension")),
      *_columns(("score", "score", 10), ("checked", "count", 16), ("failed", "count", 14)),
      ("failure_rate", "ratio", 10, _failure_rate)], 1),
    ("sheet_problems", "top_problems",
     [*_columns(("no", "count", 6), ("rule", "text", 16)),
      ("description", "text", 36, _description),
      ("dimension", "text", 10, lambda p, lang: dimension_label(p.get("dimension") or "", lang)),
      ("code", "text", 8, _field("department")),
      ("department", "text", 26, _field("department_name")),
      *_columns(("entry", "text", 18), ("entry_name", "text", 22), ("column", "text", 14),
                ("label", "text", 16), ("failed", "count", 12), ("checked", "count", 14)),
      ("failure_rate", "ratio", 10, _failure_rate)], 2),
    ("sheet_trend", "trend",
     _columns(("month", "text", 10), ("records", "count", 18), ("score", "score", 10),
              ("latency_days", "days", 14), ("batches", "count", 10)), 1),
]  # fmt: skip


def report_xlsx(report: Mapping[str, Any], lang: Lang = "zh-CN") -> bytes:
    """The report as an XLSX workbook: 概览, 市级部门, 各区, 质量维度, 主要问题, 趋势 (in English for ``en``).

    Figures are numbers with number formats (ratios are fractions shown as percentages); ``None``
    is an empty cell; header rows are frozen. The figures dict holds no personal data.
    """
    buffer = io.BytesIO()
    book = _Book(buffer)
    _summary_sheet(book, report, lang)
    for sheet, key, columns, frozen in SHEETS:
        rows = report.get(key) or []
        if key == "top_problems":
            rows = [{"no": i, **row} for i, row in enumerate(rows, start=1)]
        book.table(label(sheet, lang), columns, rows, lang, freeze_cols=frozen)
    title = report_title(report["month"], lang)
    book.book.set_properties(
        {"title": title, "author": "gongshu 公数", "comments": report.get("generated_at", "")}
    )
    book.close()
    return buffer.getvalue()


def render_print_html(report: Mapping[str, Any], lang: Lang = "zh-CN") -> str:
    """The report as one self-contained printable HTML document, for :func:`report_pdf`.

    Rendered by the pages' templates and message catalogues (``gongshu.web.routes.reports``),
    imported here on call so the CLI finds it beside the other renderers without a server.
    """
    from gongshu.web.routes.reports import render_print_html as render_page

    return render_page(report, lang)


# --- files for the CLI --------------------------------------------------------------------------

FORMATS = ("json", "xlsx", "pdf", "html")


def write_report(
    report: Mapping[str, Any],
    out_dir: Path,
    formats: Sequence[str],
    *,
    html: str | None,
    lang: Lang = "zh-CN",
) -> list[Path]:
    """Write the report in ``formats`` (json, xlsx, pdf, html) into ``out_dir``; the paths written.

    ``html`` is the printable document (``gongshu.web.routes.reports.render_print_html``), needed
    for ``pdf`` and ``html``.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise GongshuError(
            f"unknown report format(s): {', '.join(unknown)}", hint=f"choose from {', '.join(FORMATS)}"
        )
    if html is None and {"pdf", "html"} & set(formats):
        raise GongshuError(
            "the PDF and HTML formats need the printable HTML", hint="pass html=render_print_html(...)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt_name in dict.fromkeys(formats):
        path = out_dir / report_filename(report["month"], fmt_name, lang)
        if fmt_name == "json":
            path.write_text(
                json.dumps(report, ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8"
            )
        elif fmt_name == "xlsx":
            path.write_bytes(report_xlsx(report, lang))
        elif fmt_name == "pdf":
            path.write_bytes(report_pdf(html or ""))
        else:
            path.write_text(html or "", encoding="utf-8")
        written.append(path)
    return written


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
