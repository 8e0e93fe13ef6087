"""The data cockpit (数据驾驶舱): the page, its JSON twin, the shipped district outlines, the vendored
ECharts, and the page in a real browser.

Two sources of figures: the ``hand_made`` fixture answers ``gongshu.quality.figures.cockpit`` with
the realistic city of ``cockpit_fixture`` (11 departments, 16 districts, a year of trend, gaps
where nothing was measured), which the layout, the formatting and the screenshots are checked on;
tests without it render what the real function computes for the small seeded platform (no batch,
no audit: every score missing), which the page must survive as well.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from cockpit_fixture import cockpit as hand_made_cockpit
from fastapi.testclient import TestClient
from test_browser import ARTIFACTS, browser_page, live_url  # noqa: F401  (fixtures used by the browser test)
from web_support import PASSWORD

from gongshu.cleanse.reference import districts as cleanse_districts
from gongshu.orgs.organisations import list_divisions
from gongshu.orgs.roles import SYSTEM
from gongshu.platform import Platform
from gongshu.quality import figures
from gongshu.web import i18n
from gongshu.web.routes.cockpit import format_count, format_decimal, format_percent
from tests.browser_support import chromium

WEB = Path(str(resources.files("gongshu.web")))
TEMPLATE = WEB / "templates/quality/cockpit.html"
SCRIPT = WEB / "static/cockpit.js"
STYLE = WEB / "static/cockpit.css"
GEO = WEB / "static/geo/shanghai.json"
GEO_README = WEB / "static/geo/README.md"
VENDOR = WEB / "static/vendor"

Client = Callable[[str | None], TestClient]


@pytest.fixture
def hand_made(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``gongshu.quality.figures.cockpit`` answering the hand-made cockpit (for the month asked)."""

    def cockpit(
        session: object, *, actor: object, month: str | None = None, calls: object = None
    ) -> dict[str, Any]:
        return hand_made_cockpit(month)

    monkeypatch.setattr(figures, "cockpit", cockpit)
    yield


@pytest.fixture
def as_user(make_client: Any) -> Client:
    def build(username: str | None) -> TestClient:
        client: TestClient = make_client(username)
        return client

    return build


