"""The ticket pages (问题工单): list with filters, a ticket with its timeline and forms, the department
page's section, their JSON twins, and the same in a real browser.

The page tests' seeded platform gets one mount on 实有人口基本信息 (GA) and two tickets written by
audit runs: one opened 30 days ago (overdue) and one opened today (in time).
"""

from __future__ import annotations

import re
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_browser import ARTIFACTS, browser_page, live_url  # noqa: F401  (fixtures used by the browser test)
from web_support import PASSWORD, POPULATION, csrf_of

from gongshu.platform import Platform
from gongshu.store.base import city_today
from gongshu.web import i18n
from tests.helpers import add_user
from tests.quality.ticket_support import ID_CHECK, REQUIRED, publish_and_mount, sync

TEMPLATES = Path(str(resources.files("gongshu.web").joinpath("templates/quality")))
MOUNT = "ga_population"


@pytest.fixture
def numbers(platform: Platform) -> dict[str, str]:
    """The overdue ticket (``late``) and the one in time (``fresh``)."""
    with platform.store.session() as session:
        add_user(session, "ga_clerk", org="GA", roles=["consumer"])
        add_user(session, "rs_steward", org="RS", roles=["steward"])
        publish_and_mount(session, None, MOUNT, POPULATION)
        late = sync(session, MOUNT, {ID_CHECK: 120}, today=city_today() - timedelta(days=30)).opened[0]
        fresh = sync(session, MOUNT, {REQUIRED: 4}, today=city_today()).opened[0]
    return {"late": late, "fresh": fresh}


def post(client: TestClient, path: str, data: dict[str, Any], **kw: Any) -> Any:
    page = path.rsplit("/", 1)[0]
    return client.post(path, data={**data, "csrf_token": csrf_of(client, page)}, **kw)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_list_flags_overdue_tickets_and_filters(make_client: Any, numbers: dict[str, str]) -> None:
    client = make_client("admin")
    page = client.get("/tickets")
    assert page.status_code == 200
    assert numbers["late"] in page.text and numbers["fresh"] in page.text
    assert "公民身份号码：身份证号校验位错误（120 条）" in page.text
    late_row = re.search(
        rf'<tr class="ticket-row is-overdue">\s*<td[^>]*><a href="/tickets/{numbers["late"]}"', page.text
    )
    assert late_row, "the overdue ticket's row is highlighted"
    assert re.search(r"已逾期 \d+ 天", page.text) and "剩余 5 个工作日" in page.text
    assert 'href="/tickets"' in page.text and "工单" in page.text  # the nav link

    data = client.get("/tickets.json").json()
    assert data["total"] == 2 and data["counts"]["open"] == 2 and data["counts"]["overdue"] == 1
    by_number = {t["number"]: t for t in data["tickets"]}
    assert by_number[numbers["late"]]["overdue"] is True and by_number[numbers["late"]]["overdue_days"] > 0
    assert by_number[numbers["fresh"]]["overdue"] is False
    assert by_number[numbers["fresh"]]["working_days_left"] == 5
    assert data["organisations"] == [{"code": "GA", "name": "上海市公安局", "tickets": 2, "unresolved": 2}]

    def listed(query: str) -> list[str]:
        return [t["number"] for t in client.get(f"/tickets.json?{query}").json()["tickets"]]

    assert listed("overdue=yes") == [numbers["late"]]
    assert listed("overdue=no") == [numbers["fresh"]]
    assert listed("status=closed") == [] and len(listed("status=unresolved")) == 2
    assert len(listed("organisation=GA")) == 2 and listed("organisation=RS") == []
    assert len(listed(f"mount={MOUNT}&status=&overdue=&organisation=")) == 2  # empty selects mean "any"
    assert client.get("/tickets.json?status=done").status_code == 422
    english = client.get("/tickets?lang=en").text
    assert "Problem tickets" in english and "Overdue" in english


