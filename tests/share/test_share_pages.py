"""The sharing exchange's pages (共享交换): the hub, the demand form, review, grants, citizens' accesses.

They run on a private copy of the demo city (``share_platform``) through the real service; the demo's
accounts play the parts: 黄浦区 (``huangpu_user``) asks 市公安局 for 实有人口基本信息, its reviewer
(``ga_reviewer``) and the platform's operator (``admin``) approve, another department (``mz_steward``)
sees nothing of it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gongshu.city.ids import id_check_char
from gongshu.demo import DEMO_PASSWORD
from gongshu.platform import Platform
from gongshu.security.models import AuditEvent
from gongshu.service import create_app
from gongshu.share import citizens
from gongshu.share.calllog import CallRecord
from gongshu.share.exchange import call_log, subject_of
from gongshu.share.models import Grant
from gongshu.share.specs import DemandStatus
from gongshu.store.base import city_today
from gongshu.web import i18n
from tests.helpers import add_user
from tests.share.conftest import POPULATION, principal

TEMPLATES = Path(str(resources.files("gongshu.web").joinpath("templates/share")))
OURS = ("hub.html", "demand_form.html", "demand.html", "grant.html", "accesses.html", "parts.html")
#: Every action of a demand's timeline (``gongshu.share.demands``).
EVENTS = (
    "file",
    "auto_grant",
    "auto_refuse",
    "provider_approve",
    "provider_refuse",
    "platform_approve",
    "platform_refuse",
    "withdraw",
    "escalate",
)
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
PERSON = "110105194912310021"[:17]
PERSON += id_check_char(PERSON)
FIELDS = ["record_id", "id_number", "name", "district_code"]
DEMAND = {
    "entry": POPULATION,
    "scenario": "社区居民服务资格核验",
    "purpose": "为辖区居民办理社区服务时核验身份和户籍信息",
    "legal_basis": "《上海市公共数据管理办法》第二十条",
    "row_scope": "district",
    "method": "库表",
    "daily_quota": "5000",
    "rate_per_second": "20",
}


@pytest.fixture
def make_client(share_platform: Platform) -> Iterator[Any]:
    """Clients on the module's platform, signed in as a demo account (or a visitor)."""
    opened: list[TestClient] = []

    def build(username: str | None = None, password: str = DEMO_PASSWORD) -> TestClient:
        client = TestClient(create_app(share_platform))
        client.__enter__()
        opened.append(client)
        if username:
            token = csrf_of(client, "/login")
            signed = client.post(
                "/login",
                data={"username": username, "password": password, "csrf_token": token, "next": "/"},
                follow_redirects=False,
            )
            assert signed.status_code == 303, signed.text
        return client

    yield build
    for client in opened:
        client.__exit__(None, None, None)


def csrf_of(client: TestClient, path: str) -> str:
    match = CSRF.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post(client: TestClient, path: str, data: dict[str, Any], *, page: str = "/share", **kw: Any) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_of(client, page)}, **kw)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def file_demand(client: TestClient, **changes: Any) -> str:
    data = {**DEMAND, "fields": FIELDS, "period_end": str(city_today() + timedelta(days=365))}
    filed = post(client, "/share/demands/new", data | changes, follow_redirects=False)
    assert filed.status_code == 303, filed.text
    location: str = filed.headers["location"]
    assert location.startswith("/share/demands/XQ")
    return location.rsplit("/", 1)[1]


