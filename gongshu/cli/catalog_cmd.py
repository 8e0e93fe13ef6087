"""`gongshu catalog …`: list, show, create from YAML, validate, update, lifecycle actions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from gongshu.catalogue import browse, entries
from gongshu.catalogue.validation import validate_entry
from gongshu.cli.output import (
    DataDirOption,
    JsonOption,
    console,
    platform_for,
    print_json,
    print_table,
    read_yaml_documents,
)
from gongshu.errors import ValidationFailed
from gongshu.orgs.roles import cli_principal

catalog_app = typer.Typer(help="资源目录 the resource catalogue", no_args_is_help=True)


def _read_documents(path: Path) -> list[dict[str, Any]]:
    """One or more entries from a YAML file (``---``-separated documents or a list)."""
    return read_yaml_documents(path, "catalogue entry")


@catalog_app.command("list")
def list_entries(
    data_dir: DataDirOption = None,
    q: Annotated[str | None, typer.Option("--q", "-q", help="search text (Chinese is segmented)")] = None,
    provider: str | None = None,
    district: str | None = None,
    share_type: str | None = None,
    open_type: str | None = None,
    status: str | None = None,
    limit: int = 50,
    as_json: JsonOption = False,
) -> None:
    """List or search entries."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        query = browse.CatalogQuery(
            q=q,
            provider=provider,
            district=district,
            share_type=share_type,
            open_type=open_type,
            status=status,
            per_page=limit,
        )
        page = browse.search_entries(session, cli_principal(), query)
        if as_json:
            print_json(browse.page_document(session, page))
            return
        print_table(
            f"资源目录 {len(page.entries)}/{page.total}",
            ["资源代码", "资源名称", "提供方", "共享类型", "开放属性", "更新周期", "状态"],
            [
                (e.code, e.name, e.provider.name, e.share_type, e.open_type, e.update_cycle, e.status)
                for e in page.entries
            ],
        )


@catalog_app.command("show")
def show(
    code: str,
    data_dir: DataDirOption = None,
    as_yaml: bool = typer.Option(False, "--yaml"),
    as_json: JsonOption = False,
) -> None:
    """Show one entry (as YAML it can be edited and fed back to `catalog update`)."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        entry = browse.get_entry(session, cli_principal(), code)
        if as_yaml:
            typer.echo(yaml.safe_dump(entries.entry_document(entry), allow_unicode=True, sort_keys=False))
            return
        public = browse.entry_public(session, entry)
        if as_json:
            print_json(public.model_dump(mode="json"))
            return
        console.print(f"[bold]{public.name}[/]  {public.code}  v{public.version}  [{public.status}]")
        for label, value in [
            ("提供方", f"{public.provider_name} ({public.provider})"),
            ("摘要", public.summary),
            ("格式", public.format),
            ("共享类型", public.share_type),
            ("开放属性", public.open_type),
            ("更新周期", public.update_cycle),
            ("发布日期", public.publish_date),
        ]:
            console.print(f"  {label}: {value}", highlight=False)
        print_table(
            "信息项",
            ["标识", "名称", "类型", "长度", "数据元", "级别"],
            [
                (i.name, i.label, i.type, i.length, f"{i.element} {i.element_name}", i.grade)
                for i in public.items
            ],
        )


@catalog_app.command("validate")
def validate(file: Path, data_dir: DataDirOption = None) -> None:
    """Check entries in a YAML file without saving them; every problem is listed."""
    platform = platform_for(data_dir)
    all_problems: dict[str, list[str]] = {}
    with platform.store.session() as session:
        for index, document in enumerate(_read_documents(file)):
            spec = entries.parse_spec(document)
            for field, messages in validate_entry(
                session, spec, code_pattern=platform.settings.resource_code_pattern
            ).items():
                all_problems[f"{spec.code}:{field}" if spec.code else f"#{index}:{field}"] = messages
    if all_problems:
        raise ValidationFailed(all_problems)
    console.print(f"[green]valid:[/] {file}")


@catalog_app.command("create")
def create(
    file: Path,
    data_dir: DataDirOption = None,
    submit: bool = typer.Option(False, help="submit for review after creating"),
) -> None:
    """Create entries (drafts) from a YAML file; all or none are saved."""
    platform = platform_for(data_dir)
    actor = cli_principal()
    with platform.store.session() as session:
        created = []
        for document in _read_documents(file):
            entry = entries.create_entry(
                session,
                actor,
                entries.parse_spec(document),
                code_pattern=platform.settings.resource_code_pattern,
            )
            if submit:
                entries.transition(session, actor, entry.code, "submit")
            created.append(entry.code)
    console.print(f"[green]created {len(created)}:[/] {', '.join(created)}")


@catalog_app.command("update")
def update(file: Path, data_dir: DataDirOption = None) -> None:
    """Replace entries' fields from a YAML file (matched by 资源代码); each becomes a new version."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        for document in _read_documents(file):
            spec = entries.parse_spec(document)
            entry = entries.update_entry(
                session,
                cli_principal(),
                spec.code,
                spec,
                code_pattern=platform.settings.resource_code_pattern,
            )
            console.print(f"[green]updated[/] {entry.code} → v{entry.version}")


def _transition_command(action: str, help_text: str, needs_note: bool) -> None:
    def command(
        code: str,
        data_dir: DataDirOption = None,
        note: Annotated[str | None, typer.Option(help="reason (required for return/revoke)")] = None,
    ) -> None:
        platform = platform_for(data_dir)
        with platform.store.session() as session:
            entry = entries.transition(session, cli_principal(), code, action, note=note)
            console.print(f"[green]{action}:[/] {entry.code} is {entry.status} (v{entry.version})")

    command.__doc__ = help_text + (" A --note is required." if needs_note else "")
    catalog_app.command(action)(command)


for _name, _action in entries.ACTIONS.items():
    _transition_command(
        _name,
        {
            "submit": "Submit a draft for review (提交审核).",
            "return": "Return a submitted entry to draft (退回).",
            "publish": "Publish a submitted entry (发布).",
            "mount": "Mark a published entry as mounted (挂载).",
            "revoke": "Revoke a published or mounted entry (撤销).",
        }[_name],
        _action.needs_note,
    )


@catalog_app.command("versions")
def versions(code: str, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Every version of an entry, newest first."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        found = [browse.version_public(v) for v in browse.list_versions(session, cli_principal(), code)]
    if as_json:
        print_json([v.model_dump(mode="json") for v in found])
        return
    print_table(
        f"{code} versions",
        ["版本", "变更", "状态", "操作人", "时间", "说明"],
        [(v.version, v.change, v.status, v.actor, v.at.isoformat(timespec="seconds"), v.note) for v in found],
    )
