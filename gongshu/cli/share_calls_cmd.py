"""`gongshu share verify|query|sql`: call a grant from the shell, through the same exchange as the API.

The CLI decides with the same grant rules, meters against the same daily quota (seeded from the call
log) and writes the same call-log record as the HTTP service. ``--as USERNAME`` calls as that
consumer user; without it the CLI is an operator, which holds no grants — so it is refused.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gongshu.cli.output import DataDirOption, JsonOption, console, platform_for, print_json, print_table
from gongshu.cli.share_cmd import AsOption, acting_as
from gongshu.errors import GongshuError, ValidationFailed
from gongshu.orgs.models import Organisation
from gongshu.platform import Platform
from gongshu.share.lakesql import run_sql
from gongshu.share.runtime import Answer, Caller, Exchange, run_sync

ValuesOption = Annotated[list[str], typer.Option("--value", "-v", help="信息项=value (repeat)")]
FilterOption = Annotated[list[str] | None, typer.Option("--filter", "-f", help="信息项=value (repeat)")]


class CallRefused(GongshuError):
    """The exchange refused the call (the code says why)."""

    code = "refused"
    exit_code = 7


def _pairs(option: str, items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValidationFailed({option: [f"use 信息项=value, not {item!r}"]})
        pairs[name.strip()] = value
    return pairs


def _exchange(platform: Platform, code: str, username: str | None) -> tuple[Exchange, Caller]:
    actor = acting_as(platform, username)
    with platform.store.session() as session:
        org = session.get(Organisation, actor.organisation_id) if actor.organisation_id else None
        caller = Caller(actor.name, actor.organisation_id, org.code if org else "")
    exchange = Exchange(platform)
    exchange.index.load_one(code)
    exchange.seed_meter()
    return exchange, caller


def _checked(answer: Answer) -> dict[str, object]:
    if answer.status != 200:
        error = answer.body.get("error", {})
        raise CallRefused(
            f"{answer.status} {error.get('code')}: {error.get('message')}", hint=error.get("hint")
        )
    return answer.body


def share_verify(
    grant: str,
    values: ValuesOption,
    scenario: Annotated[str | None, typer.Option(help="must be the grant's scenario")] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """核验 verify identifying values (e.g. -v id_number=… -v name=…): 一致 / 不一致 / 无记录 only."""
    platform = platform_for(data_dir)
    exchange, caller = _exchange(platform, grant, as_user)
    body = _checked(run_sync(exchange.verify(caller, grant, _pairs("value", values), scenario)))
    exchange.log.close()
    if as_json:
        print_json(body)
    else:
        console.print(f"{body['label']} ({body['result']}) · request {body['request_id']}")


def share_query(
    grant: str,
    filters: FilterOption = None,
    fields: Annotated[str | None, typer.Option(help="comma-separated subset of the granted 信息项")] = None,
    limit: int = 20,
    offset: int = 0,
    scenario: Annotated[str | None, typer.Option(help="must be the grant's scenario")] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """查询 granted rows matching the filters: granted 信息项 only, masked by grade."""
    platform = platform_for(data_dir)
    exchange, caller = _exchange(platform, grant, as_user)
    chosen = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    answer = exchange.query(
        caller,
        grant,
        _pairs("filter", filters or []),
        fields=chosen,
        limit=limit,
        offset=offset,
        scenario=scenario,
    )
    body = _checked(run_sync(answer))
    exchange.log.close()
    if as_json:
        print_json(body)
        return
    names: list[str] = body["fields"]  # type: ignore[assignment]
    rows: list[dict[str, object]] = body["rows"]  # type: ignore[assignment]
    print_table(f"查询结果 {len(rows)} / {body['total']}", names, [[r.get(n) for n in names] for r in rows])
    if body["masked"]:
        console.print(f"[dim]脱敏 masked: {', '.join(body['masked'])}[/]")  # type: ignore[arg-type]


def share_sql(
    grant: str,
    sql: Annotated[str, typer.Argument(help="one SELECT over the table `granted`")],
    limit: int = 100,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """湖上 SQL: run one SELECT over the grant's view (table `granted`: granted 信息项 and rows, masked)."""
    platform = platform_for(data_dir)
    answer = run_sql(platform, acting_as(platform, as_user), grant, sql, limit=limit)
    if as_json:
        print_json({"columns": answer.columns, "rows": answer.rows, "truncated": answer.truncated})
        return
    print_table(f"SQL {len(answer.rows)} 行", answer.columns, answer.rows)
    if answer.truncated:
        console.print(f"[yellow]truncated at {limit} rows[/]")
