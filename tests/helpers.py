"""Small builders shared by tests: organisations, users and catalogue entries through the library."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from gongshu.orgs import organisations, users
from gongshu.orgs.roles import SYSTEM, Principal
from gongshu.orgs.schemas import OrganisationCreate, UserCreate

PASSWORD = "correct-horse-battery"

ENTRY: dict[str, Any] = {
    "code": "301001001/000001",
    "name": "实有人口基本信息",
    "provider": "GA",
    "summary": "本市实有人口的基本身份信息，包括姓名、性别、出生日期和户籍地址。",
    "format": "数据库",
    "format_detail": "PostgreSQL",
    "share_type": "有条件共享",
    "share_condition": "仅限政务服务事项办理使用",
    "share_methods": ["接口", "库表"],
    "open_type": "不予开放",
    "open_basis": "涉及个人信息，依据《个人信息保护法》不予开放",
    "update_cycle": "每日",
    "tags": ["人口", "户籍"],
    "items": [
        {
            "name": "id_number",
            "label": "公民身份号码",
            "type": "C",
            "length": 18,
            "element": "DE0101",
            "grade": "重要",
        },
        {"name": "name", "label": "姓名", "type": "C", "length": 50, "element": "DE0102", "grade": "重要"},
        {"name": "sex", "label": "性别代码", "type": "C", "length": 1, "element": "DE0103", "grade": "一般"},
        {
            "name": "birth_date",
            "label": "出生日期",
            "type": "D",
            "length": 8,
            "element": "DE0104",
            "grade": "重要",
        },
    ],
}


def entry_doc(**changes: Any) -> dict[str, Any]:
    """A valid entry document with ``changes`` applied."""
    document = copy.deepcopy(ENTRY)
    document.update(changes)
    return document


def add_org(session: Session, code: str, name: str, **extra: Any) -> None:
    organisations.create_organisation(session, SYSTEM, OrganisationCreate(code=code, name=name, **extra))


def add_user(session: Session, username: str, *, org: str | None, roles: list[str]) -> Principal:
    user = users.create_user(
        session,
        SYSTEM,
        UserCreate(
            username=username, display_name=username, password=PASSWORD, organisation=org, roles=roles
        ),
    )
    return users.principal_of(user)


def seed_basics(session: Session) -> dict[str, Principal]:
    """Two departments, a district office, and one user of each kind that tests need."""
    add_org(session, "DSJ", "上海市大数据中心", kind="center", uscc="12310000MB2F035286")
    add_org(session, "GA", "上海市公安局", uscc="11310000002421143L")
    add_org(session, "MZ", "上海市民政局")
    add_org(session, "D310115", "浦东新区大数据中心", kind="district", division="310115")
    session.flush()
    return {
        "operator": add_user(session, "admin", org="DSJ", roles=["operator"]),
        "ga_steward": add_user(session, "ga_steward", org="GA", roles=["steward"]),
        "mz_steward": add_user(session, "mz_steward", org="MZ", roles=["steward"]),
        "consumer": add_user(session, "pd_user", org="D310115", roles=["consumer"]),
        "citizen": add_user(session, "citizen1", org=None, roles=["citizen"]),
    }