def test_the_ticket_page_shows_its_timeline_and_the_viewers_actions(
    make_client: Any, numbers: dict[str, str]
) -> None:
    late = numbers["late"]
    operator = make_client("admin")
    page = operator.get(f"/tickets/{late}")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "稽核发现问题，创建工单" in text and "问题数 120" in text and "上海市公安局" in text
    assert "已逾期" in text and "整改期限" in text
    for action in ("assign", "start", "fix", "close", "comment"):
        assert f'action="/tickets/{late}/{action}"' in page.text, action
    assert f'action="/tickets/{late}/reopen"' not in page.text
    twin = operator.get(f"/tickets/{late}.json").json()["ticket"]
    assert twin["actions"] == ["assign", "start", "fix", "close", "comment"]
    assert [e["action"] for e in twin["events"]] == ["opened"]
    assert {u["username"] for u in twin["assignees"]} == {"steward", "ga_clerk"}

    clerk = make_client("ga_clerk")
    assert f'action="/tickets/{late}/comment"' in clerk.get(f"/tickets/{late}").text
    assert f'action="/tickets/{late}/start"' not in clerk.get(f"/tickets/{late}").text


def test_the_loop_through_the_forms(make_client: Any, numbers: dict[str, str]) -> None:
    late = numbers["late"]
    steward, clerk, operator = make_client("steward"), make_client("ga_clerk"), make_client("admin")

    assigned = post(
        steward, f"/tickets/{late}/assign", {"username": "ga_clerk", "note": ""}, follow_redirects=False
    )
    assert assigned.status_code == 303 and assigned.headers["location"] == f"/tickets/{late}"
    started = post(clerk, f"/tickets/{late}/start", {"note": "已联系源系统厂商"}, follow_redirects=False)
    assert started.status_code == 303

    missing = post(clerk, f"/tickets/{late}/fix", {"note": " "})
    assert missing.status_code == 422 and 'id="note-error"' in missing.text
    twin = post(clerk, f"/tickets/{late}/fix.json", {"note": ""})
    assert twin.status_code == 422 and "note" in twin.json()["error"]["problems"]
    fixed = post(clerk, f"/tickets/{late}/fix.json", {"note": "已在源系统更正 120 条身份证号"})
    assert fixed.status_code == 200 and fixed.json()["status"] == "fixed"

    assert post(steward, f"/tickets/{late}/close", {"note": "不需要"}).status_code == 403
    assert post(make_client("rs_steward"), f"/tickets/{late}/comment", {"note": "x"}).status_code == 404
    bad_user = post(operator, f"/tickets/{late}/assign", {"username": "reader"})
    assert bad_user.status_code == 422 and 'id="username-error"' in bad_user.text
    closed = post(
        operator, f"/tickets/{late}/close", {"note": "经核实为历史存量数据，不予整改"}, follow_redirects=False
    )
    assert closed.status_code == 303
    assert post(clerk, f"/tickets/{late}/start", {}).status_code == 409

    page = operator.get(f"/tickets/{late}")
    assert "经核实为历史存量数据，不予整改" in page.text and "已关闭" in page.text
    assert f'action="/tickets/{late}/reopen"' in page.text
    events = [e["action"] for e in operator.get(f"/tickets/{late}.json").json()["ticket"]["events"]]
    assert events == ["opened", "assigned", "started", "fixed", "closed"]


def test_who_may_see_the_pages(make_client: Any, numbers: dict[str, str]) -> None:
    visitor = make_client(None)
    assert visitor.get("/tickets", follow_redirects=False).status_code == 303
    assert visitor.get("/tickets.json").status_code == 401
    assert make_client("dev").get("/tickets").status_code == 403  # not a government user
    reader = make_client("reader")  # 用数部门 of another department
    assert reader.get("/tickets.json").json()["total"] == 0
    assert reader.get(f"/tickets/{numbers['late']}").status_code == 404
    assert make_client("ga_clerk").get("/tickets.json").json()["total"] == 2


