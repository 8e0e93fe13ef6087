"""Administration and token pages: forms, validation problems beside fields, secrets shown once."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from web_support import PASSWORD, csrf_of, sign_in

SECRET = re.compile(r"gsk_[A-Za-z0-9_-]{40,}")


def post(client: TestClient, path: str, data: dict[str, Any], *, page: str | None = None, **kw: Any) -> Any:
    token = csrf_of(client, page or path)
    return client.post(path, data={**data, "csrf_token": token}, **kw)


def test_issuing_a_token_shows_the_secret_once(make_client: Any) -> None:
    reader = make_client("reader")
    issued = post(reader, "/tokens", {"name": "同步脚本", "expires_in_days": "30"})
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    secret = SECRET.search(issued.text)
    assert secret, issued.text
    assert "只显示这一次" in issued.text
    listing = reader.get("/tokens")
    assert "同步脚本" in listing.text
    assert secret.group(0) not in listing.text
    assert not SECRET.search(listing.text)
    assert secret.group(0) not in reader.get("/tokens.json").text
    api = reader.get("/api/v1/catalog", headers={"Authorization": f"Bearer {secret.group(0)}"})
    assert api.status_code == 200


def test_revoking_a_token(make_client: Any) -> None:
    reader = make_client("reader")
    secret = SECRET.search(post(reader, "/tokens", {"name": "临时"}).text)
    assert secret
    [token] = reader.get("/tokens.json").json()["tokens"]
    assert token["state"] == "active"
    revoked = post(reader, f"/tokens/{token['id']}/revoke", {}, page="/tokens", follow_redirects=False)
    assert revoked.status_code == 303
    assert reader.get("/tokens.json").json()["tokens"][0]["state"] == "revoked"
    assert "已吊销" in reader.get("/tokens").text
    api = reader.get("/api/v1/catalog", headers={"Authorization": f"Bearer {secret.group(0)}"})
    assert api.status_code == 401


def test_a_token_without_a_name_is_refused_beside_the_field(make_client: Any) -> None:
    reader = make_client("reader")
    page = post(reader, "/tokens", {"name": ""})
    assert page.status_code == 422
    assert 'id="name-error"' in page.text


def test_operators_issue_and_revoke_tokens_for_others(operator: TestClient, make_client: Any) -> None:
    issued = post(operator, "/admin/tokens", {"username": "steward", "name": "夜间同步"})
    assert issued.status_code == 200
    secret = SECRET.search(issued.text)
    assert secret
    listing = operator.get("/admin/tokens.json").json()["tokens"]
    assert [(t["username"], t["name"], t["state"]) for t in listing] == [("steward", "夜间同步", "active")]
    assert secret.group(0) not in operator.get("/admin/tokens").text
    steward = make_client("steward")
    assert [t["name"] for t in steward.get("/tokens.json").json()["tokens"]] == ["夜间同步"]
    post(operator, f"/admin/tokens/{listing[0]['id']}/revoke", {}, page="/admin/tokens")
    assert operator.get("/admin/tokens.json").json()["tokens"][0]["state"] == "revoked"


def test_operators_create_and_edit_organisations(operator: TestClient) -> None:
    created = post(
        operator,
        "/admin/orgs",
        {
            "code": "JT",
            "name": "上海市交通委员会",
            "name_en": "Transport",
            "kind": "department",
            "division": "310000",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    assert created.headers["location"] == "/admin/orgs/JT"
    edited = post(
        operator,
        "/admin/orgs/JT",
        {
            "name": "上海市交通委",
            "name_en": "Transport Commission",
            "parent": "",
            "uscc": "",
            "active": "true",
        },
        follow_redirects=False,
    )
    assert edited.status_code == 303
    org = operator.get("/orgs/JT.json").json()["organisation"]
    assert (org["name"], org["name_en"], org["active"]) == ("上海市交通委", "Transport Commission", True)
    assert "上海市交通委" in operator.get("/orgs").text


def test_organisation_problems_are_shown_beside_the_fields(operator: TestClient) -> None:
    page = post(operator, "/admin/orgs", {"code": "ga", "name": "x", "kind": "department"})
    assert page.status_code == 422
    for field in ("code", "name"):
        assert f'id="{field}-error"' in page.text, field
    assert 'value="ga"' in page.text  # what was typed is kept
    clash = post(
        operator, "/admin/orgs", {"code": "GA", "name": "上海市公安局二", "kind": "department", "uscc": "123"}
    )
    assert clash.status_code == 422
    assert 'id="code-error"' in clash.text
    assert 'id="uscc-error"' in clash.text


def test_operators_create_and_edit_users(operator: TestClient, make_client: Any) -> None:
    created = post(
        operator,
        "/admin/users",
        {
            "username": "auditor",
            "display_name": "钱安全",
            "password": PASSWORD,
            "organisation": "BDC",
            "roles": ["security", "reviewer"],
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    users = {u["username"]: u for u in operator.get("/admin/users.json").json()["users"]}
    assert sorted(users["auditor"]["roles"]) == ["reviewer", "security"]
    assert make_client("auditor").get("/catalog").status_code == 200
    edited = post(
        operator,
        "/admin/users/auditor",
        {
            "display_name": "钱安全",
            "organisation": "",
            "roles": ["developer"],
            "password": "a-brand-new-password",
        },
        follow_redirects=False,
    )
    assert edited.status_code == 303  # unchecked "active" deactivates
    user = operator.get("/admin/users/auditor.json").json()["user"]
    assert (user["roles"], user["active"], user["organisation_code"]) == (["developer"], False, None)


def test_a_password_reset_lets_the_user_sign_in_with_it(operator: TestClient, make_client: Any) -> None:
    post(
        operator,
        "/admin/users/reader",
        {
            "display_name": "张用数",
            "organisation": "RS",
            "roles": ["consumer"],
            "active": "true",
            "password": "reset-password-1",
        },
    )
    sign_in(make_client(), "reader", "reset-password-1")


def test_user_problems_are_shown_beside_the_fields(operator: TestClient) -> None:
    page = post(
        operator, "/admin/users", {"username": "X", "display_name": "", "password": "short", "roles": []}
    )
    assert page.status_code == 422
    assert 'id="username-error"' in page.text
    assert 'id="display_name-error"' in page.text
    short = post(
        operator, "/admin/users", {"username": "newbie", "display_name": "新人", "password": "short"}
    )
    assert short.status_code == 422
    assert 'id="password-error"' in short.text
    assert "newbie" not in operator.get("/admin/users").text


def test_organisation_page_lists_users_only_for_operators(operator: TestClient, make_client: Any) -> None:
    data = operator.get("/orgs/GA.json").json()
    assert data["users"] == [{"username": "steward", "display_name": "李管理"}]
    assert {s["value"]: s["count"] for s in data["by_status"]} == {"published": 2}
    assert make_client("reader").get("/orgs/GA.json").json()["users"] is None
