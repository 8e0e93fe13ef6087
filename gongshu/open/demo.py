"""The demo city's open-data story, end to end, through the portal's real routes and library calls.

1. every open dataset with data is published (downloads and the datastore), and overdue datasets are
   raised to their departments (更新及时性);
2. a developer (``kaifazhe``) registers, gets an API key and calls the CKAN Action API with it:
   ``package_search``, ``datastore_search`` with a filter, and the CSV dump;
3. an enterprise (``qiye``, 上海数智征信科技有限公司) applies for 市场主体登记信息 (有条件开放) with
   four 信息项; the security pledge and data-use agreement are printed; 市场监管局's steward
   (``scjg_steward``) approves; the enterprise collects its scoped credential and reads the approved
   信息项 — and is refused on another dataset;
4. the developer's showcase is approved by the platform (``admin``), and a citizen's data request to
   交通委 is answered by its steward.

The HTTP calls go through the service's application in process (the same routes a client reaches on
127.0.0.1). Idempotent: a second run reuses the accounts and adds one more round of calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from gongshu.open import applications, community, developers
from gongshu.open.freshness import sweep_freshness
from gongshu.open.models import OpenApplication, OpenRequest, OpenShowcase
from gongshu.open.publish import publish_all
from gongshu.orgs import users
from gongshu.orgs.models import User
from gongshu.orgs.roles import Principal
from gongshu.orgs.uscc import uscc_check_char
from gongshu.platform import Platform

DEVELOPER, ENTERPRISE, REVIEWER, OPERATOR = "kaifazhe", "qiye", "scjg_steward", "admin"
ADDRESSES, ENTERPRISES = "103001001-000001", "102001001-000001"
ENTERPRISE_NAME = "上海数智征信科技有限公司"
ENTERPRISE_FIELDS = ["uscc", "ent_name", "reg_capital", "establish_date"]
Progress = Callable[[str], None]


@dataclass
class OpenSummary:
    datasets: int = 0
    published: int = 0
    published_rows: int = 0
    overdue: int = 0
    key_prefix: str = ""
    calls: dict[str, Any] = field(default_factory=dict)
    application: str = ""
    credential_rows: int = 0
    credential_fields: list[str] = field(default_factory=list)
    refused_elsewhere: int = 0
    showcases: int = 0
    requests_answered: int = 0


def open_demo(platform: Platform, *, password: str, progress: Progress | None = None) -> OpenSummary:
    """Run the open-data story (see the module docstring) and summarise it."""
    say = progress or (lambda _m: None)
    summary = OpenSummary()
    results = publish_all(platform)
    summary.published = sum(1 for _, publication in results if publication is not None)
    summary.published_rows = sum(p.rows for _, p in results if p is not None)
    summary.overdue = sweep_freshness(platform).overdue
    say(f"  published 发布: {summary.published} datasets, {summary.published_rows:,} rows")
    developer = _account(platform, DEVELOPER, "开发者小李", password, None)
    enterprise = _account(platform, ENTERPRISE, "数智征信", password, ENTERPRISE_NAME)
    with platform.store.session() as session:
        key, secret = developers.issue_key(session, developer, "演示应用", settings=platform.settings)
        summary.key_prefix = key.display_prefix
    from gongshu.service import create_app

    with TestClient(create_app(platform), base_url="http://127.0.0.1:8000") as client:
        summary.calls = _developer_calls(client, secret)
        summary.datasets = int(summary.calls.get("datasets", 0))
        say(f"  developer 开发者 {DEVELOPER}: {summary.calls}")
        code, credential = _application(platform, enterprise)
        summary.application = code
        rows, fields, refused = _credential_calls(client, credential)
        summary.credential_rows, summary.credential_fields, summary.refused_elsewhere = rows, fields, refused
        say(f"  conditional open 有条件开放 {code}: {rows} rows of {', '.join(fields)}; elsewhere {refused}")
    summary.showcases, summary.requests_answered = _community(platform, developer)
    return summary


def _account(platform: Platform, username: str, display: str, password: str, org: str | None) -> Principal:
    with platform.store.session() as session:
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            registration: dict[str, Any] = {
                "username": username,
                "display_name": display,
                "password": password,
            }
            if org is not None:
                first17 = "91310000" + "MA1FL8X2" + "0"
                registration |= {"organisation_name": org, "uscc": first17 + uscc_check_char(first17)}
            user = developers.register_developer(session, registration)
        return users.principal_of(user)


def _ckan(client: TestClient, action: str, secret: str, **params: Any) -> dict[str, Any]:
    query = {
        k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for k, v in params.items()
    }
    response = client.get(f"/api/3/action/{action}", params=query, headers={"Authorization": secret})
    body: dict[str, Any] = response.json()
    return body


def _developer_calls(client: TestClient, secret: str) -> dict[str, Any]:
    status = _ckan(client, "status_show", secret)
    listing = _ckan(client, "package_list", secret)
    search = _ckan(client, "package_search", secret, q="地址", **{"facet.field": ["organization", "groups"]})
    rows = _ckan(
        client,
        "datastore_search",
        secret,
        resource_id=f"{ADDRESSES}-csv",
        limit=5,
        filters={"district_code": "310101"},
    )
    dump = client.get(f"/datastore/dump/{ADDRESSES}-csv", headers={"Authorization": secret})
    return {
        "ckan": status.get("result", {}).get("ckan_version", "?"),
        "datasets": len(listing.get("result", [])),
        "search 地址": search.get("result", {}).get("count", 0)
        if search.get("success")
        else search.get("error"),
        "datastore 310101": rows.get("result", {}).get("total", 0)
        if rows.get("success")
        else rows.get("error"),
        "dump bytes": len(dump.content) if dump.status_code == 200 else dump.status_code,
    }


def _application(platform: Platform, enterprise: Principal) -> tuple[str, str]:
    """File (once), approve and collect the enterprise's credential; its code and secret."""
    settings = platform.settings
    with platform.store.session() as session:
        existing = session.scalar(
            sa.select(OpenApplication).where(OpenApplication.applicant_id == enterprise.user_id)
        )
        if existing is None:
            existing = applications.file_application(
                session,
                enterprise,
                {
                    "dataset": ENTERPRISES,
                    "applicant_org": ENTERPRISE_NAME,
                    "applicant_uscc": developers.developer_profile(
                        session,
                        session.get(User, enterprise.user_id),  # type: ignore[arg-type]
                    ).get("uscc"),
                    "contact": "王经理",
                    "purpose": "为本市中小企业提供信用评估，核验企业登记状态与注册资本",
                    "scenario": "企业信用评估",
                    "fields": ENTERPRISE_FIELDS,
                    "duration_days": 180,
                },
                settings=settings,
            )
        code, state = existing.code, existing.state
    if state == applications.SUBMITTED:
        with platform.store.session() as session:
            reviewer = users.principal_of(users.get_user(session, REVIEWER))
            applications.approve(session, reviewer, code, note="用途明确，同意开放所申请信息项")
    with platform.store.session() as session:
        _, secret = applications.collect_credential(session, enterprise, code, settings=settings)
    return code, secret


