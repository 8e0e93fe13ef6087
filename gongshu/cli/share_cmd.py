"""`gongshu share …`: 共享 — demands (共享需求) and their review, grants (授权), citizens' accesses.

The CLI acts as an operator (shell access to the data directory is operator access); ``--as USERNAME``
acts as that user instead, so a department's demand can be filed and reviewed from a shell with
that user's permissions. :func:`acting_as` resolves it for every share command module.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from gongshu.catalogue.specs import ShareMethod
from gongshu.cli.output import (
    DataDirOption,
    JsonOption,
    city_time,
    console,
    platform_for,
    print_json,
    print_table,
)
from gongshu.errors import PermissionDenied, ValidationFailed
from gongshu.orgs.roles import Principal, cli_principal
from gongshu.orgs.users import get_user, principal_of
from gongshu.platform import Platform
from gongshu.share import demands, grants
from gongshu.share.citizens import accesses_of, bind_identity
from gongshu.share.specs import (
    CONDITION_OPS,
    DEMAND_STATUS_LABELS,
    SCOPE_LABELS,
    Decision,
    DemandCreate,
    DemandPublic,
    GrantPublic,
    RowScope,
)

share_app = typer.Typer(help="共享 the sharing exchange: demands, grants, accesses", no_args_is_help=True)
demand_app = typer.Typer(help="共享需求 demands and their review (审核)", no_args_is_help=True)
grant_app = typer.Typer(help="授权 grants: list, show, suspend, resume, revoke", no_args_is_help=True)
citizen_app = typer.Typer(help="市民 citizens' verified identities", no_args_is_help=True)
share_app.add_typer(demand_app, name="demand")
share_app.add_typer(grant_app, name="grant")
share_app.add_typer(citizen_app, name="citizen")

AsOption = Annotated[
    str | None, typer.Option("--as", help="act as this user (default: the CLI operator)", show_default=False)
]
SideOption = Annotated[
    str, typer.Option(help="consumer (filed by my department), provider (on my resources) or all")
]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="理由 why")]

ACTION_LABELS = {
    "file": "提交",
    "auto_grant": "自动授权",
    "auto_refuse": "不予共享",
    "provider_approve": "提供方同意",
    "provider_refuse": "提供方驳回",
    "platform_approve": "平台同意",
    "platform_refuse": "平台驳回",
    "withdraw": "撤回",
    "escalate": "超期督办",
}
STATE_LABELS = {
    "active": "有效",
    "suspended": "暂停",
    "revoked": "已撤销",
    "expired": "已过期",
    "frozen": "已冻结",
    "not_yet_valid": "未生效",
}


def acting_as(platform: Platform, username: str | None) -> Principal:
    """The principal of ``--as USERNAME`` (an active user), else the CLI operator."""
    if username is None:
        return cli_principal()
    with platform.store.session() as session:
        user = get_user(session, username)
        if not user.active:
            raise PermissionDenied(f"user {username!r} is deactivated", hint="act as an active user")
        return principal_of(user)


# --- demands --------------------------------------------------------------------------------------


@demand_app.command("file")
def demand_file(
    entry: Annotated[str, typer.Option("--entry", help="资源代码 of the resource")],
    scenario: Annotated[str, typer.Option("--scenario", help="应用场景名称")],
    purpose: Annotated[str, typer.Option("--purpose", help="用途")],
    basis: Annotated[str, typer.Option("--basis", help="依据: the law or policy document")],
    fields: Annotated[str, typer.Option("--fields", help="信息项 names, comma-separated: a,b,c")],
    until: Annotated[str, typer.Option("--until", help="last day of use, YYYY-MM-DD")],
    scope: Annotated[str, typer.Option("--scope", help="all, district (本区) or condition")] = "all",
    condition: Annotated[
        list[str] | None, typer.Option("--condition", help='"column op value" (repeatable); in: a,b,c')
    ] = None,
    method: Annotated[str, typer.Option("--method", help="接口, 库表 or 文件")] = ShareMethod.API.value,
    start: Annotated[str | None, typer.Option("--from", help="first day, YYYY-MM-DD (default today)")] = None,
    quota: Annotated[int, typer.Option("--quota", help="calls per day")] = 10_000,
    rate: Annotated[int, typer.Option("--rate", help="calls per second")] = 100,
    clear_text: Annotated[bool, typer.Option("--clear-text", help="ask for clear text (明文)")] = False,
    consumer: Annotated[str | None, typer.Option("--consumer", help="file for this organisation")] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """File a demand (提交共享需求); 无条件共享 is granted at once, 不予共享 refused at once."""
    spec = _spec(
        entry=entry, scenario=scenario, purpose=purpose, legal_basis=basis, fields=_names(fields),
        row_scope=scope, conditions=[_condition(i, c) for i, c in enumerate(condition or [])],
        method=method, period_start=_day("from", start) if start else None, period_end=_day("until", until),
        daily_quota=quota, rate_per_second=rate, clear_text=clear_text, consumer=consumer,
    )  # fmt: skip
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        filed = demands.demand_public(
            session, demands.file_demand(session, actor, spec, settings=platform.settings)
        )
    if as_json:
        print_json(filed.model_dump(mode="json"))
        return
    _show_demand(filed)


@demand_app.command("list")
def demand_list(
    side: SideOption = "all",
    status: Annotated[
        str | None,
        typer.Option(help="provider_review, platform_review, granted, refused or withdrawn"),
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="only reviews past their deadline")] = False,
    limit: Annotated[int, typer.Option(help="at most this many")] = 200,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Demands, newest first: status, departments, resource, scenario, deadline."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        found = [
            demands.demand_public(session, d, events=False)
            for d in demands.list_demands(
                session, actor, side=side, status=status, overdue=overdue, limit=limit
            )
        ]
    if as_json:
        print_json([d.model_dump(mode="json") for d in found])
        return
    print_table(
        f"共享需求 demands {len(found)}",
        ["需求编号", "状态", "申请部门", "提供部门", "资源代码", "应用场景", "方式", "审核期限", "超期",
         "授权"],
        [
            (d.code, d.status_label, d.consumer, d.provider, d.entry, d.scenario, d.method, _due(d),
             "超期" if d.overdue else "", d.grant or "")
            for d in found
        ],
    )  # fmt: skip


@demand_app.command("show")
def demand_show(
    code: str, as_user: AsOption = None, data_dir: DataDirOption = None, as_json: JsonOption = False
) -> None:
    """One demand with its timeline (审核记录)."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        shown = demands.demand_public(session, demands.get_demand(session, actor, code))
    if as_json:
        print_json(shown.model_dump(mode="json"))
        return
    _show_demand(shown)


