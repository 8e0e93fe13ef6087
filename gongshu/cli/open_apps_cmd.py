"""`gongshu open application …` and `gongshu open key …`: 有条件开放申请 and developers' API keys.

The CLI acts as an operator (shell access to the data directory is operator access); ``--as USERNAME``
acts as that user instead (e.g. ``--as scjg_steward`` to review as the providing department).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from gongshu.cli.output import (
    DataDirOption,
    JsonOption,
    city_time,
    console,
    platform_for,
    print_json,
    print_table,
)
from gongshu.cli.share_cmd import AsOption, acting_as
from gongshu.open import applications as apps
from gongshu.open import developers
from gongshu.open.models import OpenApplication
from gongshu.orgs.roles import Principal

application_app = typer.Typer(
    help="有条件开放申请 applications: list, show, approve, refuse, revoke", no_args_is_help=True
)
key_app = typer.Typer(help="开发者密钥 developers' API keys: list, issue, revoke", no_args_is_help=True)


def _show(shown: apps.ApplicationPublic) -> None:
    console.print(
        f"[bold]{shown.code}[/] {shown.state_label} ({shown.state})"
        + (" [red]超期[/]" if shown.overdue else "")
    )
    rows = [
        ("数据集 dataset", f"{shown.dataset_title} {shown.dataset_code}"),
        ("提供部门 provider", f"{shown.provider_name} ({shown.provider})"),
        ("申请单位 applicant", f"{shown.applicant_org} {shown.applicant_uscc or ''} · {shown.applicant}"),
        ("应用场景 scenario", shown.scenario),
        ("用途 purpose", shown.purpose),
        ("信息项 fields", ", ".join(shown.fields)),
        ("期限 duration", f"{shown.duration_days} 天"),
        ("提交 filed", city_time(shown.filed_at)),
        ("审核期限 due", shown.due_on.isoformat()),
        ("决定 decided", f"{city_time(shown.decided_at)} {shown.decided_by or ''}"),
        ("理由 reason", shown.reason or ""),
        ("有效期至 valid until", city_time(shown.valid_until)),
        ("承诺书 pledge sha256", shown.pledge_sha256 or ""),
        ("协议 agreement sha256", shown.agreement_sha256 or ""),
    ]
    print_table(shown.code, ["", ""], rows)
    print_table(
        "办理记录 events",
        ["时间", "操作人", "从", "到", "说明"],
        [(city_time(e.at), e.actor, e.from_state or "", e.to_state, e.note or "") for e in shown.events],
    )


@application_app.command("list")
def application_list(
    side: Annotated[
        str, typer.Option(help="mine, review (my department's datasets; operators: all) or all")
    ] = "all",
    state: Annotated[
        str | None, typer.Option(help="submitted, approved, refused, withdrawn or revoked")
    ] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Applications, newest first: state, dataset, applicant, deadline."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        found = [
            apps.application_public(session, a)
            for a in apps.list_applications(session, actor, side=side, state=state)
        ]
    if as_json:
        print_json([a.model_dump(mode="json") for a in found])
        return
    print_table(
        f"有条件开放申请 applications {len(found)}",
        ["申请编号", "状态", "数据集", "提供部门", "申请单位", "提交", "审核期限", "超期"],
        [
            (a.code, a.state_label, a.dataset_code, a.provider, a.applicant_org, city_time(a.filed_at),
             a.due_on.isoformat(), "超期" if a.overdue else "")
            for a in found
        ],
    )  # fmt: skip


@application_app.command("show")
def application_show(
    code: str, as_user: AsOption = None, data_dir: DataDirOption = None, as_json: JsonOption = False
) -> None:
    """One application with its events."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        shown = apps.application_public(session, apps.get_application(session, actor, code))
    if as_json:
        print_json(shown.model_dump(mode="json"))
        return
    _show(shown)


@application_app.command("approve")
def application_approve(
    code: str,
    fields: Annotated[str | None, typer.Option("--fields", help="narrow to these 信息项: a,b,c")] = None,
    note: Annotated[str | None, typer.Option("--note", help="审核意见")] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """同意: approve (the providing department's steward or reviewer, or an operator)."""
    chosen = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    _decide(
        as_user, data_dir, lambda session, actor: apps.approve(session, actor, code, fields=chosen, note=note)
    )


@application_app.command("refuse")
def application_refuse(
    code: str,
    reason: Annotated[str, typer.Option("--reason", help="理由 (required)")],
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """不同意: refuse, with the reason."""
    _decide(as_user, data_dir, lambda session, actor: apps.refuse(session, actor, code, reason))


@application_app.command("revoke")
def application_revoke(
    code: str,
    reason: Annotated[str, typer.Option("--reason", help="理由 (required)")],
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """撤销: end an approval; its credentials stop at once."""
    _decide(as_user, data_dir, lambda session, actor: apps.revoke(session, actor, code, reason))


def _decide(
    as_user: str | None, data_dir: Path | None, change: Callable[[Session, Principal], OpenApplication]
) -> None:
    """Run one review action as the ``--as`` user in one transaction and show the application after it."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        shown = apps.application_public(session, change(session, actor))
    _show(shown)


# --- keys -----------------------------------------------------------------------------------------


@key_app.command("list")
def key_list(
    user: Annotated[str | None, typer.Option("--user", help="whose keys (default: the --as user)")] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """A user's API keys and credentials, with today's calls."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        usage = developers.usage_of(session, developers.keys_of(session, actor, username=user))
    if as_json:
        print_json([u.model_dump(mode="json") for u in usage])
        return
    print_table(
        f"开放密钥 keys {len(usage)}",
        ["id", "名称", "前缀", "类型", "状态", "今日调用", "每日额度", "每秒", "最近使用", "有效期至"],
        [
            (u.key.id, u.key.name, u.key.display_prefix, u.key.kind, u.key.state, u.used_today,
             u.key.daily_quota, u.key.rate_per_s, city_time(u.key.last_used_at), city_time(u.key.expires_at))
            for u in usage
        ],
    )  # fmt: skip


@key_app.command("issue")
def key_issue(
    name: Annotated[str, typer.Option("--name", help="密钥名称")],
    user: Annotated[str, typer.Option("--user", help="the developer who holds it")],
    quota: Annotated[int | None, typer.Option("--quota", help="calls a day (default: settings)")] = None,
    rate: Annotated[int | None, typer.Option("--rate", help="calls a second (default: settings)")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Issue a developer key (operators); the secret is printed once."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, None)
    with platform.store.session() as session:
        key, secret = developers.issue_key(
            session,
            actor,
            name,
            settings=platform.settings,
            daily_quota=quota,
            rate_per_s=rate,
            username=user,
        )
        issued = developers.key_issued(key, secret)
    if as_json:
        print_json(issued.model_dump(mode="json"))
        return
    console.print(
        f"key {issued.id} for {issued.username}: [bold]{secret}[/] (shown once; only its digest is kept)"
    )


@key_app.command("revoke")
def key_revoke(key_id: int, as_user: AsOption = None, data_dir: DataDirOption = None) -> None:
    """Revoke a key at once."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        key = developers.key_public(developers.withdraw_key(session, actor, key_id))
    console.print(f"key {key.id} ({key.display_prefix}…) of {key.username}: {key.state}")
