"""The monthly quality report's renderers: numbers, SVG charts, the XLSX workbook and the PDF.

The report is the hand-made fixture of ``report_fixture`` (the contract's shape, 11 departments,
16 districts, some ``None``). The PDF test prints it with the real headless Chromium and renders
page 1 to ``test-artifacts/quality-report-page1.png``; it skips without Chromium unless
``GONGSHU_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import tempfile
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from gongshu.errors import NotFound, ValidationFailed
from gongshu.quality import render
from gongshu.quality.render import (
    FIGURES,
    SUMMARY_ROWS,
    PdfFailed,
    PdfUnavailable,
    check_month,
    fmt,
    headline,
    label,
    quantity,
    report_pdf,
    report_xlsx,
    shift_month,
    svg_bar_chart,
    svg_line_chart,
    write_report,
)
from gongshu.web.routes.reports import render_print_html
from tests.quality.report_fixture import CITY, DISTRICTS_TOTAL, report

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert('x')</script> & \"市\""


# --- numbers and months -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (None, "count", "—"),
        (81926, "count", "81,926"),
        (0.1801, "ratio", "18.01%"),
        (0.1801, "ratio_change", "+18.01%"),
        (-0.0124, "ratio_change", "−1.24%"),
        (0, "ratio_change", "±0.00%"),
        (13.2, "days", "13.20"),
        (0.83, "days_change", "+0.83"),
        (76.38, "score", "76.4"),
        (76.38, "average", "76.38"),
        (-0.4, "score_change", "−0.4"),
        (40, "count_change", "+40"),
    ],
)
def test_figures_are_formatted_for_people(value: Any, kind: render.Kind, shown: str) -> None:
    assert fmt(value, kind) == shown


def test_large_counts_read_in_yi_and_wan_or_billions() -> None:
    assert quantity(2_688_000_000) == "26.88 亿"
    assert quantity(38_110_900) == "3,811.09 万"
    assert quantity(88_290_000) == "8,829 万"
    assert quantity(2_688_000_000, "en") == "2.69 billion"
    assert quantity(9_120, "en") == "9,120"
    assert quantity(None) == "—"


def test_months_are_checked_and_shifted() -> None:
    assert check_month("2026-10", current="2026-11") == "2026-10"
    for bad in ("2026-13", "2026-00", "26-10", "2026/10", "abc", "2026-1", "２０２６-10"):
        with pytest.raises(ValidationFailed):
            check_month(bad, current="2026-11")
    with pytest.raises(NotFound):
        check_month("2026-12", current="2026-11")
    assert shift_month("2026-01", -1) == "2025-12"
    assert shift_month("2025-12", 1) == "2026-01"
    assert render.recent_months("2026-02", 3) == ["2026-02", "2026-01", "2025-12"]
    assert render.month_label("2026-10") == "2026年10月"
    assert render.report_title("2026-10") == "上海市公共数据质量月报 2026年10月"
    assert render.report_title("2026-10", "en") == "Shanghai public data quality report, October 2026"


def test_the_headline_shows_the_seeds_figures_with_their_changes() -> None:
    cards = {c["key"]: c for c in headline(CITY)}
    assert cards["entries"]["value"] == "6,740 个" and cards["entries"]["note"] == "已挂载 6,512（96.62%）"
    assert cards["headline_records"]["value"] == "26.88 亿条"
    assert cards["headline_records"]["note"] == "环比 +18.01%" and cards["headline_records"]["tone"] == "good"
    assert cards["headline_latency"]["value"] == "13.20 天"
    assert cards["headline_latency"]["tone"] == "bad"  # a longer latency is worse
    assert cards["demands"]["note"] == "较上月 +40"
    assert cards["calls"]["value"] == "3,811.09 万次" and cards["calls"]["note"] == "环比 +130.42%"
    assert cards["headline_score"]["value"] == "76.38"
    assert cards["headline_tickets"]["tone"] == "bad"
    english = {c["key"]: c for c in headline(DISTRICTS_TOTAL, "en")}
    assert english["headline_records"]["value"] == "5.03 billion records"
    assert english["headline_latency"]["tone"] == "good"
    empty = headline(dict.fromkeys(FIGURES))
    assert all(c["value"] == "—" for c in empty)


# --- SVG charts ---------------------------------------------------------------------------------


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}text")]


def test_the_bar_chart_is_well_formed_escaped_and_shows_gaps() -> None:
    items = [("上海市公安局", 88.6), (HOSTILE, 70.0), ("上海市统计局", None)]
    svg = svg_bar_chart(items, title=f"得分 {HOSTILE}", unit="分", max_value=100, width=600)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
    assert "<script>" not in svg
    assert root.find(f"{SVG}title").text == f"得分 {HOSTILE}"
    shown = texts(svg)
    assert HOSTILE in "".join(root.itertext()) and "88.6分" in shown and "—" in shown
    bars = list(root.iter(f"{SVG}rect"))
    assert len(bars) == 2  # none for the unmeasured department
    assert float(bars[0].get("width")) > float(bars[1].get("width")) > 0


def test_the_line_chart_breaks_at_none_and_scales_its_axis() -> None:
    values: list[float | None] = [74.2, None, 73.9, 74.5, 75.0]
    svg = svg_line_chart([("质量得分", values)], ["11月", "12月", "1月", "2月", "3月"], title="近 5 个月")
    root = ET.fromstring(svg)
    assert len(list(root.iter(f"{SVG}polyline"))) == 1  # the lone first point is a dot, not a line
    assert len(list(root.iter(f"{SVG}circle"))) == 4
    ticks = [t for t in texts(svg) if t.replace(".", "").isdigit()]
    assert ticks and float(ticks[0]) > 0  # the score axis does not start at 0
    two = svg_line_chart([("a<b", [1, 2]), ("c&d", [None, 3])], ["x", "y"], title="t", width=300, height=150)
    assert {"a<b", "c&d"} <= set(texts(two))


def test_a_single_measured_value_gets_an_axis_around_it() -> None:
    svg = svg_line_chart([("得分", [None, None, 87.66])], ["9月", "10月", "11月"], title="得分")
    ticks = [float(t) for t in texts(svg) if t.replace(".", "").isdigit()]
    assert min(ticks) <= 87.66 <= max(ticks) and max(ticks) - min(ticks) <= 20, ticks


def test_charts_accept_nothing_measured() -> None:
    for svg in (
        svg_bar_chart([], title="空"),
        svg_bar_chart([("a", None)], title="空"),
        svg_line_chart([("s", [None, None])], ["1", "2"], title="空"),
        svg_line_chart([], [], title="空"),
    ):
        ET.fromstring(svg)


def test_the_reports_four_charts() -> None:
    charts = render.charts(report())
    assert set(charts) == {"departments", "districts", "records", "score"}
    assert "市公安局" in texts(charts["departments"]) and "浦东新区" in texts(charts["districts"])
    assert "亿" in "".join(texts(charts["records"]))


# --- the workbook -------------------------------------------------------------------------------


def workbook(lang: str = "zh-CN", data: dict[str, Any] | None = None) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(report_xlsx(data or report(), lang)))


def rows_of(sheet: Any) -> list[tuple[Any, ...]]:
    return list(sheet.iter_rows(values_only=True))


def test_the_workbook_has_its_six_sheets_in_each_language() -> None:
    assert workbook().sheetnames == ["概览", "市级部门", "各区", "质量维度", "主要问题", "趋势"]
    names = ["Summary", "City departments", "Districts", "Quality dimensions", "Top problems", "Trend"]
    assert workbook("en").sheetnames == names


def test_the_summary_sheet_holds_city_and_district_figures_and_the_narrative() -> None:
    data = report()
    sheet = workbook(data=data)["概览"]
    rows = rows_of(sheet)
    assert rows[0][0] == "上海市公共数据质量月报 2026年10月"
    assert "2026-10" in rows[1][0] and "2026-09" in rows[1][0] and "2026-11-21 10:00" in rows[1][0]
    by_label = {row[0]: row for row in rows if row[0]}
    for key, previous in SUMMARY_ROWS:
        row = by_label[label(key)]
        assert row[1] == data["city"][key] and row[3] == data["districts_total"][key], key
        if previous:
            assert row[2] == data["city"][previous] and row[4] == data["districts_total"][previous], key
        else:
            assert row[2] is None and row[4] is None
    assert by_label["检查数据（条）"][1] == 31_411_241 and by_label["稽核异常（条）"][1] == 1_336
    assert [r[0] for r in rows if r[0] in data["narrative"]["zh-CN"]] == data["narrative"]["zh-CN"]
    assert sheet.freeze_panes == "B5"
    assert sheet["B7"].number_format == "0.00%"  # mounted_ratio, a fraction shown as a percentage


def test_the_department_sheet_has_every_figure_of_every_department() -> None:
    data = report()
    sheet = workbook(data=data)["市级部门"]
    rows = rows_of(sheet)
    assert rows[0] == ("排名", "代码", "部门", *(label(k) for k in FIGURES), "主要问题")
    assert len(rows) == 1 + 11
    for row, department in zip(rows[1:], data["departments"], strict=True):
        assert row[:3] == (department["rank"], department["code"], department["name"])
        assert row[3:-1] == tuple(department[k] for k in FIGURES)  # None stays an empty cell
        for problem in department["top_problems"]:
            assert problem["description"] in row[-1]
    statistics = rows[-1]
    assert (
        statistics[1] == "TJ"
        and statistics[0] is None
        and statistics[3 + list(FIGURES).index("score")] is None
    )
    assert sheet.freeze_panes == "D2"
    column = 4 + list(FIGURES).index("records_change")
    assert sheet.cell(2, column).number_format == "+0.00%;-0.00%;0.00%"
    assert sheet.cell(2, 4).number_format == "#,##0"


def test_the_district_sheet_has_all_sixteen_districts_with_located_rows() -> None:
    data = report()
    rows = rows_of(workbook(data=data)["各区"])
    assert rows[0][-2:] == ("属地记录数", "属地异常数")
    assert [r[1] for r in rows[1:]] == [d["code"] for d in data["districts"]]
    for row, district in zip(rows[1:], data["districts"], strict=True):
        assert row == (
            district["rank"],
            district["code"],
            district["name"],
            *(district[k] for k in FIGURES),
            district["located_rows"],
            district["located_failed"],
        )


def test_the_dimension_problem_and_trend_sheets() -> None:
    data = report()
    book = workbook(data=data)
    dimensions = rows_of(book["质量维度"])[1:]
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in dimensions] == [
        (d["label"], d["dimension"], d["score"], d["checked"], d["failed"]) for d in data["dimensions"]
    ]
    assert dimensions[0][5] == pytest.approx(12_004_210 / 1_620_300_000)
    assert dimensions[-1][5] is None  # nothing checked: no rate
    problems = rows_of(book["主要问题"])[1:]
    assert [(r[0], r[1], r[2], r[10], r[11]) for r in problems] == [
        (i, p["rule"], p["description"], p["failed"], p["checked"])
        for i, p in enumerate(data["top_problems"], start=1)
    ]
    assert problems[0][3] == "准确性" and problems[0][5] == "上海市公安局"
    trend = rows_of(book["趋势"])[1:]
    assert trend == [
        (t["month"], t["records"], t["score"], t["latency_days"], t["batches"]) for t in data["trend"]
    ]


def test_the_english_workbook_uses_english_names() -> None:
    book = workbook("en")
    assert rows_of(book["City departments"])[1][2] == "Shanghai Municipal Public Security Bureau"
    assert rows_of(book["Quality dimensions"])[1][0] == "Normativity"
    assert rows_of(book["Summary"])[4][0] == "Catalogue entries compiled"


def test_hostile_names_stay_text_in_the_workbook() -> None:
    data = report()
    data["departments"][0]["name"] = '=HYPERLINK("http://evil.example","点我")'
    data["districts"][0]["name"] = "http://evil.example"
    book = workbook(data=data)
    cell = book["市级部门"]["C2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    assert book["各区"]["C2"].hyperlink is None


def test_write_report_writes_the_files_the_cli_asks_for(tmp_path: Path) -> None:
    data = report()
    written = write_report(data, tmp_path, ["json", "xlsx", "html"], html="<!doctype html><p>月报</p>")
    assert [p.name for p in written] == [
        "上海市公共数据质量月报-2026-10.json",
        "上海市公共数据质量月报-2026-10.xlsx",
        "上海市公共数据质量月报-2026-10.html",
    ]
    assert json.loads(written[0].read_text("utf-8")) == data
    openpyxl.load_workbook(written[1])
    with pytest.raises(render.GongshuError, match="printable HTML"):
        write_report(data, tmp_path, ["pdf"], html=None)
    with pytest.raises(render.GongshuError, match="unknown report format"):
        write_report(data, tmp_path, ["docx"], html=None)


# --- the printable HTML and the PDF -------------------------------------------------------------


def test_the_print_html_is_self_contained() -> None:
    page = render_print_html(report(), "zh-CN")
    assert page.startswith("<!doctype html>") or page.lstrip().startswith("<!doctype html>")
    assert "<script" not in page and "<link" not in page and 'src="' not in page
    assert "上海市公共数据质量月报 2026年10月" in page
    assert page.count("<svg") == 4
    assert "counter(page)" in page and "counter(pages)" in page
    assert "上海市统计局" in page and "26.88 亿条" in page
    english = render_print_html(report(), "en")
    assert "Shanghai public data quality report, October 2026" in english and 'lang="en"' in english


def fake_chromium(tmp_path: Path, body: str) -> str:
    script = tmp_path / "chromium"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("gongshu-pdf-*")}


def test_no_chromium_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GONGSHU_CHROMIUM", raising=False)
    with pytest.raises(PdfUnavailable) as caught:
        report_pdf("<p>x</p>", chromium="/nonexistent/chromium")
    assert caught.value.http_status == 503 and "make browser-deps" in (caught.value.hint or "")
    monkeypatch.setenv("GONGSHU_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(PdfUnavailable, match="/nonexistent/chromium"):
        report_pdf("<p>x</p>")


def test_a_failing_or_hanging_chromium_is_a_clear_error_and_leaves_no_files(tmp_path: Path) -> None:
    before = leftovers()
    with pytest.raises(PdfFailed, match="exited with 3"):
        report_pdf("<p>x</p>", chromium=fake_chromium(tmp_path, "echo broken >&2; exit 3"))
    with pytest.raises(PdfFailed, match="printed no PDF"):
        report_pdf("<p>x</p>", chromium=fake_chromium(tmp_path, "exit 0"))
    with pytest.raises(PdfFailed, match=r"within 0\.5 s") as caught:
        report_pdf("<p>x</p>", chromium=fake_chromium(tmp_path, "sleep 30"), timeout=0.5)
    assert caught.value.transient
    assert leftovers() == before


def test_the_html_goes_to_chromium_as_a_file_with_its_base_url(tmp_path: Path) -> None:
    echo = fake_chromium(  # prints "%PDF-" and the HTML it was given
        tmp_path,
        'for a in "$@"; do case $a in --print-to-pdf=*) out=${a#--print-to-pdf=};; file://*) src=${a#file://};;'
        ' esac; done; { printf "%%PDF-"; cat "$src"; } > "$out"',
    )
    before = leftovers()
    printed = report_pdf(
        "<html><head><title>月报</title></head></html>", chromium=echo, base_url="https://x/a?b=1&c"
    )
    assert (
        printed.decode()
        == '%PDF-<html><head><base href="https://x/a?b=1&amp;c"><title>月报</title></head></html>'
    )
    assert leftovers() == before


def chromium_or_skip() -> str:
    try:
        return render.find_chromium()
    except PdfUnavailable as error:
        if os.environ.get("GONGSHU_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{error.message}; GONGSHU_REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(f"{error.message} ({error.hint})")


def write_png(pixels: Any, path: Path) -> None:
    """An RGB numpy array as a PNG (no imaging library needed)."""
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_report_prints_to_a_pdf_with_chinese_text(lang: str) -> None:
    import pypdfium2 as pdfium

    chromium_or_skip()
    before = leftovers()
    pdf = report_pdf(render_print_html(report(), lang))
    assert pdf.startswith(b"%PDF") and leftovers() == before
    document = pdfium.PdfDocument(pdf)
    try:
        assert len(document) >= 1
        first = document[0]
        text = first.get_textpage().get_text_range()
        title = (
            "上海市公共数据质量月报 2026年10月" if lang == "zh-CN" else "Shanghai public data quality report"
        )
        assert title in text, text[:300]
        assert "76.38" in text and ("26.88 亿条" in text if lang == "zh-CN" else "2.69 billion" in text)
        pixels = first.render(scale=1.5, rev_byteorder=True).to_numpy()[:, :, :3]
        ARTIFACTS.mkdir(exist_ok=True)
        suffix = "" if lang == "zh-CN" else "-en"
        write_png(pixels, ARTIFACTS / f"quality-report-page1{suffix}.png")
        (ARTIFACTS / f"quality-report{suffix}.pdf").write_bytes(pdf)
        inked = (pixels.min(axis=2) < 200).mean()
        assert 0.01 < inked < 0.5, inked  # text and figures on a white page: neither blank nor a blot
        last = document[len(document) - 1].get_textpage().get_text_range()
        assert f"{len(document)}" in last  # the page numbers of the @page footer
    finally:
        document.close()