def test_the_demand_loop_through_the_pages(make_client: Any, share_platform: Platform) -> None:
    consumer, reviewer, operator = (
        make_client("huangpu_user"),
        make_client("ga_reviewer"),
        make_client("admin"),
    )

    hub = consumer.get("/share")
    assert hub.status_code == 200 and "共享交换" in hub.text and 'href="/share/demands/new"' in hub.text
    picker = consumer.get("/share/demands/new")
    assert f'<option value="{POPULATION}"' in picker.text and 'name="fields"' not in picker.text
    form = consumer.get(f"/share/demands/new?entry={POPULATION}")
    assert form.status_code == 200 and 'value="id_number"' in form.text and "公民身份号码" in form.text
    assert "有条件共享" in form.text

    # a validation error first: too short a scenario, no 信息项, conditions without a column
    wrong = post(
        consumer,
        "/share/demands/new",
        {
            **DEMAND,
            "scenario": "x",
            "period_end": "2001-01-01",
            "row_scope": "condition",
            "conditions": "sex_code",
        },
    )
    assert wrong.status_code == 422
    for field in ("scenario", "fields", "conditions"):
        assert f'id="{field}-error"' in wrong.text, field
    assert DEMAND["purpose"] in wrong.text  # the values sent are shown again
    twin = post(
        consumer,
        "/share/demands/new.json",
        {**DEMAND, "fields": ["no_such_item"], "period_end": "2099-01-01"},
    )
    assert twin.status_code == 422 and "fields" in twin.json()["error"]["problems"]

    code = file_demand(consumer)
    page = consumer.get(f"/share/demands/{code}")
    text = text_of(page.text)
    assert page.status_code == 200 and "待提供方审核" in text and "提交需求" in text
    assert "本区数据（属地）" in text and "上海市公安局" in text and "上海市黄浦区大数据中心" in text
    assert f'action="/share/demands/{code}/withdraw"' in page.text
    assert f'action="/share/demands/{code}/approve"' not in page.text
    data = consumer.get(f"/share/demands/{code}.json").json()
    assert data["demand"]["code"] == code and data["demand"]["status"] == "provider_review"
    assert data["demand"]["fields"] == FIELDS and data["actions"] == ["withdraw"]
    assert [e["action"] for e in data["demand"]["events"]] == ["file"]
    assert data["demand"]["provider_due"] is not None and data["demand"]["overdue"] is False

    review = reviewer.get("/share")
    assert f"/share/demands/{code}" in review.text
    assert code in [d["code"] for d in reviewer.get("/share.json").json()["to_review"]]
    assert reviewer.get(f"/share/demands/{code}.json").json()["actions"] == ["approve", "refuse"]
    refused = post(reviewer, f"/share/demands/{code}/refuse", {"reason": " "}, page=f"/share/demands/{code}")
    assert refused.status_code == 422 and 'id="reason-error"' in refused.text
    approved = post(
        reviewer, f"/share/demands/{code}/approve", {"reason": "同意，限本区"}, follow_redirects=False
    )
    assert approved.status_code == 303 and approved.headers["location"] == f"/share/demands/{code}"
    again = post(reviewer, f"/share/demands/{code}/approve", {"reason": ""})
    assert again.status_code == 403  # now the platform's review

    assert code in [d["code"] for d in operator.get("/share.json").json()["platform_review"]]
    granted = post(operator, f"/share/demands/{code}/approve.json", {"reason": "同意"})
    assert granted.status_code == 200 and granted.json()["status"] == DemandStatus.GRANTED
    grant = granted.json()["grant"]
    assert grant and grant.startswith("SQ")
    done = consumer.get(f"/share/demands/{code}")
    assert f'href="/share/grants/{grant}"' in done.text and "平台同意，授权生效" in done.text
    events = [e["action"] for e in consumer.get(f"/share/demands/{code}.json").json()["demand"]["events"]]
    assert events == ["file", "provider_approve", "platform_approve"]

    _grant_page(consumer, reviewer, share_platform, grant)

    stranger = make_client("mz_steward")
    assert stranger.get(f"/share/demands/{code}").status_code == 404
    assert stranger.get(f"/share/grants/{grant}.json").status_code == 404
    assert post(stranger, f"/share/grants/{grant}/revoke", {"reason": "x"}).status_code == 404
    assert code not in stranger.get("/share").text


