"""Seed data and helpers of the page tests (a module, not conftest, so tests can import it)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from gongshu.catalogue import entries
from gongshu.orgs import organisations
from gongshu.orgs.roles import SYSTEM, Principal
from gongshu.orgs.schemas import OrganisationCreate, UserCreate
from gongshu.orgs.users import create_user, principal_of
from gongshu.platform import Platform

PASSWORD = "correct-horse-battery"
POPULATION = "301001001/000001"
VEHICLES = "301001001/000002"
COMPANIES = "302001001/000001"
INSURANCE = "303001001/000001"
PUDONG = "301002001/000001"

ORGS = [
    OrganisationCreate(code="BDC", name="上海市大数据中心", name_en="Big Data Center", kind="center"),
    OrganisationCreate(code="GA", name="上海市公安局", name_en="Public Security Bureau"),
    OrganisationCreate(code="RS", name="上海市人力资源和社会保障局", name_en="Human Resources Bureau"),
    OrganisationCreate(code="SCJ", name="上海市市场监督管理局", name_en="Market Regulation"),
    OrganisationCreate(
        code="PD", name="浦东新区人民政府", name_en="Pudong Government", kind="district", division="310115"
    ),
]
USERS = [
    UserCreate(
        username="admin", display_name="王运营", password=PASSWORD, organisation="BDC", roles=["operator"]
    ),
    UserCreate(
        username="steward", display_name="李管理", password=PASSWORD, organisation="GA", roles=["steward"]
    ),
    UserCreate(
        username="reader", display_name="张用数", password=PASSWORD, organisation="RS", roles=["consumer"]
    ),
    UserCreate(username="dev", display_name="赵开发", password=PASSWORD, roles=["developer"]),
]


def _item(
    name: str, label: str, element: str, type_: str = "C", length: int | None = 50, grade: str = "一般"
):
    return {"name": name, "label": label, "type": type_, "length": length, "element": element, "grade": grade}


ENTRIES: list[dict[str, Any]] = [
    {
        "code": POPULATION,
        "name": "实有人口基本信息",
        "provider": "GA",
        "summary": "全市实有人口的身份、户籍和居住信息，用于人口管理和公共服务。",
        "format": "数据库",
        "share_type": "有条件共享",
        "share_condition": "仅用于经批准的政务服务应用场景",
        "share_methods": ["接口", "库表"],
        "open_type": "不予开放",
        "open_basis": "涉及个人信息，依据《个人信息保护法》不予开放",
        "update_cycle": "每日",
        "related_codes": [VEHICLES],
        "tags": ["人口", "户籍"],
        "items": [
            _item("id_number", "公民身份号码", "DE0101", length=18, grade="核心"),
            _item("name", "姓名", "DE0102", grade="重要"),
            _item("birth_date", "出生日期", "DE0104", type_="D", length=8),
        ],
    },
    {
        "code": VEHICLES,
        "name": "机动车登记信息",
        "provider": "GA",
        "summary": "机动车号牌、车辆识别代号和初次登记日期。",
        "format": "电子表格",
        "share_type": "无条件共享",
        "share_methods": ["文件"],
        "open_type": "有条件开放",
        "open_condition": "经申请批准后开放统计口径数据",
        "update_cycle": "每月",
        "tags": ["车辆"],
        "items": [
            _item("plate", "机动车号牌号码", "DE0401", length=10),
            _item("vin", "车辆识别代号", "DE0402", length=17, grade="重要"),
        ],
    },
    {
        "code": COMPANIES,
        "name": "法人登记信息",
        "provider": "SCJ",
        "summary": "企业法人的统一社会信用代码、名称和成立日期。",
        "format": "数据库",
        "share_type": "无条件共享",
        "share_methods": ["接口"],
        "open_type": "无条件开放",
        "update_cycle": "每日",
        "tags": ["法人", "企业"],
        "items": [
            _item("uscc", "统一社会信用代码", "DE0201", length=18),
            _item("org_name", "单位名称", "DE0202", length=200),
        ],
    },
    {
        "code": INSURANCE,
        "name": "社会保险参保信息",
        "provider": "RS",
        "summary": "参保人员的险种和缴费基数。",
        "format": "数据库",
        "share_type": "有条件共享",
        "share_condition": "用于社保核验",
        "share_methods": ["接口"],
        "open_type": "不予开放",
        "open_basis": "涉及个人信息",
        "update_cycle": "每月",
        "items": [_item("insurance_type", "参保险种", "DE0601", length=3)],
    },
    {
        "code": PUDONG,
        "name": "浦东新区户籍人口统计",
        "provider": "PD",
        "summary": "浦东新区各街镇户籍人口的季度统计。",
        "format": "电子表格",
        "share_type": "无条件共享",
        "share_methods": ["文件"],
        "open_type": "无条件开放",
        "update_cycle": "每季度",
        "tags": ["人口"],
        "items": [_item("division", "行政区划代码", "DE0302", length=6)],
    },
]
#: How far each entry goes through its lifecycle.
STEPS = {POPULATION: ["submit", "publish"], VEHICLES: ["submit", "publish"], COMPANIES: ["submit", "publish"]}
STEPS[INSURANCE] = ["submit"]


def seed(platform: Platform) -> None:
    with platform.store.new_session() as session:
        for org in ORGS:
            organisations.create_organisation(session, SYSTEM, org)
        for user in USERS:
            create_user(session, SYSTEM, user)
        operator: Principal = principal_of(session.scalars(_user("admin")).one())
        for document in ENTRIES:
            entries.create_entry(session, operator, entries.parse_spec(document))
            for action in STEPS.get(document["code"], []):
                entries.transition(session, operator, document["code"], action)
        session.commit()


def _user(username: str) -> Any:
    import sqlalchemy as sa

    from gongshu.orgs.models import User

    return sa.select(User).where(User.username == username)


CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page's form."""
    match = CSRF.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client