@demand_app.command("approve")
def demand_approve(
    code: str, reason: ReasonOption = None, as_user: AsOption = None, data_dir: DataDirOption = None
) -> None:
    """同意: approve the review the demand is in (provider review, then platform review → grant)."""
    _decide(data_dir, as_user, code, Decision(approve=True, reason=reason or ""))


@demand_app.command("refuse")
def demand_refuse(
    code: str,
    reason: Annotated[str, typer.Option("--reason", help="理由 and its basis (required)")],
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """驳回: refuse the demand in the review it is in, with a reason."""
    _decide(data_dir, as_user, code, Decision(approve=False, reason=reason))


@demand_app.command("withdraw")
def demand_withdraw(code: str, as_user: AsOption = None, data_dir: DataDirOption = None) -> None:
    """撤回: the consuming department withdraws a demand still under review."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        label = demands.demand_public(
            session, demands.withdraw(session, actor, code), events=False
        ).status_label
    console.print(f"{code}: → {label}", highlight=False)


@demand_app.command("sweep")
def demand_sweep(as_user: AsOption = None, data_dir: DataDirOption = None) -> None:
    """超期督办: escalate every review past its working-day deadline (once each; operators)."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        codes = [d.code for d in demands.sweep(session, actor)]
    console.print(f"督办 escalated {len(codes)}: {', '.join(codes) or '—'}", highlight=False)


def _decide(data_dir: Any, as_user: str | None, code: str, decision: Decision) -> None:
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        moved = demands.demand_public(
            session, demands.decide(session, actor, code, decision, settings=platform.settings), events=False
        )
    granted = f" 授权 grant {moved.grant}" if moved.grant else ""
    console.print(f"{code}: → {moved.status_label}{granted}", highlight=False)


def _show_demand(d: DemandPublic) -> None:
    console.print(f"[bold]{d.code}[/] {d.scenario}  [{d.status_label}]", highlight=False)
    rows = [
        ("申请部门 consumer", f"{d.consumer} {d.consumer_name}"),
        ("提供部门 provider", f"{d.provider} {d.provider_name}"),
        ("资源 resource", f"{d.entry} {d.entry_name}（{d.share_type}）"),
        ("用途 purpose", d.purpose),
        ("依据 basis", d.legal_basis),
        ("信息项 fields", "、".join(d.fields)),
        ("数据范围 rows", _scope(d)),
        ("共享方式 method", d.method + ("（明文）" if d.clear_text else "")),
        ("期限 period", f"{d.period_start} – {d.period_end}"),
        ("配额 quota", f"{d.daily_quota:,}/日, {d.rate_per_second:,}/秒"),
        ("审核期限 due", _due(d) + ("（超期）" if d.overdue else "")),
        ("督办 escalated", city_time(d.escalated_at)),
        ("理由 reason", d.reason or ""),
        ("授权 grant", d.grant or ""),
        ("提交 filed", f"{city_time(d.created_at)} {d.created_by}"),
    ]
    for label, value in rows:
        console.print(f"  {label}: {value or '—'}", highlight=False)
    if d.events:
        print_table(
            "审核记录 timeline",
            ["时间", "操作人", "动作", "状态", "说明"],
            [
                (
                    city_time(e.at),
                    e.actor,
                    ACTION_LABELS.get(e.action, e.action),
                    f"{_status(e.from_status)} → {_status(e.to_status)}",
                    e.note,
                )
                for e in d.events
            ],
        )


def _scope(d: DemandPublic) -> str:
    label = SCOPE_LABELS.get(d.row_scope, (d.row_scope, ""))[0]
    if d.row_scope == RowScope.DISTRICT:
        return f"{label} {d.district_code}"
    if d.row_scope == RowScope.CONDITION:
        return f"{label}: " + "; ".join(f"{c['column']} {c['op']} {c['value']}" for c in d.conditions)
    return label


def _status(status: str | None) -> str:
    return DEMAND_STATUS_LABELS[status][0] if status in DEMAND_STATUS_LABELS else status or ""


def _due(d: DemandPublic) -> str:
    if d.status == "provider_review" and d.provider_due:
        return f"提供方 {d.provider_due}"
    if d.status == "platform_review" and d.platform_due:
        return f"平台 {d.platform_due}"
    return ""


def _spec(**values: Any) -> DemandCreate:
    try:
        return DemandCreate(**values)
    except ValidationError as error:
        raise ValidationFailed.from_issues(error.errors()) from None


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            {option: [f"日期应为 YYYY-MM-DD (a date like 2026-12-31, not {text!r})"]}
        ) from None


