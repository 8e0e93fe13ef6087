"""`gongshu audit …`: read and verify the hash-chained audit trail."""

from __future__ import annotations

import typer

from gongshu.cli.output import DataDirOption, JsonOption, console, platform_for, print_json, print_table
from gongshu.errors import GongshuError
from gongshu.security import audit

audit_app = typer.Typer(help="审计 the tamper-evident audit trail", no_args_is_help=True)


class AuditChainBroken(GongshuError):
    """The audit chain does not verify: an event was altered, removed or reordered."""

    code = "audit_chain_broken"
    exit_code = 9


@audit_app.command("verify")
def verify(data_dir: DataDirOption = None) -> None:
    """Recompute every digest; exit non-zero naming the first event that does not chain."""
    with platform_for(data_dir).store.session() as session:
        result = audit.verify(session)
    if not result.ok:
        raise AuditChainBroken(
            f"audit chain broken at event {result.first_bad_seq}: {result.reason}",
            hint=f"{result.checked} events before it verified",
        )
    console.print(f"[green]audit chain intact:[/] {result.checked} events verified")


@audit_app.command("list")
def list_events(
    data_dir: DataDirOption = None,
    limit: int = 30,
    object_id: str | None = None,
    by: str | None = None,
    as_json: JsonOption = False,
) -> None:
    """Newest events first."""
    with platform_for(data_dir).store.session() as session:
        found = audit.list_events(session, object_id=object_id, actor=by, limit=limit)
        rows = [
            (e.seq, e.at.isoformat(timespec="seconds"), e.actor, e.action, e.object_type, e.object_id)
            for e in found
        ]
    if as_json:
        print_json(
            [
                dict(zip(["seq", "at", "actor", "action", "object_type", "object_id"], r, strict=True))
                for r in rows
            ]
        )
        return
    print_table("审计日志", ["序号", "时间", "操作人", "动作", "对象类型", "对象"], rows)
