"""The JSON API: authentication, catalogue round trips, errors mapped to statuses, OpenAPI."""

from __future__ import annotations

from gongshu.security import audit
from tests.helpers import entry_doc
from tests.service.conftest import Api

CODE = "301001001/000001"


def test_health_needs_no_token_but_everything_else_does(api: Api) -> None:
    assert api.client.get("/api/v1/health").json()["status"] == "ok"
    for path in ("/api/v1/catalog", "/api/v1/organisations", "/api/v1/me"):
        response = api.client.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
    bad = api.client.get("/api/v1/me", headers={"Authorization": "Bearer gsk_forged"})
    assert bad.status_code == 401


def test_catalogue_round_trip_through_the_api(api: Api) -> None:
    steward, operator = api.headers("ga_steward"), api.headers("operator")
    created = api.client.post("/api/v1/catalog", json=entry_doc(), headers=steward)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    assert api.client.post(f"/api/v1/catalog/{CODE}/submit", headers=steward).status_code == 200
    assert api.client.post(f"/api/v1/catalog/{CODE}/publish", headers=steward).status_code == 403
    published = api.client.post(f"/api/v1/catalog/{CODE}/publish", headers=operator)
    assert published.json()["status"] == "published"

    found = api.client.get("/api/v1/catalog", params={"q": "人口"}, headers=api.headers("consumer")).json()
    assert [r["code"] for r in found["results"]] == [CODE]
    assert {f["value"] for f in found["facets"]["provider"]} == {"GA"}
    shown = api.client.get(f"/api/v1/catalog/{CODE}", headers=api.headers("consumer")).json()
    assert shown["items"][0]["element_name"] == "公民身份号码"
    versions = api.client.get(f"/api/v1/catalog/{CODE}/versions", headers=operator).json()
    assert [v["change"] for v in versions] == ["publish", "submit", "create"]


def test_validation_problems_come_back_keyed_with_422(api: Api) -> None:
    document = entry_doc(share_type="不予共享", share_methods=[], share_basis=None, code="bad")
    response = api.client.post("/api/v1/catalog", json=document, headers=api.headers("operator"))
    assert response.status_code == 422
    assert set(response.json()["error"]["problems"]) == {"code", "share_basis"}


def test_lifecycle_conflicts_are_409_and_unknown_entries_404(api: Api) -> None:
    operator = api.headers("operator")
    api.client.post("/api/v1/catalog", json=entry_doc(), headers=operator)
    assert api.client.post(f"/api/v1/catalog/{CODE}/publish", headers=operator).status_code == 409
    assert api.client.get("/api/v1/catalog/301001001/999999", headers=operator).status_code == 404
    # a draft of another organisation is as invisible as a missing entry
    assert api.client.get(f"/api/v1/catalog/{CODE}", headers=api.headers("mz_steward")).status_code == 404


def test_tokens_issue_list_and_revoke(api: Api) -> None:
    issued = api.client.post("/api/v1/tokens", json={"name": "etl"}, headers=api.headers("mz_steward"))
    assert issued.status_code == 201
    secret, token_id = issued.json()["secret"], issued.json()["id"]
    listed = api.client.get("/api/v1/tokens", headers=api.headers("mz_steward")).json()
    assert all("secret" not in t for t in listed)
    assert (
        api.client.delete(f"/api/v1/tokens/{token_id}", headers=api.headers("mz_steward")).status_code == 200
    )
    assert api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_admin_resources_are_for_operators(api: Api) -> None:
    org = {"code": "JT", "name": "上海市交通委员会"}
    assert (
        api.client.post("/api/v1/organisations", json=org, headers=api.headers("ga_steward")).status_code
        == 403
    )
    assert (
        api.client.post("/api/v1/organisations", json=org, headers=api.headers("operator")).status_code == 201
    )
    user = {
        "username": "jt_steward",
        "display_name": "交通",
        "organisation": "JT",
        "roles": ["steward"],
        "password": "a-long-password",
    }
    assert api.client.post("/api/v1/users", json=user, headers=api.headers("operator")).status_code == 201
    assert api.client.get("/api/v1/audit", headers=api.headers("ga_steward")).status_code == 403
    verified = api.client.get("/api/v1/audit/verify", headers=api.headers("operator")).json()
    assert verified["ok"] and verified["checked"] > 5
    districts = api.client.get("/api/v1/divisions", headers=api.headers("consumer")).json()
    assert len([d for d in districts if d["level"] == "district"]) == 16


def test_malformed_requests_get_keyed_problems(api: Api) -> None:
    response = api.client.post(
        "/api/v1/organisations", json={"code": "lower"}, headers=api.headers("operator")
    )
    assert response.status_code == 422
    assert {"code", "name"} <= set(response.json()["error"]["problems"])


def test_a_failed_request_leaves_no_partial_change(api: Api) -> None:
    with api.platform.store.session() as session:
        before = audit.verify(session).checked
    api.client.post("/api/v1/catalog", json=entry_doc(code="x"), headers=api.headers("operator"))
    with api.platform.store.session() as session:
        assert audit.verify(session).checked == before


def test_openapi_document_describes_the_api(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "gongshu 公数"
    assert {"/api/v1/catalog", "/api/v1/catalog/{front}/{back}", "/api/v1/tokens"} <= set(spec["paths"])