def _condition(index: int, text: str) -> dict[str, Any]:
    """``"district_code eq 310101"`` → a condition; ``in`` takes comma-separated values."""
    parts = text.split(maxsplit=2)
    if len(parts) != 3 or parts[1] not in CONDITION_OPS:
        raise ValidationFailed(
            {
                f"conditions[{index}]": [
                    f"条件应为 'column op value', op in {', '.join(CONDITION_OPS)}: {text!r}"
                ]
            }
        )
    column, op, value = parts
    return {"column": column, "op": op, "value": _names(value) if op == "in" else value}


# --- grants ---------------------------------------------------------------------------------------


@grant_app.command("list")
def grant_list(
    side: SideOption = "all",
    status: Annotated[str | None, typer.Option(help="active, suspended or revoked")] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 200,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Grants, newest first: consumer, resource, scenario, method, validity and effective state."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        found = [
            grants.grant_public(g)
            for g in grants.list_grants(session, actor, side=side, status=status, limit=limit)
        ]
    if as_json:
        print_json([g.model_dump(mode="json") for g in found])
        return
    print_table(
        f"授权 grants {len(found)}",
        ["授权编号", "需求", "状态", "生效状态", "用数部门", "资源代码", "应用场景", "方式", "有效期至"],
        [
            (g.code, g.demand, g.status_label, STATE_LABELS.get(g.state, g.state), g.consumer, g.entry,
             g.scenario, g.method, _last_day(g))
            for g in found
        ],
    )  # fmt: skip


