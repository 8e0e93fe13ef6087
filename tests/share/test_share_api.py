"""Demands, grants and citizens' accesses over HTTP, with tokens for the users of the review.

The consumer is Huangpu's big data centre (D310101), the provider's reviewer is GA's, the platform's
operator is DSJ's. 有条件共享 goes provider → platform → grant; 无条件共享 (SCJG) is granted at once;
不予共享 (浦东 民政) is refused citing its basis.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gongshu.orgs import users
from gongshu.orgs.models import User
from gongshu.orgs.roles import SYSTEM, Role
from gongshu.orgs.schemas import UserCreate
from gongshu.platform import Platform
from gongshu.service.app import create_app
from gongshu.share.citizens import bind_identity
from gongshu.store.base import city_today
from tests.share.conftest import ENTERPRISES, POPULATION, ensure_user, grant_for, people, token_for

NOT_SHARED = "320115003/000001"  # 浦东新区婚姻登记预约信息 (不予共享)
NOT_SHARED_BASIS = "《中华人民共和国反恐怖主义法》第四十八条"
USERS: dict[str, tuple[str | None, list[Role]]] = {
    "d310101_consumer_t": ("D310101", [Role.CONSUMER]),
    "ga_reviewer_t": ("GA", [Role.REVIEWER]),
    "operator_t": ("DSJ", [Role.OPERATOR]),
    "d310115_consumer_t": ("D310115", [Role.CONSUMER]),  # another district
    "d310101_reviewer_t": ("D310101", [Role.REVIEWER]),  # a reviewer, but of the consuming side
    "mz_reviewer_t": ("MZ", [Role.REVIEWER]),  # a reviewer of an unrelated department
    "mz_consumer_t": ("MZ", [Role.CONSUMER]),  # a city department
    "security_t": ("DSJ", [Role.SECURITY]),
    "citizen_t": (None, [Role.CITIZEN]),
}


@dataclass
class Api:
    client: TestClient
    platform: Platform
    tokens: dict[str, str]

    def get(self, who: str, url: str, **params: Any) -> httpx.Response:
        answer: httpx.Response = self.client.get(f"/api/v1{url}", headers=self._auth(who), params=params)
        return answer

    def post(self, who: str, url: str, body: Any = None) -> httpx.Response:
        answer: httpx.Response = self.client.post(f"/api/v1{url}", headers=self._auth(who), json=body)
        return answer

    def _auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(scope="module")
def api(share_platform: Platform) -> Iterator[Api]:
    for username, (org, roles) in USERS.items():
        if org is not None:
            ensure_user(share_platform, username, org, roles)
    with share_platform.store.session() as session:
        if session.scalar(sa.select(User).where(User.username == "citizen_t")) is None:
            users.create_user(
                session,
                SYSTEM,
                UserCreate(username="citizen_t", display_name="市民", roles=[Role.CITIZEN.value]),
            )
    tokens = {username: token_for(share_platform, username) for username in USERS}
    with TestClient(create_app(share_platform)) as client:
        yield Api(client, share_platform, tokens)


def demand(**changes: Any) -> dict[str, Any]:
    """A demand for Huangpu's own rows of 实有人口基本信息 over the 接口 method, with ``changes``."""
    body: dict[str, Any] = {
        "entry": POPULATION,
        "scenario": "社区事务受理",
        "purpose": "为辖区居民办理社区事务时核验身份信息",
        "legal_basis": "《上海市公共数据管理办法》第二十条",
        "fields": ["id_number", "name", "district_code"],
        "row_scope": "district",
        "method": "接口",
        "period_end": (city_today() + timedelta(days=90)).isoformat(),
    }
    return body | changes


def filed(api: Api, who: str = "d310101_consumer_t", **changes: Any) -> dict[str, Any]:
    answer = api.post(who, "/share/demands", demand(**changes))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def problems(answer: httpx.Response) -> dict[str, list[str]]:
    assert answer.status_code == 422, answer.text
    found: dict[str, list[str]] = answer.json()["error"]["problems"]
    return found


