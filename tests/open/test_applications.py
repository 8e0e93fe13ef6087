"""Conditional-open applications (有条件开放申请), end to end through the real service: an enterprise
registers, applies for 市场主体登记信息 with three 信息项, the PDFs are generated, SCJG's steward approves
on the working-day clock, the applicant collects the credential and reads ONLY the approved fields,
the credential reads nothing else, the provider sees the access; refusal, revocation, expiry, public
statistics; and the application form in a real browser."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gongshu.demo import DEMO_PASSWORD
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.open import applications as apps
from gongshu.open import developers
from gongshu.open.datasets import dataset_name, open_dataset
from gongshu.open.keys import authenticate
from gongshu.open.models import OpenApplication
from gongshu.orgs.roles import SYSTEM
from gongshu.orgs.schemas import TokenCreate
from gongshu.orgs.tokens import issue_token
from gongshu.orgs.uscc import uscc_check_char
from gongshu.orgs.users import get_user, principal_of
from gongshu.platform import Platform
from gongshu.quality.calendar import load_calendar
from gongshu.security.models import AuditEvent
from gongshu.store.base import city_today, utcnow
from tests.browser_support import ARTIFACTS, chromium, served
from tests.open.conftest import ADDRESSES, ENTERPRISES, NOT_OPEN

PASSWORD = "enterprise-password-1"
REQUESTED = ["uscc", "ent_name", "reg_capital"]
USCC = "91310000MA1K00002" + uscc_check_char("91310000MA1K00002")
CONDITIONAL = dataset_name(ENTERPRISES)
UNCONDITIONAL = dataset_name(ADDRESSES)


def token_for(platform: Platform, username: str) -> dict[str, str]:
    with platform.store.session() as session:
        issued = issue_token(session, SYSTEM, TokenCreate(name="tests", username=username))
    return {"Authorization": f"Bearer {issued.secret}"}


def application_body(**changes: Any) -> dict[str, Any]:
    return {
        "dataset": CONDITIONAL,
        "applicant_org": "上海某某征信服务有限公司",
        "applicant_uscc": USCC,
        "contact": "张经理",
        "purpose": "对申请贷款的企业进行登记状态核验和信用评估",
        "scenario": "企业信用评估",
        "fields": REQUESTED,
        "duration_days": 30,
    } | changes


@pytest.fixture(scope="module")
def live(portal: Platform) -> Iterator[str]:
    with portal.store.session() as session:
        if open_dataset(session, CONDITIONAL).publication is None:  # the demo publishes after collection
            from gongshu.open.publish import publish_all

            publish_all(portal)
    with served(portal) as url:
        yield url


@pytest.fixture(scope="module")
def enterprise(portal: Platform, live: str) -> dict[str, str]:
    """An enterprise registered through the API; its API token's header."""
    body = {
        "username": "credit_corp",
        "display_name": "某某征信",
        "password": PASSWORD,
        "organisation_name": "上海某某征信服务有限公司",
        "uscc": USCC,
    }
    assert httpx.post(f"{live}/api/v1/open/developers", json=body).status_code == 201
    return token_for(portal, "credit_corp")


def read_as(live: str, portal: Platform, secret: str, name: str) -> tuple[int, dict[str, Any]]:
    """``datastore_search`` with a credential: the CKAN route when it is served, else the library."""
    status = httpx.get(f"{live}/api/3/action/status_show")
    if status.status_code == 200:
        answer = httpx.get(
            f"{live}/api/3/action/datastore_search",
            params={"resource_id": f"{name}-csv", "limit": 5},
            headers={"Authorization": secret},
        )
        return answer.status_code, answer.json()
    from gongshu.open.datastore import datastore_search
    from gongshu.open.usage import record_access

    with portal.store.session() as session:
        caller = authenticate(session, secret)
        dataset = open_dataset(session, name)
        try:
            result = datastore_search(portal, dataset, caller, limit=5)
        except PermissionDenied as error:
            return 403, {"success": False, "error": {"message": error.message}}
        fields = [f["id"] for f in result["fields"] if f["id"] != "_id"]
        record_access(
            session, caller, dataset, channel="datastore_search", fields=fields, rows=len(result["records"])
        )
        return 200, {"success": True, "result": result}


# --- validation -----------------------------------------------------------------------------------


def test_every_problem_at_once(portal: Platform) -> None:
    with portal.store.session() as session, pytest.raises(ValidationFailed) as failed:
        apps.application_spec(
            session,
            {
                "dataset": CONDITIONAL,
                "applicant_org": "",
                "applicant_uscc": "91310000ABCDEFGHIJ",
                "contact": "",
                "purpose": "",
                "scenario": "",
                "fields": ["legal_rep_id_number", "nonsense"],  # 重要: never published
                "duration_days": "400",
            },
        )
    assert set(failed.value.problems) == {
        "applicant_org", "applicant_uscc", "contact", "purpose", "scenario", "fields", "duration_days",
    }  # fmt: skip
    assert "legal_rep_id_number" in failed.value.problems["fields"][0]
    with portal.store.session() as session, pytest.raises(ValidationFailed) as none_chosen:
        apps.application_spec(session, application_body(fields=[], duration_days=0))
    assert set(none_chosen.value.problems) == {"fields", "duration_days"}