@grant_app.command("show")
def grant_show(
    code: str, as_user: AsOption = None, data_dir: DataDirOption = None, as_json: JsonOption = False
) -> None:
    """One grant: 信息项, rows, method, period, quotas and state."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        shown = grants.grant_public(grants.get_grant(session, actor, code))
    if as_json:
        print_json(shown.model_dump(mode="json"))
        return
    _show_grant(shown)


@grant_app.command("suspend")
def grant_suspend(
    code: str,
    reason: Annotated[str, typer.Option("--reason", help="理由 (required)")],
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """暂停: stop every channel of an active grant until resumed."""
    _change(data_dir, as_user, code, "suspend", reason)


@grant_app.command("resume")
def grant_resume(
    code: str, reason: ReasonOption = None, as_user: AsOption = None, data_dir: DataDirOption = None
) -> None:
    """恢复: make a suspended grant active again."""
    _change(data_dir, as_user, code, "resume", reason or "")


@grant_app.command("revoke")
def grant_revoke(
    code: str,
    reason: Annotated[str, typer.Option("--reason", help="理由 (required)")],
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """撤销: end a grant for good (a new demand is needed after)."""
    _change(data_dir, as_user, code, "revoke", reason)


def _change(data_dir: Any, as_user: str | None, code: str, action: str, reason: str) -> None:
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        changed = grants.grant_public(grants.change_status(session, actor, code, action, reason=reason))
    console.print(f"{code}: {action} → {changed.status_label}", highlight=False)


def _show_grant(g: GrantPublic) -> None:
    state = STATE_LABELS.get(g.state, g.state)
    console.print(f"[bold]{g.code}[/] {g.scenario}  [{g.status_label} / {state}]", highlight=False)
    rows = [
        ("需求 demand", g.demand),
        ("用数部门 consumer", f"{g.consumer} {g.consumer_name}"),
        ("提供部门 provider", g.provider),
        ("资源 resource", f"{g.entry} {g.entry_name}"),
        ("信息项 fields", "、".join(g.fields)),
        (
            "数据范围 rows",
            f"{SCOPE_LABELS.get(g.row_scope, (g.row_scope, ''))[0]} {g.district_code or ''}".strip(),
        ),
        ("共享方式 method", g.method + ("（明文）" if g.clear_text else "")),
        ("有效期 valid", f"{city_time(g.valid_from)[:10]} – {_last_day(g)}"),
        ("配额 quota", f"{g.daily_quota:,}/日, {g.rate_per_second:,}/秒"),
        ("冻结 frozen", "是（上月确认函未确认）" if g.frozen else "否"),
        ("更新 updated", city_time(g.updated_at)),
    ]
    for label, value in rows:
        console.print(f"  {label}: {value or '—'}", highlight=False)


def _last_day(g: GrantPublic) -> str:
    """The grant's last day of use in the city (it expires at the start of the following day)."""
    return city_time(g.expires_at - timedelta(microseconds=1))[:10]


# --- citizens -------------------------------------------------------------------------------------


@share_app.command("accesses")
def accesses(
    id_number: Annotated[str, typer.Option("--id-number", help="公民身份号码 of the citizen")],
    limit: Annotated[int, typer.Option(help="at most this many")] = 500,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """数据使用记录查询: every access to one citizen's data (security lookup; audited)."""
    platform = platform_for(data_dir)
    found = accesses_of(platform, acting_as(platform, as_user), id_number=id_number, limit=limit)
    if as_json:
        print_json([a.model_dump(mode="json") for a in found])
        return
    print_table(
        f"数据使用记录 accesses {len(found)}",
        ["序号", "时间", "用数部门", "应用场景", "资源", "接口", "信息项", "行数", "结果"],
        [
            (a.seq, city_time(a.at), a.consumer_name, a.scenario, a.resource_name, a.api_label,
             "、".join(a.field_labels), a.rows, a.result)
            for a in found
        ],
    )  # fmt: skip


@citizen_app.command("bind")
def citizen_bind(
    username: str,
    id_number: Annotated[str, typer.Option("--id-number", help="the citizen's verified 公民身份号码")],
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Bind a citizen account to its verified identity, so it can see who used its data."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        bind_identity(session, actor, username, id_number, settings=platform.settings)
    console.print(f"{username}: 身份已绑定 identity bound", highlight=False)
