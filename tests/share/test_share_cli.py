"""`gongshu share …`: the demand flow, grants and citizens' lookups from a shell, acting ``--as`` users."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from gongshu.cli import output
from gongshu.cli.main import app
from gongshu.cli.output import city_time
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs import users
from gongshu.orgs.models import User
from gongshu.orgs.roles import SYSTEM, Role
from gongshu.orgs.schemas import UserCreate, UserUpdate
from gongshu.platform import Platform
from gongshu.store.base import city_today
from tests.share.conftest import ENTERPRISES, POPULATION, ensure_user, people

NOT_SHARED = "320115003/000001"
CONSUMER = "d310101_consumer_t"
REVIEWER = "ga_reviewer_t"


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps tables at the test runner's 80 columns; widen so cells stay on one line."""
    monkeypatch.setattr(output.console, "width", 240)


@pytest.fixture(scope="module")
def platform(share_platform: Platform) -> Platform:
    ensure_user(share_platform, CONSUMER, "D310101", [Role.CONSUMER])
    ensure_user(share_platform, REVIEWER, "GA", [Role.REVIEWER])
    ensure_user(share_platform, "d310115_consumer_t", "D310115", [Role.CONSUMER])
    ensure_user(share_platform, "d310101_reviewer_t", "D310101", [Role.REVIEWER])
    ensure_user(share_platform, "mz_consumer_t", "MZ", [Role.CONSUMER])
    ensure_user(share_platform, "retired_t", "D310101", [Role.CONSUMER])
    with share_platform.store.session() as session:
        if session.scalar(sa.select(User).where(User.username == "citizen_t")) is None:
            users.create_user(
                session, SYSTEM, UserCreate(username="citizen_t", display_name="市民", roles=["citizen"])
            )
        users.update_user(session, SYSTEM, "retired_t", UserUpdate(active=False))
    share_platform.settings.resolve_secret()  # the demo's secret file, read by the CLI's own settings
    return share_platform


def run(platform: Platform, *args: str, refused: type[Exception] | None = None) -> str:
    result = CliRunner().invoke(app, ["share", *args, "--data-dir", str(platform.settings.data_dir)])
    if refused is not None:  # ``gongshu`` (cli.main.run) prints it and exits with its code
        assert isinstance(result.exception, refused), (result.exception, result.output)
    else:
        assert result.exit_code == 0, (result.exception, result.output)
    return result.output


def as_json(platform: Platform, *args: str) -> Any:
    return json.loads(run(platform, *args, "--json"))


def file_args(
    *changes: str, entry: str = POPULATION, fields: str = "id_number,name,district_code"
) -> list[str]:
    until = (city_today() + timedelta(days=90)).isoformat()
    return [
        "demand", "file", "--entry", entry, "--scenario", "社区事务受理",
        "--purpose", "为辖区居民办理社区事务核验身份",
        "--basis", "《上海市公共数据管理办法》第二十条",
        "--fields", fields, "--until", until, *changes,
    ]  # fmt: skip


def test_a_demand_from_filing_to_grant(platform: Platform) -> None:
    filed = as_json(platform, *file_args("--scope", "district", "--method", "接口", "--as", CONSUMER))
    code = filed["code"]
    assert filed["status"] == "provider_review" and filed["consumer"] == "D310101"
    assert filed["district_code"] == "310101" and filed["created_by"] == f"user:{CONSUMER}"

    theirs = as_json(platform, "demand", "list", "--side", "provider", "--as", REVIEWER)
    assert code in [d["code"] for d in theirs]
    table = run(platform, "demand", "list", "--side", "consumer", "--as", CONSUMER)
    assert "共享需求 demands" in table and code in table and "待提供方审核" in table
    assert "需求编号" in table and "审核期限" in table

    run(platform, "demand", "approve", code, "--as", "d310101_reviewer_t", refused=PermissionDenied)
    run(platform, "demand", "show", code, "--as", "d310115_consumer_t", refused=NotFound)
    assert "待平台审核" in run(platform, "demand", "approve", code, "--reason", "同意", "--as", REVIEWER)
    granted = run(platform, "demand", "approve", code)  # the CLI is the platform's operator
    assert "已授权" in granted and "SQ" in granted

    shown = as_json(platform, "demand", "show", code, "--as", CONSUMER)
    assert [e["action"] for e in shown["events"]] == ["file", "provider_approve", "platform_approve"]
    assert shown["events"][-1]["actor"].startswith("cli:")
    text = run(platform, "demand", "show", code)
    assert "审核记录 timeline" in text and "已授权" in text and shown["grant"] in text
    assert city_time(shown["created_at"]) in text  # times in Asia/Shanghai
    run(platform, "demand", "withdraw", code, "--as", CONSUMER, refused=Conflict)


