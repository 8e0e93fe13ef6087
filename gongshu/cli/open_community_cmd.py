"""`gongshu open showcase|request|freshness`: moderate showcases (应用展示), answer requests (需求与反馈),
and see or sweep the open datasets' freshness (更新及时性). The shell user acts as an operator."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from gongshu.cli.output import DataDirOption, JsonOption, console, platform_for, print_json, print_table
from gongshu.open import community, freshness
from gongshu.orgs.roles import cli_principal
from gongshu.store.base import city_today

showcase_app = typer.Typer(help="应用展示 showcases of reuse: list and moderate", no_args_is_help=True)
request_app = typer.Typer(help="需求与反馈 data requests and feedback: list and reply", no_args_is_help=True)


@showcase_app.command("list")
def showcase_list(
    data_dir: DataDirOption = None,
    state: Annotated[str, typer.Option(help="pending, approved or rejected")] = community.PENDING,
    as_json: JsonOption = False,
) -> None:
    """Showcases in a state (pending by default: the moderation queue), newest first."""
    platform = platform_for(data_dir)
    actor = cli_principal()
    with platform.store.session() as session:
        found = community.list_showcases(session, actor, state=state)
        documents = [community.showcase_public(session, s, actor).model_dump(mode="json") for s in found]
    if as_json:
        print_json(documents)
        return
    print_table(
        f"应用展示 showcases ({state}) {len(documents)}",
        ["编号", "类型", "名称", "提交人", "网址", "数据集", "提交时间"],
        [
            (d["id"], d["kind"], d["title"], d["submitter"], d["url"] or "",
             ", ".join(ds["name"] for ds in d["datasets"]), d["submitted_at"][:16])
            for d in documents
        ],
    )  # fmt: skip


def _moderate(
    data_dir: DataDirOption, showcase_id: int, action: str, note: str | None, as_json: bool
) -> None:
    platform = platform_for(data_dir)
    actor = cli_principal()
    with platform.store.session() as session:
        showcase = community.moderate_showcase(session, actor, showcase_id, action, note)
        document = community.showcase_public(session, showcase, actor).model_dump(mode="json")
    if as_json:
        print_json(document)
    else:
        console.print(f"showcase {showcase_id}: [bold]{document['state']}[/]", highlight=False)


@showcase_app.command("approve")
def showcase_approve(showcase_id: int, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Approve a pending showcase: it becomes public."""
    _moderate(data_dir, showcase_id, "approve", None, as_json)


@showcase_app.command("reject")
def showcase_reject(
    showcase_id: int,
    note: Annotated[str, typer.Option("--note", help="说明: why (required)")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a pending showcase with a note."""
    _moderate(data_dir, showcase_id, "reject", note, as_json)


@request_app.command("list")
def request_list(
    data_dir: DataDirOption = None,
    department: Annotated[str | None, typer.Option("--department", help="部门代码, e.g. GHZY")] = None,
    state: Annotated[str | None, typer.Option(help="open or replied")] = None,
    as_json: JsonOption = False,
) -> None:
    """Requests and feedback, newest first: department, state, due date, response days, overdue."""
    platform = platform_for(data_dir)
    actor = cli_principal()
    today = city_today()
    with platform.store.session() as session:
        org_id = community.department_id(session, department) if department else None
        found = community.list_requests(session, actor, organisation_id=org_id, state=state)
        documents = [community.request_public(r, actor, today=today).model_dump(mode="json") for r in found]
    if as_json:
        print_json(documents)
        return
    print_table(
        f"需求与反馈 requests {len(documents)}",
        ["编号", "类型", "标题", "部门", "数据集", "状态", "期限", "用时(工作日)", "逾期"],
        [
            (d["id"], d["kind"], d["title"], (d["department"] or {}).get("code", ""),
             (d["dataset"] or {}).get("name", ""), d["state"], d["due_on"],
             d["response_days"] if d["response_days"] is not None else "", "逾期" if d["overdue"] else "")
            for d in documents
        ],
    )  # fmt: skip


@request_app.command("reply")
def request_reply(
    request_id: int,
    text: Annotated[str, typer.Option("--text", help="答复: the reply, shown publicly")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reply to an open request (as an operator)."""
    platform = platform_for(data_dir)
    actor = cli_principal()
    with platform.store.session() as session:
        answered = community.reply_request(session, actor, request_id, text)
        document = community.request_public(answered, actor).model_dump(mode="json")
    if as_json:
        print_json(document)
    else:
        console.print(
            f"request {request_id}: replied after {document['response_days']} working days", highlight=False
        )


def _percent(ratio: object) -> str:
    return f"{ratio:.1%}" if isinstance(ratio, float) else "—"


def freshness_cmd(
    data_dir: DataDirOption = None,
    sweep: Annotated[bool, typer.Option("--sweep", help="raise and resolve the alerts first")] = False,
    as_json: JsonOption = False,
) -> None:
    """更新及时性: the city's and departments' on-time ratios and the overdue datasets."""
    platform = platform_for(data_dir)
    swept = freshness.sweep_freshness(platform) if sweep else None
    with platform.store.session() as session:
        report = freshness.freshness_report(session)
    if as_json:
        print_json(report | ({"sweep": asdict(swept)} if swept is not None else {}))
        return
    if swept is not None:
        console.print(
            f"alerts: {len(swept.raised)} raised, {len(swept.resolved)} resolved, {swept.open_alerts} open",
            highlight=False,
        )
    city = report["city"]
    console.print(
        f"全市按时更新率 city on-time: [bold]{_percent(city['ratio'])}[/] "
        f"({city['on_time']} on time, {city['overdue']} overdue, {city['irregular']} irregular)",
        highlight=False,
    )
    print_table(
        "部门 departments",
        ["部门", "名称", "按时", "逾期", "不定期", "按时率"],
        [
            (d["code"], d["name"], d["on_time"], d["overdue"], d["irregular"], _percent(d["ratio"]))
            for d in report["departments"]
        ],
    )
    print_table(
        f"更新逾期 overdue datasets {len(report['overdue'])}",
        ["资源代码", "名称", "部门", "更新周期", "最近更新", "期限", "逾期天数"],
        [
            (d["code"], d["title"], d["department"], d["update_cycle"], d["last_update"] or "—",
             d["due_on"], d["days_overdue"])
            for d in report["overdue"]
        ],
    )  # fmt: skip
