"""Console output shared by the CLI commands: tables, JSON, errors without tracebacks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gongshu.config import Settings, load_settings
from gongshu.errors import GongshuError
from gongshu.platform import Platform, open_platform
from gongshu.store.base import CITY_TIMEZONE

console = Console()
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="GONGSHU_DATA_DIR", help="data directory (default ./gongshu-data)"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def settings_for(data_dir: Path | None, **overrides: Any) -> Settings:
    return load_settings(data_dir=data_dir, **overrides)


def platform_for(data_dir: Path | None, *, migrate: bool = False) -> Platform:
    return open_platform(settings_for(data_dir), migrate=migrate)


def print_error(error: GongshuError) -> None:
    """A user error: message, each problem on its own line, the hint. Never a traceback."""
    err_console.print(f"[bold red]error:[/] {error.message}", highlight=False)
    problems = getattr(error, "problems", None)
    if isinstance(problems, dict):
        for field, messages in problems.items():
            for message in messages:
                err_console.print(f"  [red]•[/] [bold]{field}[/]: {message}", highlight=False)
    if error.hint:
        err_console.print(f"[yellow]hint:[/] {error.hint}", highlight=False)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title, show_lines=False, header_style="bold cyan")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)


def read_yaml_documents(path: Path, what: str) -> list[dict[str, Any]]:
    """Mappings from a YAML (or JSON) file: one mapping, a list of them, or ``---``-separated documents.

    ``what`` names the expected content in the error, e.g. "catalogue entry".
    """
    import yaml

    from gongshu.errors import ValidationFailed

    if not path.is_file():
        raise ValidationFailed({"file": [f"{path} is not a file"]})
    try:
        loaded = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ValidationFailed({"file": [f"{path} is not UTF-8 YAML: {error}"]}) from None
    documents: list[dict[str, Any]] = []
    for item in loaded:
        documents.extend(item if isinstance(item, list) else [item] if item else [])
    if not documents or not all(isinstance(d, dict) for d in documents):
        raise ValidationFailed({"file": [f"{path} holds no {what} mapping"]})
    return documents


def city_time(value: datetime | str | None) -> str:
    """A time (or an ISO string, as documents carry them) in the city's zone, to the second."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(CITY_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")