def visible_text(html: str) -> str:
    """The page's text without tags, scripts and runs of white space."""
    html = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def island_of(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="cockpit-data">(.*?)</script>', html, re.S)
    assert found, "no data island"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def table_rows(html: str, table_id: str) -> list[str]:
    found = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert found, table_id
    return [visible_text(row).strip() for row in re.findall(r"<tr\b.*?</tr>", found.group(1), re.S)]


# --- the page and its twin ------------------------------------------------------------------------


@pytest.mark.usefixtures("hand_made")
def test_the_page_shows_the_figures_of_its_twin(as_user: Client) -> None:
    client = as_user("admin")
    page = client.get("/cockpit")
    assert page.status_code == 200, page.text[:500]
    figures = client.get("/cockpit.json").json()["cockpit"]
    assert island_of(page.text)["figures"] == figures
    text = visible_text(page.text)
    assert "上海市公共数据驾驶舱" in text and f"统计月份 {figures['month']}" in text
    for department in figures["departments"]:
        assert department["name"] in text
    for district in figures["districts"]:
        assert district["name"] in text
    assert len(table_rows(page.text, "table-districts")) == len(figures["districts"])
    assert len(table_rows(page.text, "table-departments")) == len(figures["departments"])
    assert len(table_rows(page.text, "table-trend")) == len(figures["trend"]) == 12
    assert len(table_rows(page.text, "table-dimensions")) == len(figures["dimensions"])
    city = figures["city"]
    for shown in (
        format_count("zh-CN", city["entries"]),
        format_count("zh-CN", city["records_month"]),
        format_percent(city["mounted_ratio"]),
        format_decimal(city["score"], places=2),
    ):
        assert shown in text, shown


@pytest.mark.usefixtures("hand_made")
def test_headline_tiles_rankings_and_dashes_for_what_was_not_measured(as_user: Client) -> None:
    page = as_user("admin").get("/cockpit").text
    text = visible_text(page)
    for shown in (
        "编制目录 6,783 市级部门 各区 17,396",
        "已挂载 6,539 挂载率 96.40% 各区 17,290 · 99.39%",
        "本月归集 27.40亿 条 环比 ↑ 上升 16.96%",
        "平均归集时间 13.20 天 较上月 ↑ 上升 0.83天",
        "质量得分 76.38 较上月 ↑ 上升 1.3",
        "共享需求 / 调用 305 / 3811.09万",
        "未闭环工单 / 逾期 47 / 9",
    ):
        assert shown in text, shown
    departments = table_rows(page, "table-departments")
    assert departments[0].startswith("1 上海市公安局 88.9")
    assert departments[-1] == "— 上海市统计局 — 0 99.21% 0"  # no batch this month: not ranked
    districts = {row.split()[0]: row for row in table_rows(page, "table-districts")}
    assert districts["浦东新区"].startswith("浦东新区 1 87.1 9.83亿 613.00万 153")
    assert districts["崇明区"].startswith("崇明区 — —")
    assert "可访问性 — 0 0" in table_rows(page, "table-dimensions")
    assert "2025-12 0 — — 0" in table_rows(page, "table-trend")
    problems = table_rows(page, "table-problems")
    assert len(problems) == 10 and problems[0].startswith("1 公民身份号码校验位错误 ID_CHECK 准确性 公安局")
    assert "稽核记录 3141.12万 异常记录 1,336 通过记录 3140.99万 通过率 99.996%" in text


@pytest.mark.usefixtures("hand_made")
def test_the_page_in_english(as_user: Client) -> None:
    page = as_user("admin").get("/cockpit?lang=en").text
    text = visible_text(page)
    assert "Shanghai public data cockpit" in text and "Figures of 2026-10" in text
    assert "Collected this month 2.74 bn records" in text
    assert "Public Security Bureau" in text and "Pudong New Area" in text
    assert island_of(page)["lang"] == "en"
    assert "Top 10 problems" in text and "Check digit of the citizen ID number is wrong" in text


@pytest.mark.usefixtures("hand_made")
def test_the_month_is_chosen_and_validated(as_user: Client) -> None:
    client = as_user("steward")
    assert client.get("/cockpit.json?month=2026-09").json()["cockpit"]["month"] == "2026-09"
    assert "统计月份 2026-09" in visible_text(client.get("/cockpit?month=2026-09").text)
    assert client.get("/cockpit?month=").status_code == 200  # the form's month left blank: this month
    for bad in ("2026-13", "2026-00", "2026-1", "26-10", "2026-10-01", "last", "2026-10'"):
        page = client.get("/cockpit", params={"month": bad})
        assert page.status_code == 422, bad
        assert "YYYY-MM" in page.text
        twin = client.get("/cockpit.json", params={"month": bad})
        assert twin.status_code == 422 and "month" in twin.json()["error"]["problems"], bad


def test_visitors_sign_in_first(as_user: Client) -> None:
    visitor = as_user(None)
    redirect = visitor.get("/cockpit?month=2026-10", follow_redirects=False)
    assert redirect.status_code == 303 and redirect.headers["location"].startswith("/login?next=/cockpit")
    assert visitor.get("/cockpit.json").status_code == 401
    # the figures hold no personal data: gongshu.quality.figures lets every signed-in user read them
    assert as_user("dev").get("/cockpit").status_code == 200


def test_the_real_figures_of_a_city_without_audits(as_user: Client, platform: Platform) -> None:
    """The seeded platform has entries but no batch and no audit: the page shows dashes, not errors."""
    client = as_user("reader")
    twin = client.get("/cockpit.json").json()["cockpit"]
    with platform.store.new_session() as session:
        direct = figures.cockpit(session, actor=SYSTEM, month=twin["month"])
    assert {k: v for k, v in twin.items() if k != "generated_at"} == {
        k: v for k, v in direct.items() if k != "generated_at"
    }
    assert len(twin["districts"]) == 16 and len(twin["trend"]) == 12
    page = client.get("/cockpit")
    assert page.status_code == 200
    assert island_of(page.text)["figures"]["month"] == twin["month"]
    scores = [row.split()[2] for row in table_rows(page.text, "table-districts")]
    assert scores == [format_decimal(d["score"]) for d in twin["districts"]]
    earlier = client.get("/cockpit.json?month=2025-01").json()["cockpit"]
    assert earlier["month"] == "2025-01" and earlier["trend"][-1]["month"] == "2025-01"


def test_the_navigation_links_the_cockpit_after_home(as_user: Client) -> None:
    page = as_user("steward").get("/catalog").text
    nav = re.search(r'<nav class="main-nav".*?</nav>', page, re.S)
    assert nav
    links = re.findall(r'<a href="([^"]+)"', nav.group(0))
    assert links[:2] == ["/", "/cockpit"]
    assert ">数据驾驶舱</a>" in nav.group(0)
    assert 'href="/cockpit" aria-current="page"' in as_user("steward").get("/cockpit").text
    assert "/cockpit" not in as_user(None).get("/").text


@pytest.mark.usefixtures("hand_made")
def test_the_only_inline_script_is_the_data_island(as_user: Client) -> None:
    page = as_user("admin").get("/cockpit").text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    inline = [(attrs, body) for attrs, body in scripts if body.strip()]
    assert [attrs.strip() for attrs, _ in inline] == ['type="application/json" id="cockpit-data"']
    sources = [re.search(r'src="([^"]+)"', attrs) for attrs, body in scripts if not body.strip()]
    assert {s.group(1) for s in sources if s} >= {"/static/vendor/echarts.min.js", "/static/cockpit.js"}
    # the island cannot close its own script element, whatever the figures hold
    assert "</" not in inline[0][1]


def test_nothing_is_loaded_from_the_internet() -> None:
    for path in (TEMPLATE, SCRIPT, STYLE, GEO):
        text = path.read_text("utf-8")
        assert not re.search(r"https?:|(?<![:\w])//[\w.-]+\.[a-z]{2,}", text), path.name
    script = SCRIPT.read_text("utf-8")
    assert re.findall(r"fetch\(([^,)]+)", script) == ["data.geo"]
    assert '"/static/geo/shanghai.json"' in re.sub(r"'", '"', TEMPLATE.read_text("utf-8"))


def test_every_message_the_template_uses_exists_in_both_languages() -> None:
    text = TEMPLATE.read_text("utf-8")
    used = set(re.findall(r"\bt\('([^']+)'\)", text)) | set(re.findall(r"\bt\('([^']+)',", text))
    used |= {f"cockpit.{d}" for d in ("up", "down", "flat")}  # t('cockpit.' ~ direction)
    assert re.findall(r"\bt\('([^']+)' ~", text) == ["cockpit."]
    for lang in i18n.LANGUAGES:
        assert used - set(i18n.catalogue(lang)) == set(), lang
    assert i18n.translate("zh-CN", "nav.cockpit") == "数据驾驶舱"


def test_numbers_are_written_for_chinese_and_english_readers() -> None:
    assert format_count("zh-CN", 2_740_250_000) == "27.40亿"
    assert format_count("zh-CN", 38_110_900) == "3811.09万"
    assert format_count("zh-CN", 17_396) == "17,396"
    assert format_count("zh-CN", 0) == "0"
    assert format_count("en", 2_740_250_000) == "2.74 bn"
    assert format_count("en", 38_110_900) == "38.11 M"
    assert format_count("en", 990_400) == "990,400"
    assert format_count("zh-CN", None) == format_percent(None) == format_decimal(None) == "—"
    assert format_percent(0.1801) == "18.01%" and format_percent(-0.032, signed=True) == "-3.20%"
    assert format_decimal(76.38) == "76.4" and format_decimal(76.38, places=2) == "76.38"


# --- the shipped district outlines ----------------------------------------------------------------

Point = tuple[float, float]


def polygons(geometry: dict[str, Any]) -> list[list[list[list[float]]]]:
    assert geometry["type"] in ("Polygon", "MultiPolygon")
    found: list[list[list[list[float]]]] = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    return found


def inside_ring(point: Point, ring: list[list[float]]) -> bool:
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def inside(point: Point, geometry: dict[str, Any]) -> bool:
    return any(
        inside_ring(point, polygon[0]) and not any(inside_ring(point, hole) for hole in polygon[1:])
        for polygon in polygons(geometry)
    )


def signed_area(ring: list[list[float]]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in pairwise(ring)) / 2


def crosses(p1: list[float], p2: list[float], p3: list[float], p4: list[float]) -> bool:
    """Whether two segments cross or touch anywhere but at the ends they share."""

    def side(o: list[float], a: list[float], b: list[float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    d1, d2, d3, d4 = side(p3, p4, p1), side(p3, p4, p2), side(p1, p2, p3), side(p1, p2, p4)
    return d1 * d2 < 0 and d3 * d4 < 0


def ring_problems(ring: list[list[float]], *, exterior: bool) -> list[str]:
    problems = []
    if len(ring) < 4 or ring[0] != ring[-1]:
        problems.append("not a closed ring of at least 4 positions")
    points = [tuple(p) for p in ring[:-1]]
    if len(set(points)) != len(points):
        problems.append("passes twice through a point")
    if (signed_area(ring) > 0) != exterior:
        problems.append("not wound by the right-hand rule")
    segments = list(pairwise(ring))
    for i, (a, b) in enumerate(segments):
        for j in range(i + 2, len(segments)):
            if (i, j) != (0, len(segments) - 1) and crosses(a, b, *segments[j]):
                problems.append(f"segments {i} and {j} cross")
    return problems


@pytest.fixture(scope="module")
def geo() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GEO.read_text("utf-8"))
    return data


def test_the_outlines_are_the_16_current_districts_as_seeded(geo: dict[str, Any], platform: Platform) -> None:
    with platform.store.new_session() as session:
        seeded = {d.code: d.name for d in list_divisions(session) if d.level == "district"}
    assert len(seeded) == 16
    shipped = {f["properties"]["code"]: f["properties"]["name"] for f in geo["features"]}
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 16
    assert shipped == seeded
    assert [f["properties"]["code"] for f in geo["features"]] == sorted(seeded)
    assert [f["id"] for f in geo["features"]] == sorted(seeded)
    assert {"310101", "310151"} <= set(shipped) and not {"310108", "310103", "310230"} & set(shipped)
    assert not {"闸北区", "卢湾区", "崇明县", "南汇区"} & set(shipped.values())


def test_the_outlines_are_valid_polygons(geo: dict[str, Any]) -> None:
    for feature in geo["features"]:
        for polygon in polygons(feature["geometry"]):
            for index, ring in enumerate(polygon):
                for lon, lat in ring:
                    assert 120.8 < lon < 122.2 and 30.6 < lat < 31.95, (feature["id"], lon, lat)
                problems = ring_problems(ring, exterior=index == 0)
                assert problems == [], (feature["properties"]["name"], index, problems)


def test_every_district_centre_lies_in_its_own_district(geo: dict[str, Any]) -> None:
    by_code = {f["properties"]["code"]: f["geometry"] for f in geo["features"]}
    for district in cleanse_districts().items:
        centre = (district.lon, district.lat)
        holders = [code for code, geometry in by_code.items() if inside(centre, geometry)]
        assert holders == [district.code], (district.name, centre, holders)


def test_the_outlines_file_is_small_and_its_readme_names_source_and_digest() -> None:
    data = GEO.read_bytes()
    assert len(data) < 1_500_000
    readme = GEO_README.read_text("utf-8")
    assert hashlib.sha256(data).hexdigest() in readme
    for fact in ("echarts@4.9.0", "Apache-2.0", "tools/build_shanghai_geo.py", "310151"):
        assert fact in readme, fact


def test_echarts_is_vendored_with_licence_and_provenance() -> None:
    script = (VENDOR / "echarts.min.js").read_bytes()
    readme = (VENDOR / "README.md").read_text("utf-8")
    assert re.search(r"`echarts\.min\.js`.*\| 5\.\d+\.\d+ \|", readme)
    assert hashlib.sha256(script).hexdigest() in readme
    assert re.search(r"sha512-[A-Za-z0-9+/]{86}==", readme)
    licence = (VENDOR / "echarts.LICENSE").read_text("utf-8")
    assert "Apache License" in licence and "Version 2.0" in licence and "Apache ECharts" in licence


# --- in a real browser ----------------------------------------------------------------------------


def width_of(page: Any, selector: str) -> float:
    """How wide an element is drawn (visually hidden ones are 1px wide: Playwright calls them visible)."""
    box = page.locator(selector).bounding_box()
    return float(box["width"]) if box else 0.0


def errors_of(page: Any) -> list[str]:
    """The page's script errors and console errors and warnings, as they come."""
    errors: list[str] = []

    def console(message: Any) -> None:
        # Chromium asks for /favicon.ico, which gongshu does not have (yet): not the cockpit's error
        if message.type in ("error", "warning") and not message.location["url"].endswith("/favicon.ico"):
            errors.append(f"{message.text} ({message.location['url']})")

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.mark.browser
@pytest.mark.usefixtures("hand_made")
def test_the_cockpit_in_the_browser(live_url: str, browser_page: object) -> None:  # noqa: F811
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    ARTIFACTS.mkdir(exist_ok=True)
    errors = errors_of(page)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    page.goto(f"{live_url}/login?next=/cockpit")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(f"{live_url}/cockpit")
    expect(page.locator("#cockpit")).to_have_class(re.compile(r"\bcharts-ready\b"))
    for chart in ("trend", "map", "districts", "departments", "dimensions", "spatial"):
        expect(page.locator(f"#chart-{chart} canvas").first).to_be_visible()
    expect(page.locator("h1")).to_have_text("上海市公共数据驾驶舱")
    assert width_of(page, ".area-districts .fallback") <= 1  # for screen readers, not shown beside charts
    page.wait_for_timeout(900)  # the charts' entry animation
    page.screenshot(path=ARTIFACTS / "cockpit.png", full_page=True)

    # the map answers with a district's figures
    box = page.locator("#chart-map").bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] * 0.62, box["y"] + box["height"] * 0.55)  # 浦东新区
    expect(page.locator("#chart-map")).to_contain_text("落位记录")

    # the same figures as tables, at the press of a button
    page.get_by_role("button", name="以表格查看").click()
    assert width_of(page, ".area-districts .fallback") > 200
    expect(page.locator("#table-districts")).to_contain_text("浦东新区")
    page.screenshot(path=ARTIFACTS / "cockpit-tables.png", full_page=True)
    page.get_by_role("button", name="以图表查看").click()
    expect(page.locator("#chart-districts canvas")).to_be_visible()
    assert width_of(page, ".area-districts .fallback") <= 1

    for width, height in ((1366, 768), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_url}/cockpit")
        expect(page.locator("#cockpit")).to_have_class(re.compile(r"\bcharts-ready\b"))
        page.wait_for_timeout(900)
        page.screenshot(path=ARTIFACTS / f"cockpit-{width}x{height}.png")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (width, overflow)

    page.goto(f"{live_url}/cockpit?lang=en")
    expect(page.locator("#cockpit")).to_have_class(re.compile(r"\bcharts-ready\b"))
    expect(page.locator("h1")).to_have_text("Shanghai public data cockpit")
    page.wait_for_timeout(900)
    page.screenshot(path=ARTIFACTS / "cockpit-en.png", full_page=True)
    page.goto(f"{live_url}/cockpit?lang=zh-CN")

    assert errors == []
    outside = [url for url in requests if not url.startswith(live_url)]
    assert outside == []


