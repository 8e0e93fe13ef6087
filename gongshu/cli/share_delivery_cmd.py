"""`gongshu share delivery …`: 落地 landings and 属地返还 district returns of granted data.

The CLI acts as an operator (shell access to the data directory is operator access); ``--as USERNAME``
acts as that user, e.g. a consuming department's user creating its own landing. ``run`` exits with
status 9 when the run delivered but source and target do not reconcile (对账不一致).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gongshu.cli.output import (
    DataDirOption,
    JsonOption,
    city_time,
    console,
    err_console,
    platform_for,
    print_json,
    print_table,
)
from gongshu.cli.share_cmd import AsOption, acting_as
from gongshu.errors import ValidationFailed
from gongshu.orgs.roles import cli_principal
from gongshu.share import landing, returns

delivery_app = typer.Typer(
    help="落地 landings and 属地返还 district returns: incremental, checkpointed, reconciled",
    no_args_is_help=True,
)

FullOption = Annotated[bool, typer.Option("--full", help="truncate the target and deliver everything again")]


@delivery_app.command("create")
def create(
    grant: Annotated[str, typer.Argument(help="授权编号, e.g. SQ000001")],
    kind: Annotated[str, typer.Option("--kind", help="postgresql, mariadb or files")],
    target: Annotated[
        str, typer.Option("--target", help="database URL without password, or a folder (relative: data dir)")
    ],
    table: Annotated[str, typer.Option("--table", help="target table (a-z, 0-9, _)")],
    purpose: Annotated[str, typer.Option(help="landing (落地) or return (属地返还)")] = "landing",
    subscribe: Annotated[bool, typer.Option("--subscribe", help="push the delta after every batch")] = False,
    password_env: Annotated[
        str | None, typer.Option("--password-env", help="variable holding the password (GONGSHU_TARGET_…)")
    ] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """A delivery target for GRANT; nothing is delivered until `run` (or the next batch, subscribed)."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        delivery = landing.create_delivery(
            session, actor, grant, kind=kind, target=target, table=table, purpose=purpose,
            password_env=password_env, subscribed=subscribe,
        )  # fmt: skip
        document = landing.delivery_public(delivery).model_dump(mode="json")
    if as_json:
        print_json(document)
        return
    console.print(f"delivery {document['id']}: {grant} → {kind} {table}", highlight=False)


