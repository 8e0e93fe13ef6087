"""The sharing exchange's pages in a real browser: Debian's chromium driven by Playwright.

A 黄浦区 user files a demand through the form, 市公安局's reviewer approves (through the library),
the operator approves on the page, the grant shows its APIs and calls, and a citizen sees who used
their data. Screenshots go to ``test-artifacts/share-*.png``. Skips when ``/usr/bin/chromium`` is
missing, unless ``GONGSHU_REQUIRE_SERVICES=1`` (then fails).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gongshu.catalogue.specs import ShareMethod
from gongshu.city.ids import id_check_char
from gongshu.demo import DEMO_PASSWORD
from gongshu.orgs import users
from gongshu.orgs.roles import SYSTEM, Role
from gongshu.orgs.schemas import UserCreate
from gongshu.platform import Platform
from gongshu.share import citizens, demands
from gongshu.share.calllog import CallRecord
from gongshu.share.exchange import call_log, subject_of
from gongshu.share.specs import Decision, DemandCreate, RowScope
from gongshu.store.base import city_today
from tests.browser_support import ARTIFACTS, chromium, served
from tests.helpers import PASSWORD
from tests.share.conftest import POPULATION, principal

PERSON = "110105194912310021"[:17]
PERSON += id_check_char(PERSON)
SCENARIO = "居住证积分申请资格核验"

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(share_platform: Platform) -> Iterator[str]:
    """The real service (uvicorn) on a free 127.0.0.1 port, in a background thread."""
    with served(share_platform) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def signed_in(browser: Any, live_url: str, username: str, password: str = DEMO_PASSWORD) -> Any:
    """A page of a fresh browser context signed in as ``username``."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("header .user-name")).to_be_visible()
    return page


