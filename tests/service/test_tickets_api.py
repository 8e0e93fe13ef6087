"""The tickets API (问题工单): list with filters, one ticket with its timeline, actions, denials."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from gongshu.store.base import city_today
from tests.helpers import ENTRY, entry_doc
from tests.quality.ticket_support import DATE_RANGE, ID_CHECK, publish_and_mount, sync
from tests.service.conftest import Api

MOUNT = "ga_people"


@pytest.fixture
def numbers(api: Api) -> list[str]:
    """Two tickets of GA's mount: one long overdue (opened 2025-01-24), one opened today."""
    with api.platform.store.session() as session:
        publish_and_mount(session, entry_doc(), MOUNT, str(ENTRY["code"]))
        late = sync(session, MOUNT, {ID_CHECK: 120}, today=date(2025, 1, 24)).opened
        fresh = sync(session, MOUNT, {DATE_RANGE: 3}, today=city_today()).opened
    return late + fresh


def test_list_and_filter(api: Api, numbers: list[str]) -> None:
    late, fresh = numbers
    answer = api.client.get("/api/v1/tickets", headers=api.headers("operator"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == 2 and [t["number"] for t in body["tickets"]] == [late, fresh]
    assert body["counts"]["open"] == 2 and body["counts"]["overdue"] == 1
    first = body["tickets"][0]
    assert first["due_date"] == "2025-02-07" and first["overdue"] is True
    assert first["status"] == "open" and first["status_label"] == "待处理"
    assert first["organisation"] == "GA" and first["mount"] == MOUNT and first["rule_id"] == "ID_CHECK"

    def listed(query: str) -> list[str]:
        found = api.client.get(f"/api/v1/tickets?{query}", headers=api.headers("operator")).json()
        return [t["number"] for t in found["tickets"]]

    assert listed("overdue=true") == [late] and listed("overdue=false") == [fresh]
    assert listed("organisation=GA&status=open") == [late, fresh]
    assert listed("organisation=MZ") == [] and listed("status=closed") == []
    assert listed(f"mount={MOUNT}&per_page=1") == [late]
    bad = api.client.get("/api/v1/tickets?status=done", headers=api.headers("operator"))
    assert bad.status_code == 422 and "status" in bad.json()["error"]["problems"]


def test_one_ticket_and_its_actions(api: Api, numbers: list[str]) -> None:
    late = numbers[0]
    shown = api.client.get(f"/api/v1/tickets/{late}", headers=api.headers("ga_steward")).json()
    assert shown["number"] == late and [e["action"] for e in shown["events"]] == ["opened"]
    assert shown["actions"] == ["assign", "start", "fix", "comment"]
    assert [u["username"] for u in shown["assignees"]] == ["ga_steward"]

    def act(who: str, action: str, **body: str) -> Any:
        return api.client.post(f"/api/v1/tickets/{late}/{action}", headers=api.headers(who), json=body)

    assigned = act("ga_steward", "assign", username="ga_steward")
    assert assigned.status_code == 200 and assigned.json()["assignee"] == "ga_steward"
    started = api.client.post(f"/api/v1/tickets/{late}/start", headers=api.headers("ga_steward"))
    assert started.status_code == 200 and started.json()["status"] == "in_progress"
    missing = act("ga_steward", "fix")
    assert missing.status_code == 422 and "note" in missing.json()["error"]["problems"]
    fixed = act("ga_steward", "fix", note="已在源系统更正")
    assert fixed.json()["status"] == "fixed" and fixed.json()["status_label"] == "已整改待复核"
    assert act("ga_steward", "close", note="x").status_code == 403
    assert act("ga_steward", "archive", note="x").status_code == 422
    assert act("ga_steward", "fix", note="again").status_code == 409
    unknown_field = act("operator", "comment", note="x", assignee="ga_steward")
    assert unknown_field.status_code == 422
    reopened = act("operator", "reopen", note="抽查发现仍有错误")
    assert reopened.json()["status"] == "open"
    closed = act("operator", "close", note="经研究不予整改")
    body = closed.json()
    assert body["status"] == "closed" and body["closed_at"] and body["actions"] == ["reopen", "comment"]
    assert [e["action"] for e in body["events"]] == [
        "opened",
        "assigned",
        "started",
        "fixed",
        "reopened",
        "closed",
    ]
    assert body["events"][-1]["note"] == "经研究不予整改" and body["events"][-1]["actor"] == "user:admin"


def test_other_departments_and_the_public_see_nothing(api: Api, numbers: list[str]) -> None:
    late = numbers[0]
    for who in ("mz_steward", "consumer", "citizen"):
        listed = api.client.get("/api/v1/tickets", headers=api.headers(who)).json()
        assert listed["total"] == 0 and listed["counts"]["open"] == 0, who
        assert api.client.get(f"/api/v1/tickets/{late}", headers=api.headers(who)).status_code == 404
        moved = api.client.post(
            f"/api/v1/tickets/{late}/comment", headers=api.headers(who), json={"note": "x"}
        )
        assert moved.status_code == 404, who
    assert api.client.get("/api/v1/tickets").status_code == 401


def test_the_api_is_in_the_openapi_document(api: Api) -> None:
    paths = api.client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/tickets", "/api/v1/tickets/{number}", "/api/v1/tickets/{number}/{action}"} <= set(paths)