@delivery_app.command("run")
def run(
    delivery_id: Annotated[int, typer.Argument(help="delivery id")],
    full: FullOption = False,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deliver the changes since the checkpoint and reconcile (exit 9 when they do not reconcile)."""
    platform = platform_for(data_dir)
    result = landing.run_delivery(platform, acting_as(platform, as_user), delivery_id, full=full)
    document = landing.run_public(result).model_dump(mode="json")
    if as_json:
        print_json(document)
    else:
        _print_run(document)
    if not result.reconciled:
        err_console.print(
            f"[bold red]对账不一致 not reconciled:[/] {_difference(document['detail'])}", highlight=False
        )
        raise typer.Exit(landing.NOT_RECONCILED_EXIT)


@delivery_app.command("list")
def list_(
    grant: Annotated[str | None, typer.Option(help="only this grant's deliveries")] = None,
    purpose: Annotated[str | None, typer.Option(help="landing or return")] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deliveries, newest first, with their last run."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        found = landing.list_deliveries(session, actor, grant=grant, purpose=purpose)
        documents = [landing.delivery_public(d).model_dump(mode="json") for d in found]
    if as_json:
        print_json(documents)
        return
    print_table(
        f"落地 deliveries {len(documents)}",
        ["id", "授权", "用途", "目标", "表", "订阅", "检查点", "上次", "对账"],
        [
            (
                d["id"], d["grant"], d["purpose"], d["kind"], d["table"], "是" if d["subscribed"] else "",
                d["checkpoint"], city_time(d["last_run"]["started_at"]) if d["last_run"] else "",
                _reconciled(d["last_run"]),
            )
            for d in documents
        ],
    )  # fmt: skip


@delivery_app.command("show")
def show(
    delivery_id: Annotated[int, typer.Argument(help="delivery id")],
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """One delivery with its runs (newest first)."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        delivery = landing.get_delivery(session, actor, delivery_id)
        runs = landing.delivery_runs(session, actor, delivery_id)
        document = landing.delivery_public(delivery, runs=runs).model_dump(mode="json")
    if as_json:
        print_json(document)
        return
    console.print(f"[bold]delivery {document['id']}[/] {document['purpose']}", highlight=False)
    for key in (
        "grant",
        "grant_state",
        "consumer",
        "entry",
        "kind",
        "target",
        "table",
        "subscribed",
        "checkpoint",
    ):
        console.print(f"  {key}: {document[key]}", highlight=False)
    print_table(
        "runs 运行记录",
        ["run", "开始", "触发", "状态", "序号", "写入", "删除", "源/目标行数", "对账"],
        [
            (
                r["id"], city_time(r["started_at"]), r["trigger"], r["state"],
                f"{r['from_seq']}→{r['to_seq']}", r["rows_upserted"], r["rows_deleted"],
                f"{r['source_rows']}/{r['target_rows']}",
                _reconciled(r) if r["state"] == "done" else (r["error"] or ""),
            )
            for r in document["runs"]
        ],
    )  # fmt: skip


@delivery_app.command("return")
def return_(
    entry: Annotated[str, typer.Argument(help="资源代码 of the resource, e.g. 101001001/000001")],
    to_folder: Annotated[
        Path | None,
        typer.Option("--to-folder", help="one sub-folder per district (relative: to the data dir)"),
    ] = None,
    to_url: Annotated[
        str | None, typer.Option("--to-url", help="database URL; {district} is replaced by the district code")
    ] = None,
    kind: Annotated[str, typer.Option(help="with --to-url: postgresql or mariadb")] = "postgresql",
    district: Annotated[
        list[str] | None, typer.Option("--district", help="district code (repeat); default: every granted")
    ] = None,
    password_env: Annotated[
        str | None, typer.Option("--password-env", help="GONGSHU_TARGET_… variable")
    ] = None,
    full: FullOption = False,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """属地返还: each district's rows to its own store, each reconciled (exit 9 on any difference)."""
    if (to_folder is None) == (to_url is None):
        raise ValidationFailed({"target": ["give exactly one of --to-folder and --to-url"]})
    platform = platform_for(data_dir)
    actor = cli_principal()
    if to_folder is not None:
        results = returns.district_return_to_folders(
            platform, actor, entry, to_folder, districts=district, full=full
        )
    else:
        assert to_url is not None
        with platform.store.session() as session:
            districts = district or returns.granted_districts(session, entry)
        targets = {d: (kind, to_url.replace("{district}", d)) for d in districts}
        results = returns.district_return(
            platform, actor, entry, targets=targets, password_env=password_env, full=full
        )
    documents = [r.document() for r in results]
    if as_json:
        print_json(documents)
    else:
        _print_districts(documents)
    if not documents or any(d["reconciled"] is not True for d in documents):
        err_console.print("[bold red]属地返还 incomplete:[/] a district failed, was refused or differs")
        raise typer.Exit(landing.NOT_RECONCILED_EXIT)


def _print_run(document: dict[str, Any]) -> None:
    console.print(
        f"run {document['id']}: {document['state']}, seq {document['from_seq']}→{document['to_seq']}, "
        f"upserted {document['rows_upserted']:,}, deleted {document['rows_deleted']:,}; "
        f"source {document['source_rows']:,} rows, target {document['target_rows']:,} rows — "
        f"{_reconciled(document)}",
        highlight=False,
    )


def _print_districts(documents: list[dict[str, Any]]) -> None:
    print_table(
        "属地返还 district return",
        ["区", "授权", "表", "状态", "写入", "删除", "源/目标行数", "对账", "说明"],
        [
            (
                d["district"], d["grant"] or "", d["table"] or "", d["state"], d["rows_upserted"],
                d["rows_deleted"], f"{d['source_rows']}/{d['target_rows']}", _reconciled(d),
                d["error"] or _difference(d["detail"]),
            )
            for d in documents
        ],
    )  # fmt: skip


def _reconciled(run: dict[str, Any] | None) -> str:
    if run is None or run.get("reconciled") is None:
        return ""
    return "一致 reconciled" if run["reconciled"] else "不一致 differs"


def _difference(detail: dict[str, Any]) -> str:
    found = detail.get("difference")
    if not found:
        return ""
    return f"missing {found['missing']}, extra {found['extra']}, changed {found['changed']}"