def test_unconditional_needs_no_application_and_not_open_is_not_found(portal: Platform) -> None:
    with portal.store.session() as session:
        with pytest.raises(ValidationFailed) as failed:
            apps.application_spec(session, application_body(dataset=UNCONDITIONAL, fields=["address_code"]))
        assert "dataset" in failed.value.problems and "无需申请" in failed.value.problems["dataset"][0]
        with pytest.raises(NotFound):
            apps.application_spec(session, application_body(dataset=dataset_name(NOT_OPEN)))


def test_only_developers_file(portal: Platform) -> None:
    with portal.store.session() as session:
        steward = principal_of(get_user(session, "ghzy_steward"))
        with pytest.raises(PermissionDenied):
            apps.file_application(session, steward, application_body(), settings=portal.settings)


# --- the whole flow -------------------------------------------------------------------------------


def test_conditional_flow_end_to_end(portal: Platform, live: str, enterprise: dict[str, str]) -> None:
    api = f"{live}/api/v1/open"
    filed = httpx.post(f"{api}/applications", json=application_body(), headers=enterprise, timeout=120)
    assert filed.status_code == 201, filed.text
    application = filed.json()
    code = application["code"]
    assert re.fullmatch(r"OA\d{6}", code)
    assert application["state"] == "submitted" and application["fields"] == REQUESTED
    assert application["due_on"] == load_calendar().add_working_days(city_today(), 10).isoformat()

    # the two documents: PDFs, their sha256 on the row, the applicant's details inside
    for kind in ("pledge", "agreement"):
        pdf = httpx.get(f"{api}/applications/{code}/{kind}.pdf", headers=enterprise)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert pdf.headers["content-type"] == "application/pdf"
        assert hashlib.sha256(pdf.content).hexdigest() == application[f"{kind}_sha256"]
    path = portal.settings.data_dir / "open" / "applications" / code / "pledge.pdf"
    assert path.is_file()

    # someone else's department cannot see it, let alone approve it
    ga = token_for(portal, "ga_reviewer")
    assert httpx.get(f"{api}/applications/{code}", headers=ga).status_code == 404
    assert httpx.post(f"{api}/applications/{code}/approve", json={}, headers=ga).status_code == 404
    # the applicant cannot approve their own application
    assert httpx.post(f"{api}/applications/{code}/approve", json={}, headers=enterprise).status_code == 403

    # the provider's steward sees it in the review queue and approves it, narrowing nothing
    steward = token_for(portal, "scjg_steward")
    queue = httpx.get(f"{api}/applications", params={"side": "review"}, headers=steward).json()
    assert code in [a["code"] for a in queue]
    approved = httpx.post(f"{api}/applications/{code}/approve", json={"note": "同意"}, headers=steward)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved" and approved.json()["valid_until"]
    assert httpx.post(f"{api}/applications/{code}/approve", json={}, headers=steward).status_code == 409

    # the applicant collects the credential once
    collected = httpx.post(f"{api}/applications/{code}/credential", headers=enterprise)
    assert collected.status_code == 201, collected.text
    secret = collected.json()["secret"]
    assert secret.startswith("goc_") and collected.json()["application"] == code
    assert httpx.post(f"{api}/applications/{code}/credential", headers=steward).status_code == 403

    # it reads only the approved 信息项 of this dataset
    status, body = read_as(live, portal, secret, CONDITIONAL)
    assert status == 200, body
    columns = {f["id"] for f in body["result"]["fields"]} - {"_id"}
    assert columns == set(REQUESTED)
    assert body["result"]["records"] and all(
        set(r) - {"_id"} == set(REQUESTED) for r in body["result"]["records"]
    )
    whoami = httpx.get(f"{api}/whoami", headers={"Authorization": secret}).json()
    assert whoami["kind"] == "credential" and whoami["scopes"] == {CONDITIONAL: sorted(REQUESTED)}

    # … and nothing else, not even 无条件开放 data
    status, body = read_as(live, portal, secret, UNCONDITIONAL)
    assert status == 403 and body["success"] is False

    # the provider sees the access; so does the applicant
    accesses = httpx.get(f"{api}/applications/{code}/accesses", headers=steward).json()
    assert (
        accesses
        and set(accesses[0]["fields"]) == set(REQUESTED)
        and accesses[0]["caller"].startswith("key:goc_")
    )
    assert httpx.get(f"{api}/applications/{code}/accesses", headers=enterprise).json() == accesses
    assert httpx.get(f"{api}/applications/{code}/accesses", headers=ga).status_code == 404
    with portal.store.session() as session:
        trail = session.scalars(
            sa.select(AuditEvent.action).where(
                AuditEvent.object_type == "open_application", AuditEvent.object_id == code
            )
        ).all()
    assert {"open.application.file", "open.application.approve", "open.access.datastore_search"} <= set(trail)

    # collecting again replaces the credential
    renewed = httpx.post(f"{api}/applications/{code}/credential", headers=enterprise).json()["secret"]
    assert httpx.get(f"{api}/whoami", headers={"Authorization": secret}).status_code == 401
    assert httpx.get(f"{api}/whoami", headers={"Authorization": renewed}).status_code == 200

    # expiry: an approval past valid_until reads nothing, and no credential is issued any more
    with portal.store.session() as session:
        row = session.scalar(sa.select(OpenApplication).where(OpenApplication.code == code))
        assert row is not None
        row.valid_until = utcnow() - timedelta(minutes=1)
    status, body = read_as(live, portal, renewed, CONDITIONAL)
    assert status == 403 and body["success"] is False
    assert httpx.post(f"{api}/applications/{code}/credential", headers=enterprise).status_code == 409