def _grant_page(consumer: TestClient, reviewer: TestClient, platform: Platform, grant: str) -> None:
    with platform.store.session() as session:
        scenario = session.scalars(sa.select(Grant.scenario).where(Grant.code == grant)).one()
    log = call_log(platform)
    for result, status in (("ok", 200), ("ok", 200), ("rate_limited", 429)):
        log.append(_call(grant, scenario, result, status))

    page = consumer.get(f"/share/grants/{grant}")
    text = text_of(page.text)
    assert page.status_code == 200 and "有效" in text and "社区居民服务资格核验" in text
    assert f"/api/v1/share/grants/{grant}/query" in page.text and "gsk_…" in page.text
    assert f"/api/v1/share/grants/{grant}/verify" not in page.text  # 库表 opens query, not verify
    assert "调用过于频繁" in text and "脱敏" in text
    assert 'action="/share/grants/' not in page.text  # the consumer does not manage it
    data = consumer.get(f"/share/grants/{grant}.json").json()
    assert data["grant"]["state"] == "active" and data["actions"] == []
    assert [i["name"] for i in data["items"]] == FIELDS
    masked = {i["name"]: i["masked"] for i in data["items"]}
    assert masked["id_number"] is True and masked["record_id"] is False
    assert [c["result"] for c in data["calls"]] == ["rate_limited", "ok", "ok"]
    today = {u["api"]: u for u in data["usage"] if u["day"] == city_today().isoformat()}
    assert today["query"] == {
        "day": city_today().isoformat(),
        "api": "query",
        "calls": 3,
        "served": 2,
        "refused": 1,
    }

    assert reviewer.get(f"/share/grants/{grant}.json").json()["actions"] == ["suspend", "revoke"]
    missing = post(reviewer, f"/share/grants/{grant}/suspend", {"reason": ""}, page=f"/share/grants/{grant}")
    assert missing.status_code == 422 and 'id="reason-error"' in missing.text
    suspended = post(
        reviewer, f"/share/grants/{grant}/suspend", {"reason": "核查调用异常"}, follow_redirects=False
    )
    assert suspended.status_code == 303 and suspended.headers["location"] == f"/share/grants/{grant}"
    after = consumer.get(f"/share/grants/{grant}")
    assert "暂停" in after.text and "核查调用异常" in after.text
    assert consumer.get(f"/share/grants/{grant}.json").json()["grant"]["state"] == "suspended"
    assert reviewer.get(f"/share/grants/{grant}.json").json()["actions"] == ["resume", "revoke"]
    held = consumer.get("/share.json").json()["grants_held"]
    assert {g["code"]: g["state"] for g in held}[grant] == "suspended"
    assert post(consumer, f"/share/grants/{grant}/resume", {}).status_code == 403


def _call(grant: str, scenario: str, result: str, status: int) -> CallRecord:
    return CallRecord(
        at=datetime.now(UTC),
        request_id=uuid.uuid4().hex,
        actor="token:7",
        consumer="D310101",
        grant=grant,
        scenario=scenario,
        resource=POPULATION,
        api="query",
        fields=("id_number", "name"),
        rows=3 if status == 200 else 0,
        result=result,
        status=status,
        latency_us=1200,
        subjects=(),
    )


def test_a_consumer_withdraws_and_conflicts_show_on_the_page(make_client: Any) -> None:
    consumer = make_client("huangpu_user")
    code = file_demand(consumer, scenario="社区养老服务对象核验")
    withdrawn = post(consumer, f"/share/demands/{code}/withdraw", {}, follow_redirects=False)
    assert withdrawn.status_code == 303
    page = consumer.get(f"/share/demands/{code}")
    assert "已撤回" in page.text and "用数部门撤回" in page.text
    assert consumer.get(f"/share/demands/{code}.json").json()["actions"] == []
    again = post(consumer, f"/share/demands/{code}/withdraw", {})
    assert again.status_code == 409 and "only demands under review are withdrawn" in again.text
    assert post(consumer, f"/share/demands/{code}/withdraw.json", {}).status_code == 409


def test_who_may_see_the_pages(make_client: Any, share_platform: Platform) -> None:
    visitor = make_client(None)
    for path in ("/share", "/share/demands/new", "/me/accesses", "/share/accesses"):
        moved = visitor.get(path, follow_redirects=False)
        assert moved.status_code == 303 and moved.headers["location"].startswith("/login"), path
        assert visitor.get(path + ".json").status_code == 401
    reviewer = make_client("ga_reviewer")
    assert reviewer.get("/share/demands/new").status_code == 403  # reviewers do not file demands
    assert reviewer.get("/share/accesses").status_code == 403
    assert reviewer.get("/me/accesses").status_code == 403
    assert reviewer.get("/share/demands/XQ999999").status_code == 404
    assert make_client("huangpu_user").get("/share/demands/new?entry=999/999").status_code == 404
    english = make_client("admin").get("/share?lang=en").text
    assert "Data sharing exchange" in english and "Awaiting platform review" in english


def test_the_hubs_twin_holds_what_the_page_lists(make_client: Any) -> None:
    operator = make_client("admin")
    page, twin = operator.get("/share").text, operator.get("/share.json").json()
    assert set(twin) >= {
        "my_demands",
        "to_review",
        "platform_review",
        "overdue",
        "grants_held",
        "grants_given",
    }
    listed = set(re.findall(r'href="/share/(?:demands|grants)/((?:XQ|SQ)\d+)"', page))
    in_twin = {
        d["code"] for key in ("my_demands", "to_review", "platform_review", "overdue") for d in twin[key]
    }
    in_twin |= {g["code"] for key in ("grants_held", "grants_given") for g in twin[key]}
    assert listed == in_twin


