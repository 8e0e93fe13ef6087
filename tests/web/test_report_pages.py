"""The monthly quality report pages (质量月报): list, report page and JSON twin, PDF and XLSX, the API.

For now the ``figures`` fixture replaces ``gongshu.quality.figures.monthly_report`` with the
hand-made report of ``tests/quality/report_fixture.py`` (for whichever month is asked), so the
tests can compare exact figures. To switch to the real function: drop the fixture's
``monkeypatch.setattr`` (the seeded platform then answers through the real function), and compare
the pages with the real report's own figures (``client.get("/reports/<month>.json")``) instead of
the fixture's constants; status codes, languages, downloads, errors and the browser test stay.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import openpyxl
import pytest
from fastapi.testclient import TestClient
from test_browser import ARTIFACTS, browser_page, live_url  # noqa: F401  (fixtures used by the browser test)
from web_support import PASSWORD

from gongshu.orgs.models import User
from gongshu.orgs.schemas import TokenCreate
from gongshu.orgs.tokens import issue_token
from gongshu.orgs.users import principal_of
from gongshu.platform import Platform
from gongshu.quality import figures as figures_module
from gongshu.quality.calendar import current_month as city_month
from gongshu.quality.calendar import shift_month
from gongshu.quality.render import find_chromium
from gongshu.web import i18n
from tests.quality.report_fixture import report as fixture_report

MONTH = "2026-10"
TITLE = "上海市公共数据质量月报 2026年10月"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """``gongshu.quality.figures.monthly_report`` answering the fixture report; the calls it had."""
    calls: list[tuple[str, str]] = []

    def monthly_report(session: Any, month: str, *, actor: Any, **_: Any) -> dict[str, Any]:
        calls.append((month, actor.name))
        return fixture_report() | {"month": month, "previous_month": shift_month(month, -1)}

    monkeypatch.setattr(figures_module, "monthly_report", monthly_report)
    yield calls


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- pages and twins ----------------------------------------------------------------------------


def test_the_report_page_shows_the_headline_tables_charts_and_downloads(
    operator: TestClient, figures: list[tuple[str, str]]
) -> None:
    page = operator.get(f"/reports/{MONTH}")
    assert page.status_code == 200, page.text[:1000]
    assert figures == [(MONTH, "user:admin")]
    html = page.text
    text = plain(html)
    expected = [
        *(
            TITLE,
            "主要指标",
            "市级部门",
            "各区",
            "6,740 个",
            "已挂载 6,512（96.62%）",
            "26.88 亿条",
            "环比 +18.01%",
        ),
        *(
            "13.20 天",
            "较上月 +0.83 天",
            "305 个",
            "3,811.09 万次",
            "76.38",
            "78.63",
            "报告摘要",
            "市级部门质量排名",
        ),
        *(
            "各区数据质量",
            "质量维度（GB/T 36344）",
            "主要问题",
            "空间数据稽核",
            "上海市公安局",
            "市统计局",
        ),
        *("浦东新区", "崇明区", "公民身份号码校验位错误", "31,411,241"),
    ]
    for shown in expected:
        assert shown in text, shown
    assert fixture_report()["narrative"]["zh-CN"][0] in text
    assert html.count("<svg") == 4
    assert f'href="/reports/{MONTH}.pdf"' in html and f'href="/reports/{MONTH}.xlsx"' in html
    assert 'href="/reports/2026-09"' in html and 'href="/reports"' in html
    assert 'class="overdue"' in html  # overdue tickets in red
    assert '<a href="/reports" aria-current="page">质量月报</a>' in html  # the navigation link


def test_the_json_twin_answers_the_figures(operator: TestClient, figures: list[tuple[str, str]]) -> None:
    data = operator.get(f"/reports/{MONTH}.json").json()
    assert data["report"] == fixture_report()
    assert data["previous_month"] == "2026-09" and data["in_progress"] is False


def test_the_report_page_in_english(operator: TestClient, figures: list[tuple[str, str]]) -> None:
    text = plain(operator.get(f"/reports/{MONTH}?lang=en").text)
    expected = [
        *("Shanghai public data quality report, October 2026", "Headline figures", "2.69 billion records"),
        *("+18.01% month on month", "Public Security Bureau", "Pudong New Area"),
        *("Check digit of the citizen ID number is wrong", "Download PDF"),
    ]
    for shown in expected:
        assert shown in text, shown
    assert fixture_report()["narrative"]["en"][0] in text


def test_any_signed_in_user_may_read_reports_and_visitors_sign_in(
    client: TestClient, make_client: Any, figures: list[tuple[str, str]]
) -> None:
    for username in ("reader", "steward", "dev"):  # a consumer, a steward, a developer (no government role)
        assert make_client(username).get(f"/reports/{MONTH}").status_code == 200, username
    visitor = client.get(f"/reports/{MONTH}", follow_redirects=False)
    assert visitor.status_code == 303 and visitor.headers["location"] == f"/login?next=/reports/{MONTH}"
    assert client.get(f"/reports/{MONTH}.json").status_code == 401
    assert client.get(f"/reports/{MONTH}.xlsx", follow_redirects=False).status_code == 303
    assert figures == [(MONTH, "user:reader"), (MONTH, "user:steward"), (MONTH, "user:dev")]


@pytest.mark.parametrize(
    ("month", "status"), [("2026-13", 422), ("2026-1", 422), ("october", 422), ("0000-00", 422)]
)
def test_a_month_that_is_not_a_month_is_refused(
    operator: TestClient, figures: list[tuple[str, str]], month: str, status: int
) -> None:
    page = operator.get(f"/reports/{month}")
    assert page.status_code == status and "YYYY-MM" in page.text
    error = operator.get(f"/reports/{month}.json").json()["error"]
    assert error["code"] == "validation" and "month" in error["problems"]
    assert operator.get(f"/reports/{month}.xlsx").status_code == status
    assert figures == []


def test_a_month_that_has_not_begun_has_no_report(
    operator: TestClient, figures: list[tuple[str, str]]
) -> None:
    future = shift_month(city_month(), 1)
    assert operator.get(f"/reports/{future}").status_code == 404
    assert operator.get(f"/reports/{future}.json").json()["error"]["code"] == "not_found"
    current = operator.get(f"/reports/{city_month()}.json").json()
    assert current["in_progress"] is True and current["next_month"] is None


def test_the_list_offers_this_month_and_the_eleven_before(operator: TestClient) -> None:
    data = operator.get("/reports.json").json()
    months = [m["month"] for m in data["months"]]
    assert months[0] == city_month() and months[-1] == shift_month(city_month(), -11) and len(months) == 12
    assert [m["in_progress"] for m in data["months"]] == [True] + [False] * 11
    page = operator.get("/reports")
    assert page.status_code == 200 and "月度公共数据质量报告" in page.text and "统计中" in page.text
    for month in months:
        assert f'href="/reports/{month}"' in page.text and f'href="/reports/{month}.xlsx"' in page.text


def test_the_workbook_downloads_with_a_chinese_file_name(
    operator: TestClient, figures: list[tuple[str, str]]
) -> None:
    response = operator.get(f"/reports/{MONTH}.xlsx")
    assert response.status_code == 200 and response.headers["content-type"] == XLSX_TYPE
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="quality-report-2026-10.xlsx"; ')
    assert f"filename*=UTF-8''{quote('上海市公共数据质量月报-2026-10.xlsx')}" in disposition
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["概览", "市级部门", "各区", "质量维度", "主要问题", "趋势"]
    assert book["市级部门"]["C2"].value == "上海市公安局"
    english = operator.get(f"/reports/{MONTH}.xlsx?lang=en")
    assert "filename*=UTF-8''quality-report-2026-10.xlsx" in english.headers["content-disposition"]
    assert openpyxl.load_workbook(io.BytesIO(english.content)).sheetnames[0] == "Summary"


def test_every_key_the_report_templates_use_exists_in_both_languages() -> None:
    from importlib import resources
    from pathlib import Path

    folder = Path(str(resources.files("gongshu.web").joinpath("templates/quality")))
    literal = re.compile(r"\bt\('([^']+)'")
    keys = {lang: set(i18n.catalogue(lang)) for lang in i18n.LANGUAGES}
    used = set()
    for name in ("report.html", "report_print.html", "report_parts.html", "reports.html"):
        used |= set(literal.findall((folder / name).read_text("utf-8")))
    assert used and all(k.startswith(("report.", "nav.")) for k in used)
    for lang in i18n.LANGUAGES:
        assert used - keys[lang] == set(), lang
    assert "t('report.' ~" not in "".join((folder / n).read_text("utf-8") for n in ("report_parts.html",))


# --- the API ------------------------------------------------------------------------------------


def token_of(platform: Platform, username: str) -> dict[str, str]:
    import sqlalchemy as sa

    with platform.store.session() as session:
        user = session.scalars(sa.select(User).where(User.username == username)).one()
        secret = issue_token(session, principal_of(user), TokenCreate(name="reports")).secret
    return {"Authorization": f"Bearer {secret}"}


def test_the_api_answers_the_report_and_its_workbook(
    client: TestClient, platform: Platform, figures: list[tuple[str, str]]
) -> None:
    headers = token_of(platform, "reader")
    assert client.get(f"/api/v1/reports/{MONTH}").status_code == 401
    assert client.get(f"/api/v1/reports/{MONTH}", headers=headers).json() == fixture_report()
    workbook = client.get(f"/api/v1/reports/{MONTH}/xlsx?lang=en", headers=headers)
    assert workbook.status_code == 200 and workbook.headers["content-type"] == XLSX_TYPE
    assert openpyxl.load_workbook(io.BytesIO(workbook.content)).sheetnames[1] == "City departments"
    refused = client.get("/api/v1/reports/2026-13", headers=headers)
    assert refused.status_code == 422 and "month" in refused.json()["error"]["problems"]
    assert client.get(f"/api/v1/reports/{MONTH}/xlsx?lang=fr", headers=headers).status_code == 422
    assert "/api/v1/reports/{month}/pdf" in client.get("/api/v1/openapi.json").json()["paths"]


def have_chromium() -> bool:
    try:
        find_chromium()
    except Exception:
        return False
    return True


@pytest.mark.browser
def test_the_pdf_downloads_from_the_page_and_the_api(
    operator: TestClient, client: TestClient, platform: Platform, figures: list[tuple[str, str]]
) -> None:
    if not have_chromium():
        pytest.skip("no Chromium: `make browser-deps`")
    response = operator.get(f"/reports/{MONTH}.pdf")
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/pdf" and response.content.startswith(b"%PDF")
    assert quote("上海市公共数据质量月报-2026-10.pdf") in response.headers["content-disposition"]
    api = client.get(f"/api/v1/reports/{MONTH}/pdf", headers=token_of(platform, "steward"))
    assert api.status_code == 200 and api.content.startswith(b"%PDF")


def test_without_chromium_the_pdf_is_a_clear_503(
    operator: TestClient, figures: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GONGSHU_CHROMIUM", "/nonexistent/chromium")
    page = operator.get(f"/reports/{MONTH}.pdf")
    assert page.status_code == 503 and "make browser-deps" in page.text


# --- in a real browser --------------------------------------------------------------------------


@pytest.mark.browser
def test_the_report_in_the_browser(
    live_url: str,  # noqa: F811
    browser_page: object,  # noqa: F811
    figures: list[tuple[str, str]],
) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_url}/login?next=/reports")
    page.get_by_label("用户名").fill("reader")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(f"{live_url}/reports")
    expect(page.get_by_role("link", name="质量月报", exact=True)).to_have_attribute("aria-current", "page")
    page.screenshot(path=ARTIFACTS / "quality-reports.png", full_page=True)

    page.goto(f"{live_url}/reports/{MONTH}")
    expect(page.locator("h1")).to_have_text(TITLE)
    expect(page.locator('[data-scope="city"] [data-figure="headline_records"]')).to_contain_text("26.88 亿条")
    expect(page.locator("table.departments tbody tr")).to_have_count(11)
    expect(page.locator("table.districts tbody tr")).to_have_count(16)
    expect(page.locator("#chart-departments svg")).to_be_visible()
    assert page.locator("table.departments .overdue").first.evaluate("e => getComputedStyle(e).color") == (
        "rgb(180, 35, 24)"
    )
    page.screenshot(path=ARTIFACTS / "quality-report.png", full_page=True)
    page.locator(".r-scopes").screenshot(path=ARTIFACTS / "quality-report-headline.png")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi, as the browser prints it
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".r-actions")).to_be_hidden()
    page.screenshot(path=ARTIFACTS / "quality-report-print.png", full_page=True)
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 1360, "height": 900})
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 XLSX").click()
    assert download.value.suggested_filename == "上海市公共数据质量月报-2026-10.xlsx"
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.locator("h1")).to_have_text("Shanghai public data quality report, October 2026")
    page.screenshot(path=ARTIFACTS / "quality-report-en.png", full_page=True)