def test_file_review_grant_and_see_who_used_the_data(
    live_url: str, browser: Any, share_platform: Platform
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    consumer = signed_in(browser, live_url, "huangpu_user")
    consumer.goto(f"{live_url}/share/demands/new")
    consumer.locator("#f-entry").select_option(POPULATION)
    consumer.get_by_role("button", name="选择", exact=True).click()
    expect(consumer).to_have_url(re.compile(r"entry=101001001"))
    consumer.locator("#f-scenario").fill(SCENARIO)
    consumer.locator("#f-purpose").fill("核验居住证积分申请人的身份和居住信息，办理积分审核")
    consumer.locator("#f-legal_basis").fill("《上海市居住证积分管理办法》第八条")
    for item in ("record_id", "id_number", "name", "district_code", "address"):
        consumer.locator(f'input[name="fields"][value="{item}"]').check()
    consumer.get_by_label("本区数据（属地）", exact=True).check()
    consumer.locator("#f-method").select_option("库表")
    consumer.screenshot(path=ARTIFACTS / "share-demand-form.png", full_page=True)
    consumer.get_by_role("button", name="提交需求").click()
    expect(consumer).to_have_url(re.compile(r"/share/demands/XQ\d+$"))
    expect(consumer.locator(".head-badges")).to_contain_text("待提供方审核")
    code = consumer.url.rsplit("/", 1)[1]

    with share_platform.store.session() as session:
        reviewer = principal(share_platform, "ga_reviewer")
        demands.decide(
            session,
            reviewer,
            code,
            Decision(approve=True, reason="同意，仅限本区"),
            settings=share_platform.settings,
        )
    operator = signed_in(browser, live_url, "admin")
    operator.goto(f"{live_url}/share/demands/{code}")
    expect(operator.locator(".timeline li")).to_have_count(2)
    expect(operator.locator(".timeline")).to_contain_text("提供方同意")
    operator.screenshot(path=ARTIFACTS / "share-demand.png", full_page=True)
    operator.locator("#reason-approve").fill("同意")
    operator.get_by_role("button", name="同意", exact=True).click()
    expect(operator.locator(".head-badges")).to_contain_text("已授权")
    grant = operator.locator(".alert-info a").inner_text().strip()

    log = call_log(share_platform)
    for minutes, (result, status) in enumerate(
        (("ok", 200), ("ok", 200), ("ok", 200), ("rate_limited", 429))
    ):
        log.append(_call(grant, result, status, minutes=minutes))
    consumer.goto(f"{live_url}/share/grants/{grant}")
    expect(consumer.locator(".head-badges")).to_contain_text("有效")
    expect(consumer.locator("pre.curl").first).to_contain_text("gsk_…")
    expect(consumer.locator("table.share-calls tbody tr")).to_have_count(4)
    consumer.screenshot(path=ARTIFACTS / "share-grant.png", full_page=True)

    _file_a_late_demand(share_platform)
    reviewer_page = signed_in(browser, live_url, "ga_reviewer")
    reviewer_page.goto(f"{live_url}/share")
    expect(reviewer_page.locator("tr.is-overdue")).to_have_count(1)
    expect(reviewer_page.locator("tr.is-overdue")).to_contain_text("已督办")
    reviewer_page.screenshot(path=ARTIFACTS / "share-hub.png", full_page=True)
    consumer.goto(f"{live_url}/share")
    expect(consumer.locator("table.share-grants")).to_contain_text(grant)
    consumer.screenshot(path=ARTIFACTS / "share-hub-consumer.png", full_page=True)
    operator.goto(f"{live_url}/share")
    expect(operator.locator("#overdue-h")).to_contain_text("1")
    operator.screenshot(path=ARTIFACTS / "share-hub-operator.png", full_page=True)

    with share_platform.store.session() as session:
        users.create_user(
            session,
            SYSTEM,
            UserCreate(
                username="citizen_browser_t", display_name="张市民", password=PASSWORD, roles=[Role.CITIZEN]
            ),
        )
        citizens.bind_identity(
            session,
            principal(share_platform, "admin"),
            "citizen_browser_t",
            PERSON,
            settings=share_platform.settings,
        )
    subject = subject_of(share_platform.settings, PERSON)
    log.append(_call(grant, "ok", 200, minutes=5, subjects=(subject,)))
    log.append(
        _call(
            "SQ999997",
            "match",
            200,
            minutes=6,
            subjects=(subject,),
            api="verify",
            scenario="社区养老服务对象核验",
        )
    )
    citizen = signed_in(browser, live_url, "citizen_browser_t", PASSWORD)
    citizen.goto(f"{live_url}/me/accesses")
    expect(citizen.locator("table.share-accesses tbody tr")).to_have_count(2)
    expect(citizen.locator("table.share-accesses")).to_contain_text("上海市黄浦区大数据中心")
    citizen.screenshot(path=ARTIFACTS / "share-accesses.png", full_page=True)
    citizen.goto(f"{live_url}/me/accesses?lang=en")
    expect(citizen.locator("h1")).to_have_text("Who used my data")
    citizen.screenshot(path=ARTIFACTS / "share-accesses-en.png", full_page=True)


def _file_a_late_demand(platform: Platform) -> None:
    """A demand filed 30 days ago that nobody reviewed: overdue, and escalated by the sweep."""
    spec = DemandCreate(
        entry=POPULATION,
        scenario="老旧小区改造居民信息核对",
        purpose="核对老旧小区改造范围内居民的居住信息",
        legal_basis="《上海市城市更新条例》第二十四条",
        fields=["record_id", "name", "address"],
        row_scope=RowScope.DISTRICT,
        method=ShareMethod.API,
        period_end=city_today() + timedelta(days=200),
    )
    with platform.store.session() as session:
        consumer = principal(platform, "huangpu_user")
        late = city_today() - timedelta(days=30)
        demands.file_demand(session, consumer, spec, settings=platform.settings, today=late)
        demands.sweep(session, SYSTEM)


def _call(
    grant: str,
    result: str,
    status: int,
    *,
    minutes: int,
    subjects: tuple[str, ...] = (),
    api: str = "query",
    scenario: str = SCENARIO,
) -> CallRecord:
    return CallRecord(
        at=datetime.now(UTC) - timedelta(minutes=30 - minutes),
        request_id=uuid.uuid4().hex,
        actor="token:3",
        consumer="D310101",
        grant=grant,
        scenario=scenario,
        resource=POPULATION,
        api=api,
        fields=("id_number", "name", "address"),
        rows=(1 if subjects else 12) if status == 200 else 0,
        result=result,
        status=status,
        latency_us=1800 + 150 * minutes,
        subjects=subjects,
    )
