"""`gongshu mount|collect|batch|quarantine …`: 挂载、归集、批次、问题数据."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from gongshu.cli.output import (
    DataDirOption,
    JsonOption,
    city_time,
    console,
    platform_for,
    print_json,
    print_table,
    read_yaml_documents,
)
from gongshu.collect import batches, mounts, quarantine
from gongshu.collect.pipeline import BatchResult, run_mount
from gongshu.errors import GongshuError, ValidationFailed
from gongshu.lake import open_lake
from gongshu.orgs.roles import cli_principal

mount_app = typer.Typer(help="挂载 mount department sources onto catalogue entries", no_args_is_help=True)
collect_app = typer.Typer(help="归集 run collection batches", no_args_is_help=True)
batch_app = typer.Typer(help="批次 collection batches and their counts", no_args_is_help=True)
quarantine_app = typer.Typer(help="问题数据 quarantined rows, feedback files", no_args_is_help=True)


def read_mount_documents(path: Path) -> list[dict[str, Any]]:
    """One or more mount specs from a YAML (or JSON) file: a mapping, a list, or ``---`` documents."""
    return read_yaml_documents(path, "mount spec")


@mount_app.command("add")
def add(file: Path, data_dir: DataDirOption = None, update: bool = typer.Option(False, "--update")) -> None:
    """Mount the sources described in a YAML file (``--update`` replaces existing mounts' specs)."""
    platform = platform_for(data_dir)
    actor = cli_principal()
    with platform.store.session() as session:
        for document in read_mount_documents(file):
            spec = mounts.parse_mount_spec(document)
            exists = any(m.name == spec.name for m in mounts.list_mounts(session, actor))
            if exists and update:
                mount = mounts.update_mount(session, actor, spec.name, spec)
                console.print(f"updated mount [bold]{mount.name}[/] (version {mount.version})")
            else:
                mount = mounts.create_mount(session, actor, spec)
                console.print(f"mounted [bold]{mount.name}[/] → {spec.entry} ({spec.source.kind})")


@mount_app.command("list")
def list_(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Every mount with its last batch."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        documents = batches.mount_documents(session, cli_principal())
    if as_json:
        print_json(documents)
        return
    rows = []
    for d in documents:
        b = d["last_batch"] or {}
        counts = b.get("counts", {})
        rows.append(
            (
                d["name"], d["entry"], d["organisation"], d["source_kind"], d["schedule"],
                "" if d["active"] else "暂停", b.get("state", "—"), counts.get("read", ""),
                counts.get("written", ""), counts.get("quarantined", ""),
            )
        )  # fmt: skip
    print_table(
        f"挂载 mounts {len(rows)}",
        ["名称", "资源代码", "部门", "类型", "调度", "", "最近批次", "读入", "写入", "隔离"],
        rows,
    )


@mount_app.command("show")
def show(name: str, data_dir: DataDirOption = None) -> None:
    """A mount's spec and state as JSON."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        print_json(batches.mount_status(session, mounts.get_mount(session, cli_principal(), name)))


@mount_app.command("pause")
def pause(name: str, data_dir: DataDirOption = None) -> None:
    """Stop scheduled collection of a mount (manual runs still work)."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        mounts.set_active(session, cli_principal(), name, False)
    console.print(f"paused {name}")


@mount_app.command("resume")
def resume(name: str, data_dir: DataDirOption = None) -> None:
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        mounts.set_active(session, cli_principal(), name, True)
    console.print(f"resumed {name}")


@collect_app.command("run")
def run(
    names: Annotated[list[str] | None, typer.Argument(help="mount names (default: every mount)")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run one batch of each named mount (resuming an unfinished one) and print its counts."""
    platform = platform_for(data_dir)
    actor = cli_principal()
    if not names:
        with platform.store.session() as session:
            names = [m.name for m in mounts.list_mounts(session, actor)]
    lake = open_lake(platform.settings)
    results: list[BatchResult] = []
    failed = False
    for name in names:
        try:
            results.append(run_mount(platform, actor, name, lake=lake, progress=_quiet if as_json else _say))
        except GongshuError as error:
            failed = True
            console.print(f"[red]{name}: {error.message}[/]")
            if error.hint:
                console.print(f"[yellow]hint:[/] {error.hint}")
    if as_json:
        print_json([r.document() for r in results])
    else:
        _print_results(results)
    if failed:
        raise typer.Exit(1)


@collect_app.command("run-due")
def run_due(data_dir: DataDirOption = None) -> None:
    """Run every mount whose schedule (or the entry's 更新周期) says it is due."""
    platform = platform_for(data_dir)
    outcomes = batches.run_due(platform, cli_principal(), lake=open_lake(platform.settings))
    _print_outcomes(outcomes)


@collect_app.command("scheduler")
def scheduler(
    data_dir: DataDirOption = None,
    every: Annotated[int, typer.Option(help="seconds between checks")] = 60,
    once: bool = typer.Option(False, "--once", help="check once and exit"),
) -> None:
    """Keep running due mounts (调度): checks every ``--every`` seconds until interrupted."""
    platform = platform_for(data_dir)
    lake = open_lake(platform.settings)
    while True:
        _print_outcomes(batches.run_due(platform, cli_principal(), lake=lake))
        if once:
            return
        time.sleep(every)


@batch_app.command("list")
def batch_list(
    data_dir: DataDirOption = None,
    mount: str | None = None,
    state: str | None = None,
    limit: int = 50,
    as_json: JsonOption = False,
) -> None:
    """Batches, newest first: read = written + quarantined for each."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        found, total = batches.list_batches(session, cli_principal(), mount=mount, state=state, limit=limit)
        documents = [batches.batch_document(b) for b in found]
    if as_json:
        print_json({"total": total, "batches": documents})
        return
    print_table(
        f"批次 batches {len(documents)}/{total}",
        ["批次", "状态", "开始", "读入", "写入", "隔离", "平衡", "新增", "更新", "删除", "快照"],
        [
            (
                d["id"], d["state"], city_time(d["started_at"]), d["counts"]["read"], d["counts"]["written"],
                d["counts"]["quarantined"], _balance(d["balanced"]), d["counts"]["inserted"],
                d["counts"]["updated"], d["counts"]["deleted"], (d["snapshots"] or {}).get("standard", ""),
            )
            for d in documents
        ],
    )  # fmt: skip


@batch_app.command("show")
def batch_show(batch_id: str, data_dir: DataDirOption = None) -> None:
    """One batch as JSON: counts, checksums, snapshots, timings, rules, drift, notes."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        print_json(batches.batch_document(batches.get_batch(session, cli_principal(), batch_id)))


@quarantine_app.command("list")
def quarantine_list(
    mount: str,
    data_dir: DataDirOption = None,
    status: Annotated[str, typer.Option(help="open, resolved or all")] = "open",
    batch: str | None = None,
    rule: str | None = None,
    limit: int = 20,
    offset: int = 0,
    as_json: JsonOption = False,
) -> None:
    """A mount's problem rows with their rule ids and Chinese reasons."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        page = quarantine.problems(
            session, cli_principal(), open_lake(platform.settings), mount,
            status=_status(status), batch_id=batch, rule=rule, limit=limit, offset=offset,
        )  # fmt: skip
    if as_json:
        print_json(
            {
                "mount": page.mount, "total": page.total, "open": page.open, "resolved": page.resolved,
                "by_rule": page.by_rule,
                "rows": [p.__dict__ | {"status": p.status} for p in page.rows],
            }
        )  # fmt: skip
        return
    console.print(
        f"问题数据 {mount}: open {page.open:,} · resolved {page.resolved:,} · by rule {page.by_rule}"
    )
    print_table(
        f"{page.total:,} rows ({status})",
        ["批次", "行", "主键", "问题", "状态"],
        [(p.batch_id, p.row if p.row is not None else f"line {p.line}", p.record_key, p.reasons(), p.status)
         for p in page.rows],
    )  # fmt: skip


@quarantine_app.command("export")
def quarantine_export(
    mount: str,
    out: Path,
    data_dir: DataDirOption = None,
    status: str = "open",
    batch: str | None = None,
) -> None:
    """Write a mount's problem rows to OUT (.csv or .xlsx) for the department to fix at source."""
    fmt: Literal["csv", "xlsx"] = "xlsx" if out.suffix.lower() == ".xlsx" else "csv"
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        data, count = quarantine.export(
            session, cli_principal(), open_lake(platform.settings), mount,
            fmt=fmt, status=_status(status), batch_id=batch,
        )  # fmt: skip
    out.write_bytes(data)
    console.print(f"wrote {count:,} problem rows to {out}")


@quarantine_app.command("history")
def quarantine_history(mount: str, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Per batch: rows quarantined, and how many later batches resolved."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        rows = quarantine.history(session, cli_principal(), open_lake(platform.settings), mount)
    if as_json:
        print_json(rows)
        return
    print_table(
        f"问题数据历史 {mount}",
        ["批次", "隔离", "已解决", "解决批次"],
        [(r["batch_id"], r["quarantined"], r["resolved"], ", ".join(r["resolved_by"])) for r in rows],
    )


def _status(value: str) -> quarantine.Status:
    if value not in ("open", "resolved", "all"):
        raise ValidationFailed({"status": ["use open, resolved or all"]})
    return value  # type: ignore[return-value]


def _say(message: str) -> None:
    console.print(f"  [dim]{message}[/]", highlight=False)


def _quiet(_message: str) -> None:
    return None


def _balance(value: bool | None) -> str:
    return "—" if value is None else ("✔" if value else "✘")


def _print_results(results: list[BatchResult]) -> None:
    print_table(
        "归集结果 batches",
        ["挂载", "批次", "读入", "写入", "隔离", "平衡", "新增", "更新", "未变", "删除", "秒"],
        [
            (
                r.mount, r.batch_id, f"{r.rows_read:,}", f"{r.rows_written:,}", f"{r.rows_quarantined:,}",
                _balance(r.balanced), f"{r.rows_inserted:,}", f"{r.rows_updated:,}", f"{r.rows_unchanged:,}",
                f"{r.rows_deleted:,}", f"{sum(r.timings.values()):.1f}",
            )
            for r in results
        ],
    )  # fmt: skip
    for r in results:
        for change in r.drift:
            console.print(f"[yellow]drift {r.mount}:[/] {change['message']}")


def _print_outcomes(outcomes: list[tuple[str, Any]]) -> None:
    if not outcomes:
        console.print("nothing due")
    for name, outcome in outcomes:
        if isinstance(outcome, BatchResult):
            console.print(
                f"{name}: {outcome.batch_id} read {outcome.rows_read:,} = written {outcome.rows_written:,} "
                f"+ quarantined {outcome.rows_quarantined:,}"
            )
        else:
            console.print(f"[red]{name}: {outcome}[/]")


def bench_ingest(
    rows: Annotated[int, typer.Option(help="rows of the generated person CSV")] = 10_000_000,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    work: Annotated[
        Path | None, typer.Option(help="folder for the temporary files (default: system temp)")
    ] = None,
) -> None:
    """Collection end to end (collect → ≥ 10 rules → quarantine → lake snapshot) vs a bare DuckDB copy."""
    from gongshu.collect.bench import run_bench

    figures = run_bench(rows, work=work)
    if json_out:
        print_json(figures)
        return
    print_table(
        f"bench ingest — {rows:,} rows",
        ["", "seconds", "rows/s", "peak RSS MB"],
        [
            ("gongshu full path", figures["seconds"], f"{figures['rows_per_s']:,}", figures["peak_rss_mb"]),
            ("bare DuckDB CSV→Parquet", figures["baseline_seconds"], f"{figures['baseline_rows_per_s']:,}",
             figures["baseline_peak_rss_mb"]),
        ],
    )  # fmt: skip
    console.print(
        f"ratio gongshu / bare = {figures['ratio']:.2f} · read {figures['read']:,} = written "
        f"{figures['written']:,} + quarantined {figures['quarantined']:,} · {figures['rule_count']} rules · "
        f"timings {figures['timings']}"
    )