def test_refusal_needs_a_reason_and_is_shown(portal: Platform, live: str, enterprise: dict[str, str]) -> None:
    api = f"{live}/api/v1/open"
    code = httpx.post(f"{api}/applications", json=application_body(), headers=enterprise, timeout=120).json()[
        "code"
    ]
    steward = token_for(portal, "scjg_steward")
    assert (
        httpx.post(f"{api}/applications/{code}/refuse", json={"reason": "  "}, headers=steward).status_code
        == 422
    )
    refused = httpx.post(
        f"{api}/applications/{code}/refuse", json={"reason": "用途与开放条件不符"}, headers=steward
    ).json()
    assert refused["state"] == "refused" and refused["reason"] == "用途与开放条件不符"
    assert [(e["from_state"], e["to_state"]) for e in refused["events"]] == [
        (None, "submitted"),
        ("submitted", "refused"),
    ]
    assert httpx.post(f"{api}/applications/{code}/credential", headers=enterprise).status_code == 409
    assert httpx.post(f"{api}/applications/{code}/withdraw", headers=enterprise).status_code == 409


def test_withdraw_revoke_overdue_and_statistics(
    portal: Platform, live: str, enterprise: dict[str, str]
) -> None:
    api = f"{live}/api/v1/open"
    steward = token_for(portal, "scjg_steward")
    withdrawn = httpx.post(
        f"{api}/applications", json=application_body(), headers=enterprise, timeout=120
    ).json()
    assert httpx.post(f"{api}/applications/{withdrawn['code']}/withdraw", headers=steward).status_code == 403
    answer = httpx.post(f"{api}/applications/{withdrawn['code']}/withdraw", headers=enterprise)
    assert answer.json()["state"] == "withdrawn"

    narrowed = httpx.post(
        f"{api}/applications", json=application_body(), headers=enterprise, timeout=120
    ).json()
    code = narrowed["code"]
    too_wide = {"fields": ["ent_name", "legal_rep_id_number"]}
    assert httpx.post(f"{api}/applications/{code}/approve", json=too_wide, headers=steward).status_code == 422
    approved = httpx.post(
        f"{api}/applications/{code}/approve", json={"fields": ["ent_name"]}, headers=steward
    )
    assert approved.json()["fields"] == ["ent_name"]
    secret = httpx.post(f"{api}/applications/{code}/credential", headers=enterprise).json()["secret"]
    status, body = read_as(live, portal, secret, CONDITIONAL)
    assert status == 200 and {f["id"] for f in body["result"]["fields"]} - {"_id"} == {"ent_name"}
    assert (
        httpx.post(f"{api}/applications/{code}/revoke", json={"reason": ""}, headers=steward).status_code
        == 422
    )
    revoked = httpx.post(f"{api}/applications/{code}/revoke", json={"reason": "违反协议"}, headers=steward)
    assert revoked.json()["state"] == "revoked"
    assert httpx.get(f"{api}/whoami", headers={"Authorization": secret}).status_code == 401

    # a review past its deadline is marked overdue
    pending = httpx.post(
        f"{api}/applications", json=application_body(), headers=enterprise, timeout=120
    ).json()
    with portal.store.session() as session:
        row = session.scalar(sa.select(OpenApplication).where(OpenApplication.code == pending["code"]))
        assert row is not None
        row.due_on = city_today() - timedelta(days=1)
    shown = httpx.get(f"{api}/applications/{pending['code']}", headers=steward).json()
    assert shown["overdue"] is True
    page = httpx.get(f"{live}/open/applications.json", cookies={})
    assert page.status_code == 200 and page.json()["mine"] == []

    stats = {s["provider"]: s for s in httpx.get(f"{api}/applications/stats").json()}  # public, no sign-in
    scjg = stats["SCJG"]
    assert scjg["applications"] >= 4 and scjg["approved"] >= 1 and scjg["refused"] >= 0
    assert scjg["pending"] >= 1 and scjg["withdrawn"] >= 1
    assert scjg["approval_rate"] is not None and 0 < scjg["approval_rate"] <= 1
    assert scjg["median_response_days"] == 0  # decided on the day of filing
    assert "contact" not in scjg and "applicant" not in scjg