@pytest.mark.browser
@pytest.mark.usefixtures("hand_made")
def test_the_cockpit_without_javascript(live_url: str) -> None:  # noqa: F811
    """With JavaScript off the tables stand where the charts would be."""
    from playwright.sync_api import expect

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1366, "height": 768}, java_script_enabled=False)
        try:
            page = context.new_page()
            page.goto(f"{live_url}/login?next=/cockpit")
            page.get_by_label("用户名").fill("admin")
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录", exact=True).click()
            expect(page).to_have_url(f"{live_url}/cockpit")
            for table in ("trend", "districts", "departments", "dimensions", "problems"):
                expect(page.locator(f"#table-{table}")).to_be_visible()
            expect(page.locator("#chart-map")).not_to_be_visible()
            expect(page.locator("#cockpit-view")).not_to_be_visible()  # the charts/tables switch needs JS
            page.screenshot(path=ARTIFACTS / "cockpit-no-js.png", full_page=True)
        finally:
            context.close()


@pytest.mark.browser
def test_the_real_figures_of_a_city_without_audits_in_the_browser(
    live_url: str,  # noqa: F811
    browser_page: object,  # noqa: F811
) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    errors = errors_of(page)
    page.goto(f"{live_url}/login?next=/cockpit")
    page.get_by_label("用户名").fill("reader")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#cockpit")).to_have_class(re.compile(r"\bcharts-ready\b"))
    expect(page.locator("#chart-map canvas").first).to_be_visible()
    page.wait_for_timeout(900)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "cockpit-no-audits.png", full_page=True)
    assert errors == []