def test_a_citizen_sees_who_used_their_data(make_client: Any, share_platform: Platform) -> None:
    settings = share_platform.settings
    with share_platform.store.session() as session:
        add_user(session, "citizen_page_t", org=None, roles=["citizen"])
        add_user(session, "citizen_page_unbound_t", org=None, roles=["citizen"])
    with share_platform.store.session() as session:
        citizens.bind_identity(
            session, principal(share_platform, "admin"), "citizen_page_t", PERSON, settings=settings
        )
    subject = subject_of(settings, PERSON)
    log = call_log(share_platform)
    served = log.append(_access(subject, "verify", "match", 200))
    log.append(_access(subject, "verify", "grant_frozen", 403))

    citizen = make_client("citizen_page_t", password="correct-horse-battery")
    page = citizen.get("/me/accesses")
    text = text_of(page.text)
    assert page.status_code == 200 and "我的数据被谁用了" in text
    for shown in (
        "上海市黄浦区大数据中心",
        "社区居民服务资格核验",
        "实有人口基本信息",
        "核验",
        "姓名",
        "公民身份号码",
    ):
        assert shown in text, shown
    twin = citizen.get("/me/accesses.json").json()
    assert twin["bound"] is True and [a["seq"] for a in twin["accesses"]] == [served]
    assert twin["accesses"][0]["field_labels"] == ["公民身份号码", "姓名"]
    assert citizen.get("/share").status_code == 403  # not a government user

    unbound = make_client("citizen_page_unbound_t", password="correct-horse-battery")
    assert "尚未完成实名核验" in unbound.get("/me/accesses").text
    assert unbound.get("/me/accesses.json").json() == {"mode": "citizen", "bound": False, "accesses": []}

    security = make_client("security")
    assert 'name="id_number"' in security.get("/share/accesses").text
    found = post(security, "/share/accesses", {"id_number": PERSON.lower()}, page="/share/accesses")
    assert found.status_code == 200 and "上海市黄浦区大数据中心" in found.text
    assert PERSON not in found.text and PERSON.lower() not in found.text and PERSON[:6] in found.text
    assert str(found.url).endswith("/share/accesses")  # the number travels in the body only
    looked = post(security, "/share/accesses.json", {"id_number": PERSON}, page="/share/accesses").json()
    assert [a["seq"] for a in looked["accesses"]] == [served] and looked["accesses"] == twin["accesses"]
    bad = post(security, "/share/accesses", {"id_number": PERSON[:17]}, page="/share/accesses")
    assert bad.status_code == 422 and 'id="id_number-error"' in bad.text
    with share_platform.store.session() as session:
        lookups = session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == "share.citizen.lookup", AuditEvent.actor == "user:security"
            )
        ).all()
    assert len(lookups) == 2 and all(e.detail == {"subject": subject[:8]} for e in lookups)
    assert make_client("huangpu_user").get("/share/accesses").status_code == 403


def _access(subject: str, api: str, result: str, status: int) -> CallRecord:
    return CallRecord(
        at=datetime.now(UTC),
        request_id=uuid.uuid4().hex,
        actor="token:9",
        consumer="D310101",
        grant="SQ999998",
        scenario="社区居民服务资格核验",
        resource=POPULATION,
        api=api,
        fields=("id_number", "name"),
        rows=1,
        result=result,
        status=status,
        latency_us=700,
        subjects=(subject,),
    )


def test_every_message_the_pages_use_exists_in_both_languages() -> None:
    dynamic = {
        "share.status_": [s.value for s in DemandStatus],
        "share.state_": ["active", "suspended", "revoked", "expired", "frozen", "not_yet_valid"],
        "share.event_": list(EVENTS),
        "share.action_": ["approve", "refuse", "withdraw", "suspend", "resume", "revoke"],
        "share.api_": ["verify", "query", "landing", "sql", "return"],
        "share.scope_": ["all", "district", "condition"],
    }
    used: set[str] = set()
    for name in OURS:
        text = (TEMPLATES / name).read_text("utf-8")
        for key in re.findall(r"\bt\('([^']+)'", text):
            if key in dynamic:
                used.update(key + value for value in dynamic[key])
            else:
                used.add(key)
    for lang in i18n.LANGUAGES:
        assert used - set(i18n.catalogue(lang)) == set(), lang
