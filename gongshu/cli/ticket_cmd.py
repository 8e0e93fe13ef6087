"""`gongshu ticket …`: 问题工单 — quality problems sent back to departments until re-checked (闭环)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gongshu.cli.output import (
    DataDirOption,
    JsonOption,
    city_time,
    console,
    platform_for,
    print_json,
    print_table,
)
from gongshu.orgs.roles import cli_principal
from gongshu.quality import tickets

ticket_app = typer.Typer(
    help="问题工单 quality problem tickets and their closure (闭环)", no_args_is_help=True
)

NoteOption = Annotated[
    str | None, typer.Option("--note", help="说明: why (required to fix, close, reopen, comment)")
]


@ticket_app.command("list")
def list_(
    data_dir: DataDirOption = None,
    org: Annotated[str | None, typer.Option("--org", help="organisation code, e.g. GA")] = None,
    status: Annotated[
        str | None, typer.Option(help="open, in_progress, fixed, closed, or unresolved (not closed)")
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="only tickets past their deadline")] = False,
    mount: Annotated[str | None, typer.Option(help="mount name")] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Tickets, unresolved first by deadline: status, department, problem, deadline, overdue days."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        found = tickets.list_tickets(
            session, cli_principal(), organisation=org, status=status, overdue=True if overdue else None,
            mount=mount, per_page=limit,
        )  # fmt: skip
        documents = [tickets.ticket_document(t) for t in found.tickets]
    if as_json:
        print_json({"total": found.total, "tickets": documents})
        return
    print_table(
        f"问题工单 tickets {len(documents)}/{found.total}",
        ["工单号", "状态", "部门", "挂载", "问题", "问题数", "整改期限", "逾期", "处理人"],
        [
            (
                d["number"], d["status_label"], d["organisation"], d["mount"], d["title"], d["failed"],
                d["due_date"], _late(d), d["assignee"] or "",
            )
            for d in documents
        ],
    )  # fmt: skip


@ticket_app.command("show")
def show(number: str, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """One ticket with its timeline (处理记录)."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        document = tickets.ticket_document(tickets.get_ticket(session, cli_principal(), number), events=True)
    if as_json:
        print_json(document)
        return
    console.print(f"[bold]{document['number']}[/] {document['title']}", highlight=False)
    for label, key in (
        ("状态 status", "status_label"), ("部门 department", "organisation_name"), ("挂载 mount", "mount"),
        ("资源 entry", "entry"), ("规则 rule", "rule_id"), ("信息项 column", "column"),
        ("处理人 assignee", "assignee"), ("整改期限 due", "due_date"),
    ):  # fmt: skip
        console.print(
            f"  {label}: {document[key] if document[key] not in (None, '') else '—'}", highlight=False
        )
    console.print(f"  问题数 failed: {document['failed']:,} / {document['checked']:,}   {_late(document)}")
    print_table(
        "处理记录 timeline",
        ["时间", "操作人", "动作", "状态", "问题数", "说明"],
        [
            (city_time(e["at"]), e["actor"], e["action"], f"{e['from_status'] or ''} → {e['to_status']}",
             "" if e["failed"] is None else e["failed"], e["note"] or "")
            for e in document["events"]
        ],
    )  # fmt: skip


@ticket_app.command("assign")
def assign(number: str, user: str, data_dir: DataDirOption = None, note: NoteOption = None) -> None:
    """Assign a ticket to USER, an active user of the department that owns the data (指派)."""
    _act(data_dir, number, "assign", note=note, username=user)


@ticket_app.command("start")
def start(number: str, data_dir: DataDirOption = None, note: NoteOption = None) -> None:
    """待处理 → 整改中: the department is fixing the problem at source."""
    _act(data_dir, number, "start", note=note)


@ticket_app.command("fix")
def fix(number: str, data_dir: DataDirOption = None, note: NoteOption = None) -> None:
    """→ 已整改待复核: the department fixed it; the next batch's audit re-checks it (--note required)."""
    _act(data_dir, number, "fix", note=note)


@ticket_app.command("close")
def close(number: str, data_dir: DataDirOption = None, note: NoteOption = None) -> None:
    """→ 已关闭 without a clean re-check: accepted as is or 不予整改 (--note is the reason)."""
    _act(data_dir, number, "close", note=note)


@ticket_app.command("reopen")
def reopen(number: str, data_dir: DataDirOption = None, note: NoteOption = None) -> None:
    """→ 待处理: a fix that was not done or a closed ticket that should not be (--note is the reason)."""
    _act(data_dir, number, "reopen", note=note)


@ticket_app.command("comment")
def comment(number: str, data_dir: DataDirOption = None, note: NoteOption = None) -> None:
    """Add a note (--note) to a ticket's timeline."""
    _act(data_dir, number, "comment", note=note)


def _act(data_dir: Any, number: str, action: str, *, note: str | None, username: str | None = None) -> None:
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        moved = tickets.act(session, cli_principal(), number, action, note=note, username=username)
        label = tickets.status_label(moved.status)
    console.print(f"{number}: {action} → {label}", highlight=False)


def _late(document: dict[str, Any]) -> str:
    if document["overdue"]:
        return f"已逾期 {document['overdue_days']} 天"
    left = document["working_days_left"]
    return "" if left is None else f"剩余 {left} 个工作日"