def test_share_types_and_refusals(platform: Platform) -> None:
    open_ = as_json(platform, *file_args("--as", CONSUMER, entry=ENTERPRISES, fields="uscc,ent_name"))
    assert open_["status"] == "granted" and open_["grant"]
    closed = as_json(platform, *file_args("--as", CONSUMER, entry=NOT_SHARED, fields="id_number,name"))
    assert closed["status"] == "refused" and "反恐怖主义法" in closed["reason"]

    code = as_json(platform, *file_args("--scope", "district", "--as", CONSUMER))["code"]
    run(platform, "demand", "refuse", code, "--reason", " ", "--as", REVIEWER, refused=ValidationFailed)
    missing = CliRunner().invoke(app, ["share", "demand", "refuse", code, "--data-dir", "x"])
    assert missing.exit_code == 2 and "--reason" in missing.output  # a required option
    assert "已驳回" in run(platform, "demand", "refuse", code, "--reason", "超出履职范围", "--as", REVIEWER)

    other = as_json(platform, *file_args("--scope", "district", "--as", CONSUMER))["code"]
    assert "已撤回" in run(platform, "demand", "withdraw", other, "--as", CONSUMER)
    run(platform, "demand", "withdraw", other, "--as", CONSUMER, refused=Conflict)


def test_input_problems_are_reported_by_field(platform: Platform) -> None:
    result = CliRunner().invoke(
        app,
        ["share", *file_args("--scope", "district", "--method", "文件", "--as", "mz_consumer_t",
                             fields="name,no_such_item"),
         "--data-dir", str(platform.settings.data_dir)],
    )  # fmt: skip
    assert isinstance(result.exception, ValidationFailed)
    assert set(result.exception.problems) == {"fields", "method", "row_scope"}

    def problems(*changes: str) -> set[str]:
        result = CliRunner().invoke(
            app,
            ["share", *file_args(*changes, "--as", CONSUMER), "--data-dir", str(platform.settings.data_dir)],
        )
        assert isinstance(result.exception, ValidationFailed), result.output
        return set(result.exception.problems)

    assert problems("--scope", "condition", "--condition", "name like 张%") == {"conditions[0]"}
    assert problems("--scope", "condition", "--condition", "nope eq 1") == {"conditions[0].column"}
    assert problems("--scope", "condition") == {"document"}  # condition scope without conditions
    assert problems("--until", "2026-13-01") == {"until"}
    assert problems("--method", "邮寄") == {"method"}
    conditional = as_json(
        platform,
        *file_args("--scope", "condition", "--condition", "district_code in 310101,310104", "--as", CONSUMER),
    )
    assert conditional["conditions"] == [
        {"column": "district_code", "op": "in", "value": ["310101", "310104"]}
    ]


def test_acting_as(platform: Platform) -> None:
    run(platform, "demand", "list", "--as", "nobody_t", refused=NotFound)
    run(platform, "demand", "list", "--as", "retired_t", refused=PermissionDenied)
    assert isinstance(as_json(platform, "demand", "list"), list)  # the operator sees every demand
    run(platform, "demand", "sweep", "--as", CONSUMER, refused=PermissionDenied)
    assert "督办 escalated 0" in run(platform, "demand", "sweep")


def test_grant_commands(platform: Platform) -> None:
    grant = as_json(platform, *file_args("--as", CONSUMER, entry=ENTERPRISES, fields="uscc,ent_name"))[
        "grant"
    ]
    listed = as_json(platform, "grant", "list", "--side", "consumer", "--as", CONSUMER)
    assert grant in [g["code"] for g in listed]
    assert "授权编号" in run(platform, "grant", "list")
    shown = as_json(platform, "grant", "show", grant, "--as", CONSUMER)
    assert shown["fields"] == ["uscc", "ent_name"] and shown["state"] == "active"
    assert "有效期" in run(platform, "grant", "show", grant)
    run(platform, "grant", "show", grant, "--as", "d310115_consumer_t", refused=NotFound)

    run(platform, "grant", "suspend", grant, "--reason", "检查", "--as", CONSUMER, refused=PermissionDenied)
    assert "暂停" in run(platform, "grant", "suspend", grant, "--reason", "安全检查")
    run(platform, "grant", "suspend", grant, "--reason", "again", refused=Conflict)
    assert "有效" in run(platform, "grant", "resume", grant)
    assert "已撤销" in run(platform, "grant", "revoke", grant, "--reason", "场景终止")
    run(platform, "grant", "resume", grant, refused=Conflict)
    assert as_json(platform, "grant", "show", grant)["status"] == "revoked"


def test_citizen_binding_and_lookup(platform: Platform) -> None:
    (id_number, _, _), *_ = people(platform, district="310101")
    run(
        platform,
        "citizen",
        "bind",
        "citizen_t",
        "--id-number",
        id_number,
        "--as",
        CONSUMER,
        refused=PermissionDenied,
    )
    bound = run(platform, "citizen", "bind", "citizen_t", "--id-number", id_number)
    assert "身份已绑定" in bound and id_number not in bound
    assert as_json(platform, "accesses", "--id-number", id_number) == []
    assert "数据使用记录 accesses 0" in run(platform, "accesses", "--id-number", id_number)
    run(platform, "accesses", "--id-number", id_number, "--as", CONSUMER, refused=PermissionDenied)
    run(platform, "accesses", "--id-number", "123", refused=ValidationFailed)
