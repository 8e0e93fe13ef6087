"""The pages in a real browser: Debian's chromium driven by Playwright against the real service.

Skips when ``/usr/bin/chromium`` is missing, unless ``GONGSHU_REQUIRE_SERVICES=1`` (then fails).
Screenshots are saved in ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from web_support import PASSWORD, POPULATION

from gongshu.platform import Platform
from tests.browser_support import ARTIFACTS, chromium, served

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(platform: Platform) -> Iterator[str]:
    """The real service (uvicorn) on a free 127.0.0.1 port, in a background thread."""
    with served(platform) as url:
        yield url


@pytest.fixture
def browser_page() -> Iterator[object]:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
        try:
            yield context.new_page()
        finally:
            context.close()


def test_sign_in_search_in_chinese_and_open_a_resource(live_url: str, browser_page: object) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(f"{live_url}/catalog")
    expect(page).to_have_url(f"{live_url}/login?next=/catalog")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.screenshot(path=ARTIFACTS / "login.png")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(f"{live_url}/catalog")
    expect(page.locator("header")).to_contain_text("王运营")

    page.get_by_label("检索资源目录").fill("人口")
    page.get_by_role("button", name="检索").click()
    results = page.locator("article.result")
    expect(results.first).to_contain_text("实有人口基本信息")
    expect(page.locator("#results-h")).to_contain_text("人口")
    expect(results.filter(has_text="法人登记信息")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "catalog-search.png", full_page=True)

    page.get_by_role("link", name="实有人口基本信息").click()
    expect(page).to_have_url(f"{live_url}/catalog/{POPULATION}")
    expect(page.locator("h1")).to_have_text("实有人口基本信息")
    fields = page.locator("dl.fields")
    for text in (
        "上海市公安局",
        "GA",
        "有条件共享",
        "仅用于经批准的政务服务应用场景",
        "不予开放",
        "每日",
        "已发布",
    ):
        expect(fields).to_contain_text(text)
    expect(page.locator("table").first).to_contain_text("公民身份号码")
    history = page.locator("table.versions tbody tr")
    expect(history).to_have_count(3)
    expect(history.first).to_contain_text("发布")
    page.screenshot(path=ARTIFACTS / "resource.png", full_page=True)

    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#versions-h")).to_have_text("Version history")
    page.screenshot(path=ARTIFACTS / "resource-en.png", full_page=True)


def test_facet_filter_in_the_browser(live_url: str, browser_page: object) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_url}/login?next=/catalog")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    assert page.evaluate("typeof window.htmx") == "object"
    page.evaluate("window.notReloaded = true")
    page.locator(".facet", has_text="提供方").get_by_role("link", name="上海市公安局").click()
    expect(page).to_have_url(f"{live_url}/catalog?provider=GA")
    expect(page.locator("article.result")).to_have_count(2)
    expect(page.locator(".active-filters")).to_contain_text("上海市公安局")
    page.screenshot(path=ARTIFACTS / "catalog-facet.png", full_page=True)
    # a search after a facet click keeps the facet (the form's hidden filters were refreshed)
    page.get_by_label("检索资源目录").fill("人口")
    page.get_by_role("button", name="检索").click()
    expect(page).to_have_url(re.compile(r"provider=GA"))
    expect(page.locator("article.result")).to_have_count(1)
    expect(page.locator("article.result")).to_contain_text("实有人口基本信息")
    # removing the facet keeps the words
    page.locator(".active-filters").get_by_role("link", name=re.compile("上海市公安局")).click()
    expect(page.locator("article.result")).to_have_count(2)
    page.get_by_role("button", name="检索").click()
    expect(page.locator("article.result")).to_have_count(2)
    expect(page.locator("#q")).to_have_value("人口")
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the results in place


def test_a_tour_of_the_other_pages(live_url: str, browser_page: object) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_url}/")
    expect(page.get_by_role("link", name="登录政务账号")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "home-visitor.png")
    page.get_by_role("link", name="登录政务账号").click()
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator(".stats")).to_contain_text("目录条目")
    page.screenshot(path=ARTIFACTS / "home.png", full_page=True)

    page.goto(f"{live_url}/orgs/GA")
    expect(page.locator("h1")).to_have_text("上海市公安局")
    page.screenshot(path=ARTIFACTS / "org.png", full_page=True)

    page.goto(f"{live_url}/admin/users")
    page.get_by_label("用户名").fill("X")  # the browser accepts it; the server's pattern does not
    page.get_by_label("姓名").fill("孙测试")
    page.get_by_label("初始密码").fill("short")
    page.get_by_role("button", name="创建").click()
    expect(page.locator("#username-error")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "admin-users-invalid.png", full_page=True)

    page.goto(f"{live_url}/tokens")
    page.get_by_label("令牌名称").fill("数据同步脚本")
    page.get_by_role("button", name="签发").click()
    expect(page.locator("#secret")).to_have_value(re.compile(r"^gsk_"))
    page.screenshot(path=ARTIFACTS / "token-issued.png")
    page.get_by_role("link", name="我已保存，返回").click()
    expect(page.locator("table.tokens")).to_contain_text("数据同步脚本")
    expect(page.locator("#secret")).to_have_count(0)

    page.goto(f"{live_url}/catalog/399999999/000001")
    expect(page.locator(".error-code")).to_have_text("404")
    page.screenshot(path=ARTIFACTS / "error-404.png")

    page.set_viewport_size({"width": 420, "height": 900})
    page.goto(f"{live_url}/catalog?q=人口&lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.screenshot(path=ARTIFACTS / "catalog-mobile-en.png", full_page=True)
