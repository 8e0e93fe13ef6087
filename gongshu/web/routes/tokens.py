"""The signed-in user's own API tokens (令牌): list, issue (secret shown once), revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form

from gongshu.errors import ValidationFailed
from gongshu.orgs.schemas import TokenCreate
from gongshu.orgs.tokens import issue_token, list_tokens, revoke_token, token_public
from gongshu.service.deps import PlatformDep, SessionDep
from gongshu.web.auth import SignedIn, username_of
from gongshu.web.forms import blank_to_none, parse_form
from gongshu.web.twins import Done, Page, Result, invalid, page

router = APIRouter()

#: The page that shows a new secret must never be cached or kept in history.
NO_STORE = {"Cache-Control": "no-store"}


def own_tokens(session: SessionDep, actor: SignedIn) -> dict[str, Any]:
    return {"tokens": [token_public(t) for t in list_tokens(session, actor, username=username_of(actor))]}


@page(router, "/tokens", "tokens.html")
def tokens(session: SessionDep, actor: SignedIn) -> dict[str, Any]:
    """The viewer's tokens with their state; secrets are never shown here."""
    return own_tokens(session, actor)


@page(router, "/tokens", "token_issued.html", methods=["POST"])
def issue(
    platform: PlatformDep,
    session: SessionDep,
    actor: SignedIn,
    name: Annotated[str, Form()] = "",
    expires_in_days: Annotated[str, Form()] = "",
) -> Result:
    """Issue a token for the viewer; the result page shows the secret once."""
    form = {"name": name, "expires_in_days": expires_in_days}
    try:
        spec = parse_form(TokenCreate, {"name": name, "expires_in_days": blank_to_none(expires_in_days)})
        issued = issue_token(session, actor, spec, prefix=platform.settings.token_prefix)
    except ValidationFailed as error:
        return invalid(error, own_tokens(session, actor), form, template="tokens.html")
    return Page({"token": issued, "back": "/tokens"}, headers=NO_STORE)


@page(router, "/tokens/{token_id}/revoke", "tokens.html", methods=["POST"])
def revoke(token_id: int, session: SessionDep, actor: SignedIn) -> Result:
    """Revoke one of the viewer's tokens at once."""
    return Done("/tokens", token_public(revoke_token(session, actor, token_id)))
