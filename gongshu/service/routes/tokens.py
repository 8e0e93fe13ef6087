"""API tokens: issue (the secret is shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter

from gongshu.orgs import tokens
from gongshu.orgs.schemas import TokenCreate, TokenIssued, TokenPublic
from gongshu.service.deps import ApiPrincipal, PlatformDep, SessionDep

router = APIRouter(prefix="/tokens", tags=["tokens 令牌"])


@router.get("")
def list_all(session: SessionDep, actor: ApiPrincipal, username: str | None = None) -> list[TokenPublic]:
    return [tokens.token_public(t) for t in tokens.list_tokens(session, actor, username=username)]


@router.post("", status_code=201)
def issue(spec: TokenCreate, platform: PlatformDep, session: SessionDep, actor: ApiPrincipal) -> TokenIssued:
    return tokens.issue_token(session, actor, spec, prefix=platform.settings.token_prefix)


@router.delete("/{token_id}")
def revoke(token_id: int, session: SessionDep, actor: ApiPrincipal) -> TokenPublic:
    return tokens.token_public(tokens.revoke_token(session, actor, token_id))