def test_a_conditional_demand_goes_through_both_reviews_to_a_grant(api: Api) -> None:
    body = filed(api)
    code = body["code"]
    assert (
        code.startswith("XQ")
        and body["status"] == "provider_review"
        and body["status_label"] == "待提供方审核"
    )
    assert (
        body["share_type"] == "有条件共享" and body["provider"] == "GA" and body["district_code"] == "310101"
    )
    assert body["provider_due"] and body["platform_due"] is None and not body["overdue"]
    assert [e["action"] for e in body["events"]] == ["file"]

    mine = api.get("d310101_consumer_t", "/share/demands", side="consumer").json()
    assert code in [d["code"] for d in mine] and all(d["events"] == [] for d in mine)
    theirs = api.get("ga_reviewer_t", "/share/demands", side="provider", status="provider_review").json()
    assert code in [d["code"] for d in theirs]
    assert code not in [d["code"] for d in api.get("ga_reviewer_t", "/share/demands", side="consumer").json()]

    approved = api.post(
        "ga_reviewer_t", f"/share/demands/{code}/decision", {"approve": True, "reason": "同意"}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "platform_review" and approved.json()["platform_due"]
    not_theirs = api.post("ga_reviewer_t", f"/share/demands/{code}/decision", {"approve": True})
    assert not_theirs.status_code == 403  # the platform review is the operator's
    granted = api.post("operator_t", f"/share/demands/{code}/decision", {"approve": True, "reason": "同意"})
    assert granted.status_code == 200 and granted.json()["status"] == "granted"
    grant = granted.json()["grant"]
    assert grant and grant.startswith("SQ")

    shown = api.get("d310101_consumer_t", f"/share/demands/{code}").json()
    assert [e["action"] for e in shown["events"]] == ["file", "provider_approve", "platform_approve"]
    assert shown["events"][1]["actor"] == "user:ga_reviewer_t" and shown["decided_at"]
    again = api.post("operator_t", f"/share/demands/{code}/decision", {"approve": False, "reason": "迟了"})
    assert again.status_code == 409

    granted_doc = api.get("d310101_consumer_t", f"/share/grants/{grant}").json()
    assert granted_doc["demand"] == code and granted_doc["state"] == "active"
    assert granted_doc["fields"] == ["id_number", "name", "district_code"]
    assert granted_doc["row_scope"] == "district" and granted_doc["district_code"] == "310101"
    listed = api.get("d310101_consumer_t", "/share/grants", side="consumer", status="active").json()
    assert grant in [g["code"] for g in listed]


def test_unconditional_is_granted_at_once_and_not_shared_refused_citing_its_basis(api: Api) -> None:
    open_ = filed(api, entry=ENTERPRISES, fields=["uscc", "ent_name"], row_scope="all")
    assert open_["status"] == "granted" and open_["grant"] and open_["provider_due"] is None
    assert [e["action"] for e in open_["events"]] == ["file", "auto_grant"]

    closed = filed(api, entry=NOT_SHARED, fields=["id_number", "name"], row_scope="all")
    assert closed["status"] == "refused" and closed["grant"] is None
    assert NOT_SHARED_BASIS in closed["reason"]
    assert (
        closed["events"][-1]["action"] == "auto_refuse" and NOT_SHARED_BASIS in closed["events"][-1]["note"]
    )


def test_validation_problems_are_keyed_by_field(api: Api) -> None:
    bad = api.post("mz_consumer_t", "/share/demands", demand(fields=["name", "no_such_item"], method="文件"))
    found = problems(bad)
    assert set(found) == {"fields", "method", "row_scope"}, found
    assert "no_such_item" in found["fields"][0] and "接口" in found["method"][0]
    assert "区级" in found["row_scope"][0]  # a city department asks for its own district's rows

    condition = api.post(
        "d310101_consumer_t",
        "/share/demands",
        demand(row_scope="condition", conditions=[{"column": "no_such_item", "op": "eq", "value": "x"}]),
    )
    assert set(problems(condition)) == {"conditions[0].column"}
    unknown_op = api.post(
        "d310101_consumer_t",
        "/share/demands",
        demand(row_scope="condition", conditions=[{"column": "name", "op": "like", "value": "x"}]),
    )
    assert "conditions[0].op" in problems(unknown_op)
    assert "colour" in problems(api.post("d310101_consumer_t", "/share/demands", demand(colour="red")))
    missing = api.post("d310101_consumer_t", "/share/demands", {"entry": POPULATION})
    assert {"scenario", "purpose", "legal_basis", "fields", "period_end"} <= set(problems(missing))
    absent = api.post("d310101_consumer_t", "/share/demands", demand(entry="199001001/000001"))
    assert absent.status_code == 404

    code = filed(api)["code"]
    refusal = api.post("ga_reviewer_t", f"/share/demands/{code}/decision", {"approve": False})
    assert set(problems(refusal)) == {"reason"}
    refused = api.post(
        "ga_reviewer_t", f"/share/demands/{code}/decision", {"approve": False, "reason": "超出履职范围"}
    )
    assert refused.json()["status"] == "refused" and refused.json()["reason"] == "超出履职范围"
    assert api.get("d310101_consumer_t", "/share/demands", side="sideways").status_code == 422


def test_who_may_see_and_decide(api: Api) -> None:
    code = filed(api)["code"]
    for stranger in ("d310115_consumer_t", "mz_reviewer_t"):
        assert api.get(stranger, f"/share/demands/{code}").status_code == 404, stranger
        decided = api.post(stranger, f"/share/demands/{code}/decision", {"approve": True})
        assert decided.status_code == 404, stranger
        assert code not in [d["code"] for d in api.get(stranger, "/share/demands").json()]
    assert api.get("d310115_consumer_t", "/share/demands/XQ999999").status_code == 404
    own_side = api.post("d310101_reviewer_t", f"/share/demands/{code}/decision", {"approve": True})
    assert own_side.status_code == 403 and own_side.json()["error"]["code"] == "forbidden"
    assert api.get("security_t", f"/share/demands/{code}").status_code == 200
    assert api.client.get(f"/api/v1/share/demands/{code}").status_code == 401

    assert api.post("ga_reviewer_t", f"/share/demands/{code}/withdraw").status_code == 403
    withdrawn = api.post("d310101_consumer_t", f"/share/demands/{code}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert api.post("d310101_consumer_t", f"/share/demands/{code}/withdraw").status_code == 409


def test_the_sweep_is_for_operators(api: Api) -> None:
    assert api.post("d310101_consumer_t", "/share/demands/sweep").status_code == 403
    swept = api.post("operator_t", "/share/demands/sweep")
    assert swept.status_code == 200 and swept.json() == {"escalated": []}  # deadlines lie ahead
    assert api.get("ga_reviewer_t", "/share/demands", overdue="true").json() == []


def test_suspend_resume_and_revoke_a_grant(api: Api) -> None:
    code = filed(api, entry=ENTERPRISES, fields=["uscc", "ent_name"], row_scope="all")["grant"]
    url = f"/share/grants/{code}"
    assert api.post("d310101_consumer_t", f"{url}/suspend", {"reason": "x"}).status_code == 403
    assert api.post("d310115_consumer_t", f"{url}/suspend", {"reason": "x"}).status_code == 404
    assert api.get("d310115_consumer_t", url).status_code == 404
    assert set(problems(api.post("operator_t", f"{url}/suspend", {}))) == {"reason"}

    suspended = api.post("operator_t", f"{url}/suspend", {"reason": "安全检查"})
    assert suspended.status_code == 200
    assert suspended.json()["status"] == "suspended" and suspended.json()["state"] == "suspended"
    assert api.post("operator_t", f"{url}/suspend", {"reason": "again"}).status_code == 409
    resumed = api.post("operator_t", f"{url}/resume")
    assert resumed.status_code == 200 and resumed.json()["state"] == "active"
    assert api.post("operator_t", f"{url}/resume").status_code == 409
    assert set(problems(api.post("security_t", f"{url}/revoke", {"reason": " "}))) == {"reason"}
    revoked = api.post("security_t", f"{url}/revoke", {"reason": "场景已终止"})
    assert revoked.json()["status"] == "revoked" and revoked.json()["status_label"] == "已撤销"
    for action in ("suspend", "resume", "revoke"):
        assert api.post("operator_t", f"{url}/{action}", {"reason": "x"}).status_code == 409, action
    assert api.post("operator_t", f"{url}/resume", {"reason": "x", "extra": 1}).status_code == 422
    listed = api.get("d310101_consumer_t", "/share/grants", status="revoked").json()
    assert code in [g["code"] for g in listed]


def test_citizens_see_who_used_their_data(api: Api) -> None:
    (id_number, name, _), *_ = people(api.platform, district="310101")
    grant = grant_for(
        api.platform, method="接口", scenario="社区事务受理身份核验", fields=["id_number", "name"]
    )
    assert api.get("citizen_t", "/share/accesses/me").status_code == 404  # no verified identity yet
    with api.platform.store.session() as session:
        bind_identity(session, SYSTEM, "citizen_t", id_number, settings=api.platform.settings)
    assert api.get("citizen_t", "/share/accesses/me").json() == []

    verified = api.post(
        "d310101_consumer_t",
        f"/share/grants/{grant}/verify",
        {"values": {"id_number": id_number, "name": name}},
    )
    assert verified.status_code == 200 and verified.json()["result"] == "match"
    mine = api.get("citizen_t", "/share/accesses/me")
    assert mine.status_code == 200, mine.text
    [access] = mine.json()
    assert access["consumer"] == "D310101" and access["consumer_name"] == "上海市黄浦区大数据中心"
    assert access["scenario"] == "社区事务受理身份核验" and access["resource"] == POPULATION
    assert access["api"] == "verify" and access["api_label"] == "核验"

    looked_up = api.post("security_t", "/share/accesses/lookup", {"id_number": id_number})
    assert looked_up.status_code == 200 and looked_up.json() == mine.json()
    assert (
        api.post("d310101_consumer_t", "/share/accesses/lookup", {"id_number": id_number}).status_code == 403
    )
    assert api.post("citizen_t", "/share/accesses/lookup", {"id_number": id_number}).status_code == 403
    assert api.get("d310101_consumer_t", "/share/accesses/me").status_code == 403  # not a citizen
    wrong = api.post("operator_t", "/share/accesses/lookup", {"id_number": id_number[:17] + "?"})
    assert set(problems(wrong)) == {"id_number"}
    assert api.client.get("/api/v1/share/accesses/me").status_code == 401


def test_the_operations_are_documented(api: Api) -> None:
    document = api.client.get("/api/v1/openapi.json").json()
    operations = {
        ("post", "/share/demands"): {201, 401, 403, 404, 422},
        ("get", "/share/demands"): {200, 401, 422},
        ("get", "/share/demands/{code}"): {200, 401, 404, 422},
        ("post", "/share/demands/{code}/decision"): {200, 401, 403, 404, 409, 422},
        ("post", "/share/demands/{code}/withdraw"): {200, 401, 403, 404, 409, 422},
        ("post", "/share/demands/sweep"): {200, 401, 403},
        ("get", "/share/grants"): {200, 401, 422},
        ("get", "/share/grants/{code}"): {200, 401, 404, 422},
        ("post", "/share/grants/{code}/suspend"): {200, 401, 403, 404, 409, 422},
        ("post", "/share/grants/{code}/resume"): {200, 401, 403, 404, 409, 422},
        ("post", "/share/grants/{code}/revoke"): {200, 401, 403, 404, 409, 422},
        ("get", "/share/accesses/me"): {200, 401, 403, 404, 422},
        ("post", "/share/accesses/lookup"): {200, 401, 403, 422},
    }
    for (method, path), statuses in operations.items():
        operation = document["paths"][f"/api/v1{path}"][method]
        assert "共享 sharing" in operation["tags"], path
        assert any("\u4e00" <= ch <= "\u9fff" for ch in operation["summary"]), path
        assert operation["description"], path
        assert {int(s) for s in operation["responses"]} == statuses, (method, path)
        for status in statuses - {200, 201}:  # every error answers the one documented body
            schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
    assert document["paths"]["/api/v1/share/demands"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/DemandCreate"}