def _credential_calls(client: TestClient, credential: str) -> tuple[int, list[str], int]:
    mine = _ckan(client, "datastore_search", credential, resource_id=f"{ENTERPRISES}-csv", limit=10)
    elsewhere = client.get(
        "/api/3/action/datastore_search",
        params={"resource_id": f"{ADDRESSES}-csv", "limit": 1},
        headers={"Authorization": credential},
    )
    if not mine.get("success"):
        return 0, [], elsewhere.status_code
    result = mine["result"]
    fields = [f["id"] for f in result["fields"] if f["id"] != "_id"]
    return int(result.get("total", 0)), fields, elsewhere.status_code


def _community(platform: Platform, developer: Principal) -> tuple[int, int]:
    """A showcase approved by the platform and a data request answered by 交通委 (once)."""
    with platform.store.session() as session:
        operator = users.principal_of(users.get_user(session, OPERATOR))
        if (
            session.scalar(sa.select(OpenShowcase.id).where(OpenShowcase.submitter_id == developer.user_id))
            is None
        ):
            showcase = community.submit_showcase(
                session,
                developer,
                community.ShowcaseCreate(
                    title="沪上地址通",
                    kind=community.ShowcaseKind("app"),
                    description="基于标准地址信息的地址纠错与门牌查询小程序，帮助市民规范填写地址。",
                    url="https://example.org/dizhitong",
                    datasets=[ADDRESSES],
                ),
            )
            community.moderate_showcase(session, operator, showcase.id, "approve")
        if (
            session.scalar(sa.select(OpenRequest.id).where(OpenRequest.submitter_id == developer.user_id))
            is None
        ):
            request = community.submit_request(
                session,
                developer,
                community.RequestCreate(
                    kind=community.RequestKind("request"),
                    title="希望开放公交线路实时到站数据",
                    body="目前公交线路和站点数据按周更新，希望增加实时到站信息，方便开发出行类应用。",
                    department="JT",
                ),
                settings=platform.settings,
            )
            steward = users.principal_of(users.get_user(session, "jt_steward"))
            community.reply_request(
                session, steward, request.id, "感谢建议。实时到站数据已列入明年开放计划，届时将在本平台发布。"
            )
        showcases = session.scalar(
            sa.select(sa.func.count(OpenShowcase.id)).where(OpenShowcase.state == "approved")
        )
        answered = session.scalar(
            sa.select(sa.func.count(OpenRequest.id)).where(OpenRequest.state == "replied")
        )
    return int(showcases or 0), int(answered or 0)