def test_the_department_page_lists_its_open_tickets(make_client: Any, numbers: dict[str, str]) -> None:
    steward = make_client("steward")
    page = steward.get("/orgs/GA")
    assert page.status_code == 200
    assert "问题工单" in page.text and numbers["late"] in page.text and numbers["fresh"] in page.text
    assert "1 个已逾期" in text_of(page.text) and "is-overdue" in page.text
    section = steward.get("/orgs/GA.json").json()["tickets"]
    assert section["counts"]["open"] == 2 and section["tickets"][0]["number"] == numbers["late"]
    reader = make_client("reader")
    assert numbers["late"] not in reader.get("/orgs/GA").text
    assert reader.get("/orgs/GA.json").json()["tickets"] is None
    assert make_client("admin").get("/orgs/GA.json").json()["tickets"]["counts"]["overdue"] == 1


def test_every_key_the_ticket_templates_use_exists_in_both_languages() -> None:
    literal = re.compile(r"\bt\('([^']+)'\)|\bt\('([^']+)',")
    dynamic = re.compile(r"\bt\('([^']+)' ~")
    keys = {lang: set(i18n.catalogue(lang)) for lang in i18n.LANGUAGES}
    names = ("tickets.html", "ticket.html", "ticket_parts.html")
    for name in names:
        text = (TEMPLATES / name).read_text("utf-8")
        used = {a or b for a, b in literal.findall(text)}
        for lang in i18n.LANGUAGES:
            assert used - keys[lang] == set(), (name, lang)
        for prefix in dynamic.findall(text):
            assert any(k.startswith(prefix) for k in keys["en"]), (name, prefix)
    for status in ("open", "in_progress", "fixed", "closed", "unresolved"):
        assert f"ticket.status_{status}" in keys["en"]
    for event in (
        "opened",
        "rechecked",
        "reopened",
        "verified",
        "assigned",
        "started",
        "fixed",
        "closed",
        "commented",
    ):
        assert f"ticket.event_{event}" in keys["zh-CN"]


# --- in a real browser ------------------------------------------------------------------------------


@pytest.mark.browser
def test_ticket_pages_in_the_browser(live_url: str, browser_page: object, numbers: dict[str, str]) -> None:  # noqa: F811
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_url}/login?next=/tickets")
    page.get_by_label("用户名").fill("steward")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(f"{live_url}/tickets")
    overdue = page.locator("tr.is-overdue")
    expect(overdue).to_have_count(1)
    expect(overdue.locator(".overdue-badge")).to_contain_text("已逾期")
    page.screenshot(path=ARTIFACTS / "tickets.png", full_page=True)

    page.get_by_label("是否逾期").select_option("yes")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"overdue=yes"))
    expect(page.locator("table.tickets tbody tr")).to_have_count(1)

    page.get_by_role("link", name=numbers["late"]).click()
    expect(page).to_have_url(f"{live_url}/tickets/{numbers['late']}")
    expect(page.locator(".timeline li")).to_have_count(1)
    page.get_by_label("指派给").select_option("ga_clerk")
    page.locator(".ticket-action-assign").get_by_role("button", name="指派").click()
    expect(page.locator(".timeline li")).to_have_count(2)
    page.locator(".ticket-action-start").get_by_role("button", name="开始整改").click()
    expect(page.locator(".head-badges")).to_contain_text("整改中")
    page.locator(".ticket-action-fix").get_by_role(
        "button", name="已整改，申请复核"
    ).click()  # no note: refused
    expect(page.locator(".head-badges")).to_contain_text("整改中")
    page.locator("#note-fix").fill("已在源系统更正")
    page.locator(".ticket-action-fix").get_by_role("button", name="已整改，申请复核").click()
    expect(page.locator(".head-badges")).to_contain_text("已整改待复核")
    page.screenshot(path=ARTIFACTS / "ticket.png", full_page=True)
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.locator("#ticket-timeline-h")).to_contain_text("Timeline")
    page.screenshot(path=ARTIFACTS / "ticket-en.png", full_page=True)
    page.get_by_role("link", name="中文", exact=True).click()

    page.goto(f"{live_url}/orgs/GA")
    expect(page.locator(".org-tickets")).to_contain_text(numbers["fresh"])
    page.screenshot(path=ARTIFACTS / "org-tickets.png", full_page=True)
