"""``gongshu city generate`` and ``gongshu bench city``: thin shells over :mod:`gongshu.city`."""

from __future__ import annotations

import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gongshu.city import CityResult, generate_city
from gongshu.errors import GongshuError

city_app = typer.Typer(help="The synthetic city (合成城市): department source systems for demos and tests.")
console = Console()


@city_app.callback()
def city() -> None:
    """The synthetic city (合成城市): department source systems for demos and tests."""


def _fail(error: GongshuError) -> typer.Exit:
    console.print(f"[red]error: {error.message}[/red]")
    if error.hint:
        console.print(f"[red]hint: {error.hint}[/red]")
    return typer.Exit(error.exit_code)


def _summary(result: CityResult) -> Table:
    table = Table(title=f"synthetic city: {result.persons:,} persons, seed {result.seed}")
    for name in ("department", "source", "kind", "location", "table", "encoding", "rows"):
        table.add_column(name, justify="right" if name == "rows" else "left")
    for s in [*result.sources, *result.open_sources]:
        table.add_row(
            f"{s.department} {s.department_name}" + (" 开放" if s in result.open_sources else ""),
            s.source,
            s.kind,
            s.location,
            s.table,
            s.encoding or "-",
            f"{s.rows:,}",
        )
    open_rows = sum(s.rows for s in result.open_sources)
    table.add_row("total", "", "", "", "", "", f"{result.total_rows + open_rows:,}")
    return table


@city_app.command("generate")
def generate(
    persons: int = typer.Option(1000, "--persons", help="number of residents"),
    out: Path = typer.Option(Path("./gongshu-data/city"), "--out", help="output directory"),
    seed: int = typer.Option(20260101, "--seed", help="random seed (same seed, same files)"),
    pg_url: str | None = typer.Option(None, "--pg-url", help="PostgreSQL URL for 公安's register"),
    mysql_url: str | None = typer.Option(None, "--mysql-url", help="MariaDB URL for 市场监管's register"),
    only: str | None = typer.Option(None, "--only", help="department codes, e.g. GA,MZ"),
) -> None:
    """Generate the departments' source systems and the ground-truth manifest."""
    chosen = [d for d in only.split(",") if d.strip()] if only else None
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def report(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        try:
            result = generate_city(
                out,
                persons=persons,
                seed=seed,
                pg_url=pg_url,
                mysql_url=mysql_url,
                only=chosen,
                progress=report,
            )
        except GongshuError as error:
            raise _fail(error) from None
    console.print(_summary(result))
    console.print(
        f"{result.defects:,} defects and {result.variations:,} variations planted; "
        f"manifest: {result.manifest_path}; {result.seconds:.1f} s"
    )


def _faker_rows_per_second(rows: int) -> float:
    from faker import Faker

    fake = Faker("zh_CN")
    fake.seed_instance(20260101)
    started = time.perf_counter()
    for _ in range(rows):
        (fake.name(), fake.ssn(), fake.address(), fake.phone_number(), fake.date_of_birth())
    return rows / (time.perf_counter() - started)


def bench_city(
    persons: Annotated[int, typer.Option(help="persons in the synthetic city")] = 100_000,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    out: Annotated[Path | None, typer.Option(help="keep the generated city here")] = None,
) -> None:
    """Generate the city into a temporary directory and print throughput figures.

    The baseline is measured in the same run: Faker's zh_CN provider producing person rows
    (name, ssn, address, phone_number, date_of_birth) one by one for min(persons, 20,000) rows.
    """
    try:
        with tempfile.TemporaryDirectory(prefix="gongshu-city-") as tmp:
            result = generate_city(out or Path(tmp), persons=persons)
    except GongshuError as error:
        raise _fail(error) from None
    faker_rows = min(persons, 20_000)
    faker_rate = _faker_rows_per_second(faker_rows)
    rate = result.total_rows / result.seconds
    figures = {
        "persons": persons,
        "total_rows": result.total_rows,
        "sources": len(result.sources),
        "seconds": round(result.seconds, 3),
        "rows_per_second": round(rate),
        "persons_per_second": round(persons / result.seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "faker_rows": faker_rows,
        "faker_rows_per_second": round(faker_rate),
        "ratio_vs_faker": round(rate / faker_rate, 1),
    }
    if json_out:
        typer.echo(json.dumps(figures))
        return
    table = Table(title="gongshu bench city")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int | float) else str(value))
    console.print(table)
