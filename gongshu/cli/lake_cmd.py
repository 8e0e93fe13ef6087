"""`gongshu lake …`: the lake's tables, their history (snapshots), schema and rows at any snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.table import Table

from gongshu.cli.output import (
    DataDirOption,
    JsonOption,
    city_time,
    console,
    print_json,
    print_table,
    settings_for,
)
from gongshu.errors import ValidationFailed
from gongshu.lake import Lake, SnapshotInfo, TableRef, Zone, open_lake
from gongshu.store.base import CITY_TIMEZONE

lake_app = typer.Typer(
    help="数据湖 the lake: Iceberg tables in raw 原始库, standard 标准库, quarantine 问题数据",
    no_args_is_help=True,
)

TableArgument = Annotated[str, typer.Argument(help="zone.name, e.g. standard.ga_population")]


@contextmanager
def _open(data_dir: Path | None) -> Iterator[Lake]:
    lake = open_lake(settings_for(data_dir))
    try:
        yield lake
    finally:
        lake.close()


def _in_city_time(value: Any) -> Any:
    """Zoned timestamps (TIMESTAMPTZ) in the city's zone; the same instant, as people expect to read it."""
    return value.astimezone(CITY_TIMEZONE) if isinstance(value, datetime) and value.tzinfo else value


def _print_fixed_table(title: str, columns: list[str], rows: list[tuple[Any, ...]], *, fixed: int) -> None:
    """A table whose first ``fixed`` columns never wrap or truncate (ids people copy, times)."""
    table = Table(title=title, header_style="bold cyan")
    for index, column in enumerate(columns):
        table.add_column(column, no_wrap=index < fixed)
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)


def _parse_time(text: str) -> datetime:
    """An ISO time; without a zone it is the city's (Asia/Shanghai)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed({"as_of": [f"{text!r} is not an ISO time, e.g. 2026-11-21T08:30"]}) from None
    return value if value.tzinfo else value.replace(tzinfo=CITY_TIMEZONE)


def _snapshot_document(info: SnapshotInfo) -> dict[str, Any]:
    return {
        "snapshot_id": info.snapshot_id,
        "parent_id": info.parent_id,
        "committed_at": info.committed_at.isoformat(),
        "operation": info.operation,
        "batch_id": info.batch_id,
        "added_records": info.added_records,
        "added_files": info.added_files,
        "total_records": info.total_records,
    }


@lake_app.command("tables")
def tables(
    data_dir: DataDirOption = None,
    zone: Annotated[str | None, typer.Option(help="raw, standard or quarantine")] = None,
    as_json: JsonOption = False,
) -> None:
    """The lake's tables with their snapshot count, records and last commit."""
    with _open(data_dir) as lake:
        rows = []
        for ref in lake.tables(Zone.parse(zone) if zone else None):
            history = lake.history(ref)
            last = history[-1] if history else None
            rows.append((ref, len(history), last))
    if as_json:
        print_json(
            [
                {
                    "table": str(ref),
                    "zone": ref.zone.value,
                    "snapshots": count,
                    "total_records": last.total_records if last else 0,
                    "last_commit": last.committed_at.isoformat() if last else None,
                }
                for ref, count, last in rows
            ]
        )
        return
    _print_fixed_table(
        f"数据湖 {len(rows)} tables",
        ["表 table", "分区", "快照数", "记录数", "最近提交"],
        [
            (
                str(ref),
                ref.zone.label,
                count,
                last.total_records if last else 0,
                city_time(last.committed_at) if last else "",
            )
            for ref, count, last in rows
        ],
        fixed=1,
    )


@lake_app.command("history")
def history(table: TableArgument, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Every snapshot of a table, oldest first: one per committed batch (times in Asia/Shanghai)."""
    ref = TableRef.parse(table)
    with _open(data_dir) as lake:
        found = lake.history(ref)
    if as_json:
        print_json([_snapshot_document(info) for info in found])
        return
    _print_fixed_table(
        f"{ref} 快照 history",
        ["快照 snapshot", "提交时间", "批次 batch", "新增", "总数", "操作"],
        [
            (
                info.snapshot_id,
                city_time(info.committed_at),
                info.batch_id,
                info.added_records,
                info.total_records,
                info.operation,
            )
            for info in found
        ],
        fixed=3,
    )


@lake_app.command("schema")
def schema(table: TableArgument, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """A table's current columns: Iceberg type, DuckDB type, field id."""
    ref = TableRef.parse(table)
    with _open(data_dir) as lake:
        columns = lake.columns(ref)
    if as_json:
        print_json([column.__dict__ for column in columns])
        return
    print_table(
        f"{ref} schema",
        ["列 column", "类型 type", "DuckDB", "字段号 field id"],
        [(c.name, c.type, c.duckdb_type, c.field_id) for c in columns],
    )


@lake_app.command("read")
def read(
    table: TableArgument,
    data_dir: DataDirOption = None,
    snapshot: Annotated[int | None, typer.Option("--snapshot", help="snapshot id (see history)")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="ISO time; without a zone, Asia/Shanghai")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="rows to show")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Rows of a table at its current snapshot, a snapshot id, or as of a time (time travel)."""
    ref = TableRef.parse(table)
    when = _parse_time(as_of) if as_of else None
    with _open(data_dir) as lake, duckdb.connect() as con:
        info = lake.snapshot_at(ref, snapshot_id=snapshot, as_of=when)
        relation = lake.relation(con, ref, snapshot_id=snapshot, as_of=when).limit(limit)
        # through Arrow: DuckDB's own fetchall() needs pytz for TIMESTAMPTZ values
        records = [
            {key: _in_city_time(value) for key, value in record.items()}
            for record in relation.to_arrow_table().to_pylist()
        ]
        columns = relation.columns
    if as_json:
        print_json(records)
        return
    rows = [[record[column] for column in columns] for record in records]
    total = info.total_records if info else 0
    at = f"snapshot {info.snapshot_id} ({city_time(info.committed_at)})" if info else "no snapshot yet"
    print_table(f"{ref} @ {at}: {len(rows)} of {total} rows", columns, rows)


@lake_app.command("files")
def files(
    table: TableArgument,
    data_dir: DataDirOption = None,
    snapshot: Annotated[int | None, typer.Option("--snapshot", help="snapshot id (see history)")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="ISO time; without a zone, Asia/Shanghai")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The Parquet files of a snapshot, one path a line: what Spark or any Parquet reader should read."""
    ref = TableRef.parse(table)
    with _open(data_dir) as lake:
        paths = lake.files(ref, snapshot_id=snapshot, as_of=_parse_time(as_of) if as_of else None)
    if as_json:
        print_json(paths)
        return
    for path in paths:
        typer.echo(path)
