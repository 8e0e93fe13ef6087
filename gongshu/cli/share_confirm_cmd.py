"""`gongshu share letters …`: 确认函 — monthly confirmation letters of consuming departments, and 冻结.

The CLI acts as an operator (shell access to the data directory is operator access); ``confirm
--as USERNAME`` acts as that user instead, as the department would on the page.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

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
from gongshu.cli.share_cmd import acting_as
from gongshu.errors import ValidationFailed
from gongshu.orgs.roles import cli_principal
from gongshu.share import confirmation
from gongshu.share.exchange import call_log
from gongshu.store.base import city_today

confirm_app = typer.Typer(
    help="确认函 monthly confirmation letters of consuming departments, and freezing (冻结)",
    no_args_is_help=True,
)

MonthOption = Annotated[str, typer.Option("--month", help="the month of the letters, YYYY-MM")]
LangOption = Annotated[str, typer.Option("--lang", help="zh-CN or en")]
TodayOption = Annotated[
    str | None, typer.Option("--today", help="act as if today were YYYY-MM-DD (city date)")
]


def _today(value: str | None) -> date:
    if value is None:
        return city_today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed({"today": [f"a date YYYY-MM-DD, not {value!r}"]}) from None


@confirm_app.command("prepare")
def prepare(month: MonthOption, data_dir: DataDirOption = None, today: TodayOption = None) -> None:
    """Prepare the month's pending letters (idempotent; the month must have ended)."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        created = confirmation.prepare_letters(session, month, today=_today(today), actor=cli_principal())
        names = [(c.consumer.code, c.consumer.name, len(c.demands), c.due.isoformat()) for c in created]
    print_table(f"确认函 prepared for {month}: {len(names)}", ["部门", "名称", "需求数", "确认截止"], names)


@confirm_app.command("list")
def list_(
    data_dir: DataDirOption = None,
    consumer: Annotated[str | None, typer.Option("--consumer", help="organisation code")] = None,
    status: Annotated[str | None, typer.Option("--status", help="pending or confirmed")] = None,
    as_json: JsonOption = False,
) -> None:
    """Letters, pending first: month, department, demands, due date, overdue, frozen grants."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        found = confirmation.letters(session, cli_principal(), consumer=consumer, status=status)
    if as_json:
        print_json([s.model_dump(mode="json") for s in found])
        return
    print_table(
        f"确认函 letters {len(found)}",
        ["月份", "部门", "名称", "需求数", "状态", "确认截止", "逾期", "冻结", "确认人"],
        [
            (s.month, s.consumer, s.consumer_name, s.demands, s.status, s.due.isoformat(),
             "已逾期" if s.overdue else "", s.frozen or "", s.confirmed_by or "")
            for s in found
        ],
    )  # fmt: skip


@confirm_app.command("show")
def show(consumer: str, month: str, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """One letter: its demands with the month's calls by API, totals and confirmation state."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        content = confirmation.letter(session, cli_principal(), consumer, month, log=call_log(platform))
    if as_json:
        print_json(content.model_dump(mode="json"))
        return
    console.print(f"[bold]{confirmation.label('title')}[/] {content.consumer_name} {month}", highlight=False)
    state = f"{content.status} {city_time(content.confirmed_at)} {content.confirmed_by or ''}".strip()
    console.print(f"  确认截止 due: {content.due}   状态 status: {state}", highlight=False)
    console.print(f"  内容摘要 digest: {content.digest}", highlight=False)
    print_table(
        "需求 demands",
        ["需求", "授权", "资源", "应用场景", "方式", "期限", "状态", "调用", "合计"],
        [
            (d.code, d.grant, d.resource, d.scenario, d.method, f"{d.period_start} – {d.period_end}",
             d.status, " ".join(f"{api} {n:,}" for api, n in d.calls.items()), f"{d.total:,}")
            for d in content.demands
        ],
    )  # fmt: skip
    calls = " ".join(f"{api} {n:,}" for api, n in content.calls.items())
    console.print(f"  调用 calls: {calls}   合计 total {content.total_calls:,}", highlight=False)
    if content.frozen:
        console.print(f"  [red]冻结 frozen:[/] {', '.join(content.frozen)}", highlight=False)


@confirm_app.command("pdf")
def pdf(
    consumer: str,
    month: str,
    out: Annotated[Path, typer.Option("--out", help="the PDF file to write")],
    data_dir: DataDirOption = None,
    lang: LangOption = "zh-CN",
) -> None:
    """Print the letter 《共享数据使用确认函》 to an A4 PDF (needs Chromium)."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        content = confirmation.letter(session, cli_principal(), consumer, month, log=call_log(platform))
    out.write_bytes(confirmation.letter_pdf(content, lang))
    console.print(f"{out} ({out.stat().st_size:,} bytes)", highlight=False)


@confirm_app.command("confirm")
def confirm(
    consumer: str,
    month: str,
    data_dir: DataDirOption = None,
    as_user: Annotated[
        str | None, typer.Option("--as", help="act as this user (a consumer or steward)")
    ] = None,
) -> None:
    """Confirm a letter (确认); unfreezes the grants its month froze."""
    platform = platform_for(data_dir)
    actor = acting_as(platform, as_user)
    with platform.store.session() as session:
        done = confirmation.confirm(session, actor, consumer, month, log=call_log(platform))
    console.print(f"{consumer} {month}: confirmed, digest {done.letter.letter_digest}", highlight=False)
    if done.unfrozen:
        console.print(f"unfrozen 解冻: {', '.join(done.unfrozen)}", highlight=False)


@confirm_app.command("freeze")
def freeze(data_dir: DataDirOption = None, today: TodayOption = None) -> None:
    """Freeze the grants of pending letters past their due date (冻结); prints what froze."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        frozen = confirmation.freeze_overdue(session, cli_principal(), today=_today(today))
    _print_frozen(frozen)


@confirm_app.command("run")
def run(data_dir: DataDirOption = None, today: TodayOption = None) -> None:
    """The daily job: prepare last month's letters, then freeze overdue ones."""
    done = confirmation.run_monthly(platform_for(data_dir), today=_today(today))
    console.print(f"letters of {done.month} prepared for: {', '.join(done.prepared) or '—'}", highlight=False)
    _print_frozen(done.frozen)


def _print_frozen(frozen: list[confirmation.Frozen]) -> None:
    print_table(
        f"冻结 frozen {len(frozen)}",
        ["授权", "需求", "部门", "未确认月份"],
        [(f.grant, f.demand, f.consumer, f.month) for f in frozen],
    )
