"""`gongshu org|user|token|element …`: organisations, people, API tokens and data elements."""

from __future__ import annotations

from typing import Annotated

import typer

from gongshu.catalogue import elements
from gongshu.cli.output import DataDirOption, JsonOption, console, platform_for, print_json, print_table
from gongshu.orgs import organisations, tokens, users
from gongshu.orgs.roles import cli_principal
from gongshu.orgs.schemas import OrganisationCreate, TokenCreate, UserCreate, UserUpdate

org_app = typer.Typer(help="机构 organisations (委办局、区、大数据中心)", no_args_is_help=True)
user_app = typer.Typer(help="用户 users and roles", no_args_is_help=True)
token_app = typer.Typer(help="令牌 API tokens", no_args_is_help=True)
element_app = typer.Typer(help="数据元 standard data elements", no_args_is_help=True)


@org_app.command("list")
def org_list(data_dir: DataDirOption = None, kind: str | None = None, as_json: JsonOption = False) -> None:
    """List organisations."""
    with platform_for(data_dir).store.session() as session:
        found = [
            organisations.organisation_public(o) for o in organisations.list_organisations(session, kind=kind)
        ]
    if as_json:
        print_json([o.model_dump() for o in found])
        return
    print_table(
        "机构",
        ["代码", "名称", "类型", "区划", "统一社会信用代码", "上级"],
        [(o.code, o.name, o.kind, o.division_name, o.uscc, o.parent_code) for o in found],
    )


@org_app.command("create")
def org_create(
    code: str,
    name: str,
    data_dir: DataDirOption = None,
    kind: Annotated[str, typer.Option(help="center | department | district")] = "department",
    uscc: str | None = None,
    parent: str | None = None,
    division: str = "310000",
    name_en: str = "",
) -> None:
    """Register an organisation."""
    spec = OrganisationCreate(
        code=code, name=name, name_en=name_en, uscc=uscc, kind=kind, parent=parent, division=division
    )
    with platform_for(data_dir).store.session() as session:
        org = organisations.create_organisation(session, cli_principal(), spec)
        console.print(f"[green]created[/] {org.code} {org.name}")


@user_app.command("list")
def user_list(
    data_dir: DataDirOption = None, organisation: str | None = None, as_json: JsonOption = False
) -> None:
    """List users with their roles."""
    with platform_for(data_dir).store.session() as session:
        found = [
            users.user_public(u)
            for u in users.list_users(session, cli_principal(), organisation=organisation)
        ]
    if as_json:
        print_json([u.model_dump(mode="json") for u in found])
        return
    print_table(
        "用户",
        ["用户名", "姓名", "机构", "角色", "启用"],
        [(u.username, u.display_name, u.organisation_code, ",".join(u.roles), u.active) for u in found],
    )


@user_app.command("create")
def user_create(
    username: str,
    display_name: str,
    data_dir: DataDirOption = None,
    organisation: str | None = None,
    role: Annotated[list[str] | None, typer.Option("--role", help="repeat for several roles")] = None,
    password: Annotated[
        str | None,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, prompt_required=False),
    ] = None,
) -> None:
    """Create a user (the password is asked for when --password is given without a value)."""
    spec = UserCreate(
        username=username,
        display_name=display_name,
        password=password,
        organisation=organisation,
        roles=role or [],
    )
    with platform_for(data_dir).store.session() as session:
        user = users.create_user(session, cli_principal(), spec)
        console.print(f"[green]created[/] {user.username}")


@user_app.command("update")
def user_update(
    username: str,
    data_dir: DataDirOption = None,
    organisation: str | None = None,
    role: Annotated[list[str] | None, typer.Option("--role", help="replaces all roles")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive")] = None,
    password: Annotated[str | None, typer.Option(hide_input=True)] = None,
) -> None:
    """Change a user's roles, organisation, state or password."""
    fields = {"organisation": organisation, "roles": role, "active": active, "password": password}
    change = UserUpdate(**{key: value for key, value in fields.items() if value is not None})
    with platform_for(data_dir).store.session() as session:
        user = users.update_user(session, cli_principal(), username, change)
        console.print(f"[green]updated[/] {user.username}: {', '.join(r.role for r in user.roles)}")


@token_app.command("issue")
def token_issue(
    username: Annotated[str, typer.Option("--user", help="the user who will hold the token")],
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
    days: Annotated[int | None, typer.Option(help="expire after this many days")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Issue an API token. The secret is printed once and never stored."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        issued = tokens.issue_token(
            session,
            cli_principal(),
            TokenCreate(name=name, expires_in_days=days, username=username),
            prefix=platform.settings.token_prefix,
        )
    console.print(f"token {issued.id} for {issued.username} (shown once, keep it safe):")
    typer.echo(issued.secret)


@token_app.command("list")
def token_list(data_dir: DataDirOption = None, user: str | None = None, as_json: JsonOption = False) -> None:
    """List tokens (never their secrets)."""
    with platform_for(data_dir).store.session() as session:
        found = [tokens.token_public(t) for t in tokens.list_tokens(session, cli_principal(), username=user)]
    if as_json:
        print_json([t.model_dump(mode="json") for t in found])
        return
    print_table(
        "令牌",
        ["ID", "用户", "名称", "前缀", "状态", "到期", "最近使用"],
        [
            (t.id, t.username, t.name, t.display_prefix + "…", t.state, t.expires_at, t.last_used_at)
            for t in found
        ],
    )


@token_app.command("revoke")
def token_revoke(token_id: int, data_dir: DataDirOption = None) -> None:
    """Revoke a token at once."""
    with platform_for(data_dir).store.session() as session:
        token = tokens.revoke_token(session, cli_principal(), token_id)
        console.print(f"[green]revoked[/] token {token.id} of {token.user.username}")


@element_app.command("list")
def element_list(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """List standard data elements (数据元)."""
    with platform_for(data_dir).store.session() as session:
        found = [(e.code, e.name, e.type, e.length, e.standard) for e in elements.list_elements(session)]
    if as_json:
        print_json(
            [dict(zip(["code", "name", "type", "length", "standard"], row, strict=True)) for row in found]
        )
        return
    print_table("数据元", ["代码", "名称", "类型", "长度", "标准"], found)