def test_cli_lists_and_refuses(portal: Platform, enterprise: dict[str, str]) -> None:
    from typer.testing import CliRunner

    from gongshu.cli.main import app

    with portal.store.session() as session:
        user = get_user(session, "credit_corp")
        code = apps.file_application(
            session, principal_of(user), application_body(), settings=portal.settings
        ).code
    runner = CliRunner()
    data_dir = str(portal.settings.data_dir)
    listed = runner.invoke(app, ["open", "application", "list", "--json", "--data-dir", data_dir])
    assert listed.exit_code == 0, listed.output
    assert code in listed.output
    refused = runner.invoke(
        app,
        [
            "open",
            "application",
            "refuse",
            code,
            "--reason",
            "材料不全",
            "--as",
            "scjg_steward",
            "--data-dir",
            data_dir,
        ],
    )
    assert refused.exit_code == 0, refused.output
    keys = runner.invoke(
        app, ["open", "key", "issue", "--name", "cli", "--user", "credit_corp", "--data-dir", data_dir]
    )
    assert keys.exit_code == 0 and "gok_" in keys.output
    with portal.store.session() as session:
        assert (
            session.scalar(sa.select(OpenApplication.state).where(OpenApplication.code == code)) == "refused"
        )
        assert developers.list_keys(session, get_user(session, "credit_corp"))


# --- the form in a browser ------------------------------------------------------------------------


@pytest.mark.browser
def test_application_form_in_a_browser(portal: Platform, live: str, enterprise: dict[str, str]) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1360, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{live}/login")
        page.get_by_label("用户名").fill("credit_corp")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.locator("header .user-name")).to_be_visible()

        page.goto(f"{live}/open/datasets/{CONDITIONAL}/apply")
        expect(page.locator(".open-apply-condition")).to_contain_text("开发者")  # the 开放条件
        expect(page.locator("#f-applicant_org")).to_have_value(
            "上海某某征信服务有限公司"
        )  # from registration
        expect(page.locator("input[name=fields][value=legal_rep_id_number]")).to_have_count(
            0
        )  # 重要: withheld
        assert "legal_rep_id_number" not in page.content()  # not even named (ADR 0009)
        expect(page.locator(".item-picker + .hint")).to_contain_text("不予开放")
        page.locator("#f-scenario").fill("企业信用评估")
        page.locator("#f-purpose").fill("核验贷款企业的登记状态")
        page.locator("#f-contact").fill("张经理")
        page.locator("#f-duration_days").fill("90")
        for name in REQUESTED:
            page.locator(f"input[name=fields][value={name}]").check()
        page.screenshot(path=str(ARTIFACTS / "open-apply-form.png"), full_page=True)
        page.get_by_role("button", name="提交申请").click()
        expect(page).to_have_url(re.compile(r"/open/applications/OA\d{6}$"), timeout=60_000)
        expect(page.locator(".open-apply-fields")).to_contain_text("reg_capital")
        expect(page.locator(".open-apply-docs a")).to_have_count(2)
        page.screenshot(path=str(ARTIFACTS / "open-apply-filed.png"), full_page=True)
        code = page.url.rsplit("/", 1)[1]

        reviewer = browser.new_context(viewport={"width": 1360, "height": 1000}, locale="zh-CN").new_page()
        reviewer.goto(f"{live}/login")
        reviewer.get_by_label("用户名").fill("scjg_steward")
        reviewer.get_by_label("密码").fill(DEMO_PASSWORD)
        reviewer.get_by_role("button", name="登录", exact=True).click()
        reviewer.goto(f"{live}/open/applications")
        expect(reviewer.locator(".open-apply-table").last).to_contain_text(code)
        reviewer.goto(f"{live}/open/applications/{code}")
        reviewer.locator(".open-apply-action-approve button").click()
        expect(reviewer.locator(".page-head")).to_contain_text("已通过")

        page.reload()
        page.locator(".open-apply-action-credential button").click()
        expect(page.locator(".open-apply-issued code")).to_contain_text("goc_")
        page.screenshot(path=str(ARTIFACTS / "open-apply-credential.png"), full_page=True)
        context.close()
