"""Sign-in and sign-out (登录、退出)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request

from gongshu.errors import AuthenticationFailed
from gongshu.orgs.users import authenticate_password, get_user
from gongshu.service.deps import SessionDep
from gongshu.web.auth import Viewer
from gongshu.web.twins import Done, Page, Result, page

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only a path on this site is followed after sign-in (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


@page(router, "/login", "login.html")
def login_form(viewer: Viewer, next_url: Annotated[str, Query(alias="next")] = "/") -> dict[str, Any]:
    """The sign-in form."""
    return {"next": safe_next(next_url), "failed": False}


@page(router, "/login", "login.html", methods=["POST"])
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next_url: Annotated[str, Form(alias="next")] = "/",
) -> Result:
    """Check the password (argon2id); on success start a fresh session and go to ``next``."""
    try:
        principal = authenticate_password(session, username.strip(), password)
    except AuthenticationFailed as error:
        context = {"next": safe_next(next_url), "failed": True, "form": {"username": username}}
        return Page(context, status=401, error=error)
    request.session.clear()  # a new session (and CSRF nonce) at each sign-in
    request.session.update(uid=principal.user_id, name=get_user(session, username.strip()).display_name)
    return Done(safe_next(next_url), {"username": username.strip(), "roles": sorted(principal.roles)})


@page(router, "/logout", "login.html", methods=["POST"])
def logout(request: Request) -> Result:
    """Forget the session."""
    request.session.clear()
    return Done("/", {"signed_out": True})
