"""The pages and their JSON twins: sign-in, access, catalogue search, the resource page, language."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_support import COMPANIES, INSURANCE, POPULATION, PUDONG, VEHICLES, csrf_of, sign_in

PAGES = [
    ("/", "实有人口基本信息"),
    ("/catalog", "法人登记信息"),
    (f"/catalog/{POPULATION}", "公民身份号码"),
    (f"/catalog/{POPULATION}/versions/1", "实有人口基本信息"),
    ("/orgs", "上海市公安局"),
    ("/orgs/GA", "机动车登记信息"),
    ("/elements", "DE0101"),
    ("/elements/DE0601", "城镇职工基本养老保险"),
    ("/tokens", "我的 API 令牌"),
    ("/admin/orgs", "浦东新区人民政府"),
    ("/admin/orgs/GA", "上海市公安局"),
    ("/admin/users", "李管理"),
    ("/admin/users/steward", "李管理"),
    ("/admin/tokens", "令牌管理"),
]


def twin(path: str) -> str:
    return "/index.json" if path == "/" else f"{path}.json"


# --- sign-in and access --------------------------------------------------------------------------


def test_visitors_see_the_sign_in_prompt_on_the_home_page(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'href="/login"' in page.text
    assert "实有人口基本信息" not in page.text
    assert client.get("/index.json").json() == {"signed_in": False, "overview": None}


@pytest.mark.parametrize("path", [p for p, _ in PAGES if p != "/"])
def test_visitors_are_sent_to_sign_in_and_twins_answer_401(client: TestClient, path: str) -> None:
    page = client.get(path, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == f"/login?next={path}"
    data = client.get(twin(path))
    assert data.status_code == 401
    assert data.json()["error"]["code"] == "unauthenticated"


def test_sign_in_goes_to_next_and_sign_out_forgets_the_session(client: TestClient) -> None:
    form = client.get("/login?next=/orgs")
    assert 'name="next" value="/orgs"' in form.text
    token = csrf_of(client)
    signed = client.post(
        "/login",
        data={"username": "admin", "password": "correct-horse-battery", "next": "/orgs", "csrf_token": token},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/orgs"
    assert "王运营" in client.get("/orgs").text
    out = client.post("/logout", data={"csrf_token": csrf_of(client, "/orgs")}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/orgs", follow_redirects=False).status_code == 303


def test_a_wrong_password_shows_the_form_again(client: TestClient) -> None:
    token = csrf_of(client)
    page = client.post(
        "/login", data={"username": "admin", "password": "wrong-password!", "csrf_token": token}
    )
    assert page.status_code == 401
    assert "用户名或密码错误" in page.text
    assert 'value="admin"' in page.text
    assert client.get("/catalog", follow_redirects=False).status_code == 303


def test_next_never_leaves_the_site(client: TestClient) -> None:
    token = csrf_of(client)
    data = {"username": "admin", "password": "correct-horse-battery", "csrf_token": token}
    signed = client.post("/login", data={**data, "next": "//evil.example/x"}, follow_redirects=False)
    assert signed.headers["location"] == "/"


def test_posts_without_a_valid_csrf_token_are_refused(client: TestClient, make_client: Any) -> None:
    data = {"username": "admin", "password": "correct-horse-battery", "next": "/"}
    assert client.post("/login", data=data).status_code == 403
    assert client.post("/login", data={**data, "csrf_token": "0" * 64}).status_code == 403
    other = make_client()  # a token of another session is no good either
    assert client.post("/login", data={**data, "csrf_token": csrf_of(other)}).status_code == 403
    sign_in(client, "admin")
    moved = client.post(f"/catalog/{INSURANCE}/publish", data={})
    assert moved.status_code == 403
    assert "CSRF" in moved.text
    assert client.get(f"/catalog/{INSURANCE}.json").json()["entry"]["status"] == "submitted"


def test_users_without_a_government_role_get_403(make_client: Any) -> None:
    developer = make_client("dev")
    assert "没有政务角色" in developer.get("/").text
    assert developer.get("/catalog").status_code == 403
    assert developer.get("/catalog.json").status_code == 403
    assert developer.get("/tokens").status_code == 200  # any signed-in user manages their own tokens


@pytest.mark.parametrize("path", [p for p, _ in PAGES if p.startswith("/admin")])
def test_admin_pages_are_for_operators_only(make_client: Any, path: str) -> None:
    steward = make_client("steward")
    page = steward.get(path)
    assert page.status_code == 403
    assert "无权访问" in page.text
    assert steward.get(twin(path)).status_code == 403


# --- every page and its JSON twin ----------------------------------------------------------------


@pytest.mark.parametrize(("path", "expected"), PAGES)
def test_every_page_and_its_twin_answer_for_an_operator(
    operator: TestClient, path: str, expected: str
) -> None:
    page = operator.get(path)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert expected in page.text
    data = operator.get(twin(path))
    assert data.status_code == 200, data.text
    assert data.headers["content-type"] == "application/json"
    assert isinstance(data.json(), dict)


def test_home_shows_totals_and_the_latest_published(operator: TestClient) -> None:
    data = operator.get("/index.json").json()["overview"]
    assert data["totals"]["entries"] == 5
    assert data["totals"]["departments"] == 3
    assert data["totals"]["districts"] == 1
    assert data["totals"]["elements"] > 30
    assert {s["value"]: s["count"] for s in data["totals"]["by_status"]} == {
        "published": 3,
        "submitted": 1,
        "draft": 1,
    }
    assert {e["code"] for e in data["latest"]} == {POPULATION, VEHICLES, COMPANIES}


def test_a_missing_entry_is_a_404_page(operator: TestClient) -> None:
    page = operator.get("/catalog/399999999/999999")
    assert page.status_code == 404
    assert "未找到" in page.text
    assert 'lang="zh-CN"' in page.text
    assert operator.get("/catalog/399999999/999999.json").json()["error"]["code"] == "not_found"


# --- catalogue search and facets -----------------------------------------------------------------


def codes(client: TestClient, query: str) -> list[str]:
    return [e["code"] for e in client.get(f"/catalog.json?{query}").json()["results"]]


def test_chinese_search_finds_the_population_entries(operator: TestClient) -> None:
    found = codes(operator, "q=人口")
    assert found[0] == POPULATION
    assert set(found) == {POPULATION, PUDONG}
    assert codes(operator, "q=机动车") == [VEHICLES]
    assert codes(operator, "q=统一社会信用代码") == [COMPANIES]
    page = operator.get("/catalog?q=人口")
    assert "共 2 条资源" in page.text
    assert "法人登记信息" not in page.text


def test_facet_filters_narrow_results_and_counts(operator: TestClient) -> None:
    everything = operator.get("/catalog.json").json()
    providers = {
        v["value"]: v["count"] for f in everything["facets"] if f["name"] == "provider" for v in f["values"]
    }
    assert providers == {"GA": 2, "SCJ": 1, "RS": 1, "PD": 1}
    narrowed = operator.get("/catalog.json?provider=GA").json()
    assert narrowed["total"] == 2
    share = {
        v["value"]: v["count"] for f in narrowed["facets"] if f["name"] == "share_type" for v in f["values"]
    }
    assert share == {"有条件共享": 1, "无条件共享": 1}
    assert codes(operator, "provider=GA&share_type=无条件共享") == [VEHICLES]
    assert narrowed["active"] == [
        {
            "name": "provider",
            "value": "GA",
            "label": "上海市公安局",
            "label_en": "Public Security Bureau",
            "count": 2,
            "active": True,
        }
    ]
    page = operator.get("/catalog?provider=GA")
    assert 'class="chip"' in page.text  # the active filter, removable
    assert 'href="/catalog"' in page.text
    assert codes(operator, "q=人口&district=310115") == [PUDONG]
    assert codes(operator, "status=submitted") == [INSURANCE]


def test_pagination(operator: TestClient) -> None:
    first = operator.get("/catalog.json?per_page=2").json()
    assert (first["total"], first["pages"], len(first["results"])) == (5, 3, 2)
    third = operator.get("/catalog.json?per_page=2&page=3").json()
    assert len(third["results"]) == 1
    assert "page=2" in operator.get("/catalog?per_page=2").text


def test_htmx_search_updates_the_results_block(operator: TestClient) -> None:
    page = operator.get("/catalog?q=车辆", headers={"HX-Request": "true"})
    assert 'id="catalog-body"' in page.text
    assert "机动车登记信息" in page.text


# --- the resource page ---------------------------------------------------------------------------


def test_the_resource_page_shows_every_field_and_the_history(operator: TestClient) -> None:
    page = operator.get(f"/catalog/{POPULATION}").text
    for text in (
        "实有人口基本信息",
        POPULATION,
        "上海市公安局",
        'href="/orgs/GA"',
        "上海市",
        "全市实有人口的身份",
        "数据库",
        "有条件共享",
        "仅用于经批准的政务服务应用场景",
        "接口",
        "库表",
        "不予开放",
        "涉及个人信息，依据《个人信息保护法》不予开放",
        "每日",
        f'href="/catalog/{VEHICLES}"',
        "户籍",
        "已发布",
        "公民身份号码",
        "DE0101",
        "核心",
        "重要",
        "日期型",
        "版本历史",
        "提交审核",
        "user:admin",
    ):
        assert text in page, text
    data = operator.get(f"/catalog/{POPULATION}.json").json()
    assert [v["change"] for v in data["versions"]] == ["publish", "submit", "create"]
    assert data["entry"]["publish_date"] is not None
    assert data["entry"]["items"][0]["element_name"] == "公民身份号码"


def test_times_are_shown_in_shanghai(operator: TestClient) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    data = operator.get(f"/catalog/{POPULATION}.json").json()
    at = datetime.fromisoformat(data["versions"][0]["at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert at.strftime("%Y-%m-%d %H:%M") in operator.get(f"/catalog/{POPULATION}").text


def test_a_version_document_can_be_viewed(operator: TestClient) -> None:
    data = operator.get(f"/catalog/{POPULATION}/versions/1.json").json()
    assert data["version"]["status"] == "draft"
    assert data["version"]["document"]["name"] == "实有人口基本信息"
    page = operator.get(f"/catalog/{POPULATION}/versions/1").text
    assert "这是历史版本" in page
    assert "公民身份号码" in page
    assert operator.get(f"/catalog/{POPULATION}/versions/9").status_code == 404


def test_lifecycle_buttons_only_for_those_allowed(operator: TestClient, make_client: Any) -> None:
    assert 'action="/catalog/303001001/000001/publish"' in operator.get(f"/catalog/{INSURANCE}").text
    assert 'action="/catalog/303001001/000001/return"' in operator.get(f"/catalog/{INSURANCE}").text
    assert operator.get(f"/catalog/{INSURANCE}.json").json()["actions"] == [
        {"action": "return", "needs_note": True},
        {"action": "publish", "needs_note": False},
    ]
    reader = make_client("reader")
    assert reader.get(f"/catalog/{POPULATION}.json").json()["actions"] == []
    assert 'action="/catalog/' not in reader.get(f"/catalog/{POPULATION}").text
    steward = make_client("steward")
    assert steward.get(f"/catalog/{POPULATION}.json").json()["actions"] == [
        {"action": "revoke", "needs_note": True}
    ]


def test_publishing_from_the_page_adds_a_version(operator: TestClient) -> None:
    token = csrf_of(operator, f"/catalog/{INSURANCE}")
    moved = operator.post(f"/catalog/{INSURANCE}/publish", data={"csrf_token": token}, follow_redirects=False)
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/catalog/{INSURANCE}"
    data = operator.get(f"/catalog/{INSURANCE}.json").json()
    assert data["entry"]["status"] == "published"
    assert data["versions"][0]["change"] == "publish"


def test_a_missing_note_is_shown_beside_the_note_field(operator: TestClient) -> None:
    token = csrf_of(operator, f"/catalog/{POPULATION}")
    page = operator.post(f"/catalog/{POPULATION}/revoke", data={"csrf_token": token, "note": " "})
    assert page.status_code == 422
    assert 'class="field-error" id="note-error"' in page.text
    assert "须说明理由" in page.text
    twin_answer = operator.post(f"/catalog/{POPULATION}/revoke.json", headers={"X-CSRF-Token": token})
    assert twin_answer.status_code == 422
    assert "note" in twin_answer.json()["error"]["problems"]
    revoked = operator.post(f"/catalog/{POPULATION}/revoke", data={"csrf_token": token, "note": "数据源停用"})
    assert revoked.status_code == 200  # followed the redirect to the resource page
    assert "数据源停用" in revoked.text
    assert "已撤销" in revoked.text


def test_drafts_of_others_are_hidden_from_consumers(make_client: Any) -> None:
    reader = make_client("reader")
    assert PUDONG not in codes(reader, "")
    assert reader.get(f"/catalog/{PUDONG}").status_code == 404


# --- language ------------------------------------------------------------------------------------


def test_the_language_switch_renders_english_and_is_remembered(operator: TestClient) -> None:
    page = operator.get(f"/catalog/{POPULATION}?lang=en")
    assert '<html lang="en">' in page.text
    assert "Version history" in page.text
    assert "Conditional sharing" in page.text  # 有条件共享 glossed
    assert "Published" in page.text
    assert page.cookies.get("gongshu_lang") == "en"
    again = operator.get("/catalog")
    assert "Resource catalogue" in again.text
    assert "Provider" in again.text
    back = operator.get("/catalog?lang=zh-CN")
    assert '<html lang="zh-CN">' in back.text
    assert "资源目录" in back.text


def test_the_default_language_is_chinese(client: TestClient) -> None:
    page = client.get("/login")
    assert '<html lang="zh-CN">' in page.text
    assert "登录公数" in page.text
    assert "Sign in to gongshu" in client.get("/login?lang=en").text


def test_static_assets_are_served_from_the_package(client: TestClient) -> None:
    css = client.get("/static/gongshu.css")
    assert css.status_code == 200
    assert "WenQuanYi Zen Hei" in css.text
    htmx = client.get("/static/vendor/htmx.min.js")
    assert htmx.status_code == 200
    assert "htmx" in htmx.text
    page = client.get("/login").text
    assert 'src="/static/vendor/htmx.min.js"' in page
    assert "//cdn" not in page and "https://" not in page
