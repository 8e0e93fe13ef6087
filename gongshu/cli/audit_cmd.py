"""`gongshu audit …`: read and verify the hash-chained audit trail and the sharing call log."""

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
    settings_for,
)
from gongshu.errors import GongshuError
from gongshu.security import audit
from gongshu.share.calllog import StoredCall, call_log_anchors, call_log_path, open_call_log
from gongshu.store.base import CITY_TIMEZONE

audit_app = typer.Typer(help="审计 the tamper-evident audit trail", no_args_is_help=True)


class AuditChainBroken(GongshuError):
    """The audit chain does not verify: an event was altered, removed or reordered."""

    code = "audit_chain_broken"
    exit_code = 9


@audit_app.command("verify")
def verify(data_dir: DataDirOption = None) -> None:
    """Recompute every digest of the audit trail, then of the sharing call log (against its anchors
    in the trail); exit non-zero naming the first event or call that does not chain."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        result = audit.verify(session)
        anchors = call_log_anchors(session)  # before the log is read: every anchor must be in it
    if not result.ok:
        raise AuditChainBroken(
            f"audit chain broken at event {result.first_bad_seq}: {result.reason}",
            hint=f"{result.checked} events before it verified",
        )
    console.print(f"[green]audit chain intact:[/] {result.checked} events verified")
    if not call_log_path(platform.settings).exists():
        return
    calls = open_call_log(platform.settings).verify(anchors)
    if not calls.ok:
        raise AuditChainBroken(
            f"call log broken at call {calls.first_bad_seq}: {calls.reason}",
            hint=f"{calls.checked} calls before it verified; {len(anchors)} anchors in the audit trail",
        )
    console.print(f"[green]call log intact:[/] {calls.checked} calls verified")


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


@audit_app.command("calls")
def list_calls(
    data_dir: DataDirOption = None,
    consumer: Annotated[str | None, typer.Option(help="consuming organisation's code")] = None,
    grant: Annotated[str | None, typer.Option(help="grant code, e.g. SQ-000123")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="calls to show")] = 30,
    as_json: JsonOption = False,
) -> None:
    """Recent sharing calls (共享调用), newest first, from the call log."""
    settings = settings_for(data_dir)
    found: list[StoredCall] = []
    if call_log_path(settings).exists():
        found = open_call_log(settings).calls(consumer=consumer, grant=grant, limit=limit)
    if as_json:
        print_json([_call_json(call) for call in found])
        return
    print_table(
        "共享调用",
        ["序号", "时间", "使用方", "授权", "应用场景", "接口", "结果", "状态", "行数", "耗时(ms)"],
        [
            (
                c.seq,
                city_time(c.record.at),
                c.record.consumer,
                c.record.grant,
                c.record.scenario,
                c.record.api,
                c.record.result,
                c.record.status,
                c.record.rows,
                f"{c.record.latency_us / 1000:.1f}",
            )
            for c in found
        ],
    )


def _call_json(call: StoredCall) -> dict[str, Any]:
    record = call.record
    return {
        "seq": call.seq,
        "at": record.at.astimezone(CITY_TIMEZONE).isoformat(timespec="milliseconds"),
        "request_id": record.request_id,
        "actor": record.actor,
        "consumer": record.consumer,
        "grant": record.grant,
        "scenario": record.scenario,
        "resource": record.resource,
        "api": record.api,
        "fields": list(record.fields),
        "result": record.result,
        "status": record.status,
        "rows": record.rows,
        "latency_ms": round(record.latency_us / 1000, 3),
    }
