"""Showcases (应用展示) and requests / feedback (需求与反馈): moderation, the reply clock, pages and API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import ValidationError

from gongshu.demo import DEMO_PASSWORD
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.open import community
from gongshu.open.community import RequestCreate, ShowcaseCreate, Throttle
from gongshu.orgs import users
from gongshu.orgs.roles import Principal
from gongshu.platform import Platform
from gongshu.quality.calendar import load_calendar
from gongshu.security.models import AuditEvent
from gongshu.service import create_app
from gongshu.share.errors import QuotaExceeded
from gongshu.store.base import CITY_TIMEZONE
from tests.open.conftest import ADDRESSES, ENTERPRISES, NOT_OPEN
from tests.web.web_support import csrf_of, sign_in

ADDRESSES_NAME = ADDRESSES.replace("/", "-")


def principal(platform: Platform, username: str) -> Principal:
    with platform.store.session() as session:
        return users.principal_of(users.get_user(session, username))


def showcase_spec(**changes: object) -> ShowcaseCreate:
    document: dict[str, object] = {
        "title": "地址纠错小程序",
        "kind": "app",
        "description": "用标准地址信息帮助居民核对门牌地址。",
        "url": "https://example.org/address-app",
        "datasets": [ADDRESSES_NAME],
        "name": "张三",
    }
    return ShowcaseCreate.model_validate(document | changes)


def city_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), CITY_TIMEZONE).astimezone(UTC)


@pytest.fixture(scope="module")
def client(portal: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(portal)) as test_client:
        yield test_client


# --- showcases ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.org/x",
        "http://",
        "https://user:secret@example.org/",
        "https://exa mple.org/",
        "example.org/app",
        "data:text/html,<script>",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        showcase_spec(url=url)
    assert caught.value.errors()[0]["loc"] == ("url",)


def test_good_urls_are_kept() -> None:
    assert showcase_spec(url="http://example.org/a?b=1").url == "http://example.org/a?b=1"
    assert showcase_spec(url=None).url is None


def test_pending_is_invisible_until_approved(portal: Platform) -> None:
    admin = principal(portal, "admin")
    with portal.store.session() as session:
        showcase = community.submit_showcase(session, None, showcase_spec())
        ident = showcase.id
        assert showcase.state == "pending" and showcase.datasets == [ADDRESSES]
    with portal.store.session() as session:
        assert ident not in [s.id for s in community.list_showcases(session, None)]
        with pytest.raises(PermissionDenied):
            community.list_showcases(session, None, state="pending")
        with pytest.raises(PermissionDenied):
            community.moderate_showcase(session, principal(portal, "ghzy_steward"), ident, "approve")
        assert ident in [s.id for s in community.list_showcases(session, admin, state="pending")]
        community.moderate_showcase(session, admin, ident, "approve")
    with portal.store.session() as session:
        shown = {s.id: s for s in community.list_showcases(session, None)}
        assert ident in shown
        public = community.showcase_public(session, shown[ident], None)
        assert public.submitter == "张**" and public.datasets[0].title
        assert community.showcase_public(session, shown[ident], admin).submitter == "张三"
        with pytest.raises(Conflict):
            community.moderate_showcase(session, admin, ident, "reject", "too late")
        details = session.scalars(
            sa.select(AuditEvent.detail).where(AuditEvent.object_type == "open_showcase")
        ).all()
        assert details and all("张三" not in str(detail) for detail in details)


def test_rejection_needs_a_note(portal: Platform) -> None:
    admin = principal(portal, "admin")
    with portal.store.session() as session:
        ident = community.submit_showcase(session, None, showcase_spec(title="被驳回的应用")).id
    with portal.store.session() as session, pytest.raises(ValidationFailed) as caught:
        community.moderate_showcase(session, admin, ident, "reject", "  ")
    assert "note" in caught.value.problems
    with portal.store.session() as session:
        community.moderate_showcase(session, admin, ident, "reject", "与开放数据无关")
    with portal.store.session() as session:
        assert ident not in [s.id for s in community.list_showcases(session, None)]
        rejected = community.list_showcases(session, admin, state="rejected")
        assert [s.moderation_note for s in rejected if s.id == ident] == ["与开放数据无关"]


def test_datasets_must_be_open_and_anonymous_needs_a_name(portal: Platform) -> None:
    with portal.store.session() as session, pytest.raises(ValidationFailed) as caught:
        community.submit_showcase(session, None, showcase_spec(datasets=[NOT_OPEN, "nope-1"], name=None))
    assert set(caught.value.problems) == {"datasets", "name"}
    assert len(caught.value.problems["datasets"]) == 2


def test_anonymous_submissions_are_throttled(portal: Platform) -> None:
    throttle = Throttle(limit=2)
    with portal.store.session() as session:
        for _ in range(2):
            community.submit_showcase(session, None, showcase_spec(), client="10.0.0.9", throttle=throttle)
        with pytest.raises(QuotaExceeded) as caught:
            community.submit_showcase(session, None, showcase_spec(), client="10.0.0.9", throttle=throttle)
        assert caught.value.retry_after >= 1 and caught.value.http_status == 429
        community.submit_showcase(session, None, showcase_spec(), client="10.0.0.10", throttle=throttle)
        session.rollback()


# --- requests -----------------------------------------------------------------------------------


def test_requests_go_to_the_dataset_department_on_the_working_day_clock(portal: Platform) -> None:
    filed = date(2026, 9, 30)  # Wednesday before 国庆节 (10-01..10-07 off, Saturday 10-10 worked)
    spec = RequestCreate(
        kind="correction",
        title="门牌号有误",
        body="某路 12 号应为 12 弄。",
        dataset=ADDRESSES_NAME,
        name="李四",
    )
    with portal.store.session() as session:
        request = community.submit_request(session, None, spec, settings=portal.settings, today=filed)
        ident = request.id
        assert request.organisation is not None and request.organisation.code == "GHZY"
        assert request.due_on == date(2026, 10, 13)
        assert request.due_on == load_calendar().add_working_days(filed, portal.settings.open_reply_days)
    with portal.store.session() as session, pytest.raises(PermissionDenied):
        community.reply_request(session, principal(portal, "scjg_steward"), ident, "不是我们的数据")
    with portal.store.session() as session:
        answered = community.reply_request(
            session,
            principal(portal, "ghzy_steward"),
            ident,
            "已更正，谢谢。",
            at=city_noon(date(2026, 10, 9)),
        )
        public = community.request_public(answered, None, today=date(2026, 11, 1))
        assert public.response_days == 2  # 10-08 and 10-09: the holiday week does not count
        assert not public.overdue and public.submitter == "李**"
    with portal.store.session() as session, pytest.raises(Conflict):
        community.reply_request(session, principal(portal, "admin"), ident, "再答一次")


def test_late_and_unanswered_requests_are_overdue(portal: Platform) -> None:
    spec = RequestCreate(
        kind="request", title="希望开放公交线路数据", body="用于出行分析。", department="JT", name="王五"
    )
    with portal.store.session() as session:
        org_id = community.department_id(session, "JT")
        late = community.submit_request(
            session, None, spec, settings=portal.settings, today=date(2026, 9, 30)
        )
        waiting = community.submit_request(
            session, None, spec, settings=portal.settings, today=date(2026, 10, 12)
        )
        assert late.entry_id is None and late.organisation_id == org_id
        admin = principal(portal, "admin")
        community.reply_request(session, admin, late.id, "已纳入开放计划。", at=city_noon(date(2026, 10, 14)))
        public = community.request_public(late, None)
        assert public.response_days == 6 and public.overdue
        assert community.request_public(waiting, None, today=date(2026, 10, 19)).overdue is False
        assert community.request_public(waiting, None, today=date(2026, 10, 20)).overdue is True
        stats = {row.code: row for row in community.response_stats(session, today=date(2026, 10, 20))}
        assert stats["JT"].replied >= 1 and stats["JT"].open >= 1 and stats["JT"].overdue >= 2
        assert stats["JT"].median_days is not None


def test_request_addressing_is_validated(portal: Platform) -> None:
    cases = [
        ({"kind": "request"}, {"department"}),
        ({"kind": "correction", "department": "GHZY"}, {"dataset"}),
        ({"kind": "feedback", "dataset": NOT_OPEN}, {"dataset"}),
        ({"kind": "feedback", "dataset": ADDRESSES_NAME, "department": "SCJG"}, {"department"}),
        ({"kind": "feedback", "department": "NOPE"}, {"department"}),
        ({"kind": "feedback", "department": "GHZY", "name": None}, {"name"}),
    ]
    for changes, fields in cases:
        document = {"title": "标题", "body": "内容内容内容", "name": "赵六"} | changes
        with portal.store.session() as session, pytest.raises(ValidationFailed) as caught:
            community.submit_request(
                session, None, RequestCreate.model_validate(document), settings=portal.settings
            )
        assert set(caught.value.problems) == fields, changes


def test_private_requests_are_seen_by_their_department_only(portal: Platform) -> None:
    spec = RequestCreate(
        kind="feedback",
        title="内部意见",
        body="仅部门可见的意见。",
        dataset=ENTERPRISES,
        name="钱七",
        public=False,
    )
    with portal.store.session() as session:
        ident = community.submit_request(session, None, spec, settings=portal.settings).id
    with portal.store.session() as session:
        assert ident not in [r.id for r in community.list_requests(session, None)]
        assert ident not in [
            r.id for r in community.list_requests(session, principal(portal, "ghzy_steward"))
        ]
        assert ident in [r.id for r in community.list_requests(session, principal(portal, "scjg_steward"))]
        with pytest.raises(NotFound):
            community.get_request(session, None, ident)


# --- pages and API ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/open/showcases", "/open/requests"])
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_pages_render_in_both_languages(client: TestClient, path: str, lang: str) -> None:
    page = client.get(path, params={"lang": lang})
    assert page.status_code == 200, page.text
    heading = {"zh-CN": {"/open/showcases": "应用展示", "/open/requests": "需求与反馈"},
               "en": {"/open/showcases": "Showcases", "/open/requests": "Requests and feedback"}}  # fmt: skip
    assert heading[lang][path] in page.text
    assert client.get(path + ".json").status_code == 200


def test_showcase_form_moderation_and_gallery_through_the_pages(portal: Platform) -> None:
    with TestClient(create_app(portal)) as visitor:
        token = csrf_of(visitor, "/open/showcases")
        bad = visitor.post(
            "/open/showcases",
            data={
                "title": "坏链接",
                "kind": "app",
                "description": "一个链接不合法的应用。",
                "url": "javascript:x",
                "name": "孙八",
                "csrf_token": token,
            },
        )
        assert bad.status_code == 422 and "http" in bad.text
        sent = visitor.post(
            "/open/showcases.json",
            data={
                "title": "页面提交的可视化",
                "kind": "visualisation",
                "description": "全市地址分布热力图。",
                "url": "https://example.org/heat",
                "datasets": ADDRESSES_NAME,
                "name": "孙八",
                "csrf_token": token,
            },
        )
        assert sent.status_code == 200, sent.text
        ident = sent.json()["id"]
        assert sent.json()["submitter"] == "孙**"
        gallery = visitor.get("/open/showcases.json").json()
        assert ident not in [s["id"] for s in gallery["showcases"]] and gallery["queue"] is None
    with TestClient(create_app(portal)) as operator:
        sign_in(operator, "admin", DEMO_PASSWORD)
        queue = operator.get("/open/showcases.json").json()["queue"]
        assert ident in [s["id"] for s in queue]
        token = csrf_of(operator, "/open/showcases")
        refused = operator.post(f"/open/showcases/{ident}/reject", data={"note": "", "csrf_token": token})
        assert refused.status_code == 422
        done = operator.post(
            f"/open/showcases/{ident}/approve", data={"csrf_token": token}, follow_redirects=False
        )
        assert done.status_code == 303
    with TestClient(create_app(portal)) as visitor:
        assert "页面提交的可视化" in visitor.get("/open/showcases").text


def test_request_reply_through_the_pages(portal: Platform) -> None:
    with TestClient(create_app(portal)) as visitor:
        token = csrf_of(visitor, "/open/requests")
        sent = visitor.post(
            "/open/requests.json",
            data={"kind": "feedback", "title": "地址数据很好用", "body": "希望增加英文地址字段。",
                  "dataset": ADDRESSES_NAME, "name": "周九", "csrf_token": token},
        )  # fmt: skip
        assert sent.status_code == 200, sent.text
        ident = sent.json()["id"]
        listed = visitor.get("/open/requests.json").json()
        mine = [r for r in listed["requests"] if r["id"] == ident]
        assert mine and mine[0]["submitter"] == "周**" and "周九" not in visitor.get("/open/requests").text
        assert listed["to_reply"] is None
    with TestClient(create_app(portal)) as other:
        sign_in(other, "scjg_steward", DEMO_PASSWORD)
        token = csrf_of(other, "/open/requests")
        assert ident not in [r["id"] for r in other.get("/open/requests.json").json()["to_reply"]]
        denied = other.post(f"/open/requests/{ident}/reply", data={"reply": "不归我们", "csrf_token": token})
        assert denied.status_code == 403
    with TestClient(create_app(portal)) as steward:
        sign_in(steward, "ghzy_steward", DEMO_PASSWORD)
        assert ident in [r["id"] for r in steward.get("/open/requests.json").json()["to_reply"]]
        token = csrf_of(steward, "/open/requests")
        done = steward.post(
            f"/open/requests/{ident}/reply",
            data={"reply": "已列入下次更新。", "csrf_token": token},
            follow_redirects=False,
        )
        assert done.status_code == 303
        page = steward.get("/open/requests", params={"lang": "en"}).text
        assert "已列入下次更新。" in page and "working days" in page


def test_api_lists_and_accepts_submissions(portal: Platform) -> None:
    with TestClient(create_app(portal)) as api:
        sent = api.post(
            "/api/v1/open/requests",
            json={
                "kind": "request",
                "title": "开放停车场数据",
                "body": "停车场位置与泊位数。",
                "department": "JT",
                "name": "吴十",
            },
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["submitter"] == "吴**" and sent.json()["department"]["code"] == "JT"
        assert api.post("/api/v1/open/requests", json={"kind": "request", "title": "x"}).status_code == 422
        assert (
            api.post(f"/api/v1/open/requests/{sent.json()['id']}/reply", json={"reply": "好"}).status_code
            == 401
        )
        listed = api.get("/api/v1/open/requests", params={"department": "JT"}).json()
        assert sent.json()["id"] in [r["id"] for r in listed]
        assert api.get("/api/v1/open/showcases", params={"state": "pending"}).status_code == 403
        assert isinstance(api.get("/api/v1/open/requests/stats").json(), list)
        bad = api.post(
            "/api/v1/open/showcases",
            json={
                "title": "坏链接",
                "kind": "app",
                "description": "描述描述描述描述描述",
                "url": "ftp://x.org",
                "name": "郑",
            },
        )
        assert bad.status_code == 422 and "url" in bad.json()["error"]["problems"]
