"""Administration (管理), operators only: organisations, users and everyone's API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from sqlalchemy.orm import Session

from gongshu.errors import ValidationFailed
from gongshu.orgs import organisations as orgs
from gongshu.orgs import tokens, users
from gongshu.orgs.roles import Role
from gongshu.orgs.schemas import (
    DivisionPublic,
    OrganisationCreate,
    OrganisationUpdate,
    TokenCreate,
    UserCreate,
    UserUpdate,
)
from gongshu.service.deps import PlatformDep, SessionDep
from gongshu.web.auth import Operator
from gongshu.web.forms import blank_to_none, parse_form
from gongshu.web.queries import ORG_KINDS
from gongshu.web.routes.tokens import NO_STORE
from gongshu.web.twins import Done, Page, Result, invalid, page

router = APIRouter(prefix="/admin")
FormText = Annotated[str, Form()]
FormList = Annotated[list[str] | None, Form()]


def _org_choices(session: Session) -> dict[str, Any]:
    return {
        "organisations": [
            orgs.organisation_public(o) for o in orgs.list_organisations(session, include_inactive=True)
        ],
        "divisions": [DivisionPublic.model_validate(d) for d in orgs.list_divisions(session)],
        "kinds": list(ORG_KINDS),
        "roles": [role.value for role in Role],
    }


# --- organisations -------------------------------------------------------------------------------


@page(router, "/orgs", "admin_orgs.html")
def org_list(session: SessionDep, actor: Operator) -> dict[str, Any]:
    """Every organisation (active or not) and the form to register one."""
    return _org_choices(session)


@page(router, "/orgs", "admin_orgs.html", methods=["POST"])
def org_create(
    session: SessionDep,
    actor: Operator,
    code: FormText = "",
    name: FormText = "",
    name_en: FormText = "",
    uscc: FormText = "",
    kind: FormText = "department",
    parent: FormText = "",
    division: FormText = "310000",
) -> Result:
    form = {"code": code, "name": name, "name_en": name_en, "uscc": uscc, "kind": kind}
    form |= {"parent": parent, "division": division}
    values = {**form, "uscc": blank_to_none(uscc), "parent": blank_to_none(parent)}
    try:
        created = orgs.create_organisation(session, actor, parse_form(OrganisationCreate, values))
    except ValidationFailed as error:
        return invalid(error, _org_choices(session), form)
    return Done(f"/admin/orgs/{created.code}", orgs.organisation_public(created))


@page(router, "/orgs/{code}", "admin_org.html")
def org_edit(code: str, session: SessionDep, actor: Operator) -> dict[str, Any]:
    """The edit form of one organisation."""
    return {
        "organisation": orgs.organisation_public(orgs.get_organisation(session, code)),
        **_org_choices(session),
    }


@page(router, "/orgs/{code}", "admin_org.html", methods=["POST"])
def org_update(
    code: str,
    session: SessionDep,
    actor: Operator,
    name: FormText = "",
    name_en: FormText = "",
    uscc: FormText = "",
    parent: FormText = "",
    active: Annotated[bool, Form()] = False,
) -> Result:
    form = {"name": name, "name_en": name_en, "uscc": uscc, "parent": parent, "active": active}
    values = {**form, "uscc": blank_to_none(uscc), "parent": blank_to_none(parent)}
    try:
        updated = orgs.update_organisation(session, actor, code, parse_form(OrganisationUpdate, values))
    except ValidationFailed as error:
        return invalid(error, org_edit(code, session, actor), form)
    return Done("/admin/orgs", orgs.organisation_public(updated))


# --- users ---------------------------------------------------------------------------------------


def _user_list(session: Session, actor: Operator) -> dict[str, Any]:
    return {
        "users": [users.user_public(u) for u in users.list_users(session, actor)],
        **_org_choices(session),
    }


@page(router, "/users", "admin_users.html")
def user_list(session: SessionDep, actor: Operator) -> dict[str, Any]:
    """Every user and the form to create one (roles as checkboxes)."""
    return _user_list(session, actor)


@page(router, "/users", "admin_users.html", methods=["POST"])
def user_create(
    session: SessionDep,
    actor: Operator,
    username: FormText = "",
    display_name: FormText = "",
    password: FormText = "",
    organisation: FormText = "",
    roles: FormList = None,
) -> Result:
    form: dict[str, Any] = {"username": username, "display_name": display_name, "organisation": organisation}
    form["roles"] = roles or []
    values = {**form, "password": blank_to_none(password), "organisation": blank_to_none(organisation)}
    try:
        created = users.create_user(session, actor, parse_form(UserCreate, values))
    except ValidationFailed as error:
        return invalid(error, _user_list(session, actor), form)
    return Done("/admin/users", users.user_public(created))


@page(router, "/users/{username}", "admin_user.html")
def user_edit(username: str, session: SessionDep, actor: Operator) -> dict[str, Any]:
    """The edit form of one user: roles, organisation, active, password reset."""
    return {"user": users.user_public(users.get_user(session, username)), **_org_choices(session)}


@page(router, "/users/{username}", "admin_user.html", methods=["POST"])
def user_update(
    username: str,
    session: SessionDep,
    actor: Operator,
    display_name: FormText = "",
    organisation: FormText = "",
    roles: FormList = None,
    active: Annotated[bool, Form()] = False,
    password: FormText = "",
) -> Result:
    form = {
        "display_name": display_name,
        "organisation": organisation,
        "roles": roles or [],
        "active": active,
    }
    values: dict[str, Any] = {**form, "organisation": blank_to_none(organisation)}
    if password:
        values["password"] = password  # a reset; left empty, the password stays as it is
    try:
        updated = users.update_user(session, actor, username, parse_form(UserUpdate, values))
    except ValidationFailed as error:
        session.rollback()
        return invalid(error, user_edit(username, session, actor), form)
    return Done("/admin/users", users.user_public(updated))


# --- tokens --------------------------------------------------------------------------------------


def _token_list(session: Session, actor: Operator) -> dict[str, Any]:
    return {
        "tokens": [tokens.token_public(t) for t in tokens.list_tokens(session, actor)],
        "users": [u.username for u in users.list_users(session, actor) if u.active],
    }


@page(router, "/tokens", "admin_tokens.html")
def token_list(session: SessionDep, actor: Operator) -> dict[str, Any]:
    """Every token with its state (never its secret) and the form to issue one for a user."""
    return _token_list(session, actor)


@page(router, "/tokens", "token_issued.html", methods=["POST"])
def token_issue(
    platform: PlatformDep,
    session: SessionDep,
    actor: Operator,
    username: FormText = "",
    name: FormText = "",
    expires_in_days: FormText = "",
) -> Result:
    """Issue a token for a user; the result page shows the secret once."""
    form = {"username": username, "name": name, "expires_in_days": expires_in_days}
    values = {**form, "username": blank_to_none(username), "expires_in_days": blank_to_none(expires_in_days)}
    try:
        spec = parse_form(TokenCreate, values)
        issued = tokens.issue_token(session, actor, spec, prefix=platform.settings.token_prefix)
    except ValidationFailed as error:
        return invalid(error, _token_list(session, actor), form, template="admin_tokens.html")
    return Page({"token": issued, "back": "/admin/tokens"}, headers=NO_STORE)


@page(router, "/tokens/{token_id}/revoke", "admin_tokens.html", methods=["POST"])
def token_revoke(token_id: int, session: SessionDep, actor: Operator) -> Result:
    """Revoke any user's token at once."""
    return Done("/admin/tokens", tokens.token_public(tokens.revoke_token(session, actor, token_id)))
