"""API tokens: random, prefixed, stored as SHA-256 digests, revocable, optionally expiring.

A token is ``<prefix><43 url-safe characters>`` (256 bits of randomness), e.g. ``gsk_Qm9...``.
The prefix lets secret scanners recognise a leaked token. Because the secret is uniformly random,
a plain SHA-256 digest is enough (a slow password hash adds nothing against a 256-bit secret and
would slow every API call); see ``docs/adr/0004-auth-model.md``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.errors import AuthenticationFailed, NotFound, PermissionDenied
from gongshu.orgs.models import ApiToken, User
from gongshu.orgs.roles import Principal, Role
from gongshu.orgs.schemas import TokenCreate, TokenIssued, TokenPublic
from gongshu.orgs.users import get_user, principal_of
from gongshu.security import audit
from gongshu.store.base import utcnow

DEFAULT_PREFIX = "gsk_"
_LAST_USED_RESOLUTION = timedelta(minutes=5)


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_token(
    session: Session, actor: Principal, spec: TokenCreate, *, prefix: str = DEFAULT_PREFIX
) -> TokenIssued:
    """Issue a token for the actor (or, for operators, another user). The secret is returned once."""
    if actor.user_id is None and spec.username is None:
        raise PermissionDenied("only a user can hold a token", hint="name the user with --user")
    user = get_user(session, spec.username) if spec.username else session.get(User, actor.user_id)
    assert user is not None
    if user.id != actor.user_id:
        actor.require(Role.OPERATOR, action="issuing a token for another user")
    secret = prefix + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=spec.name,
        display_prefix=secret[: len(prefix) + 4],
        digest=token_digest(secret),
        expires_at=utcnow() + timedelta(days=spec.expires_in_days) if spec.expires_in_days else None,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor.name,
        action="token.issue",
        object_type="api_token",
        object_id=str(token.id),
        detail={"user": user.username, "name": spec.name, "expires_at": token.expires_at},
    )
    return TokenIssued(**token_public(token).model_dump(), secret=secret)


def authenticate_token(session: Session, secret: str) -> Principal:
    """The principal holding ``secret``; unknown, revoked and expired tokens are refused alike."""
    token = session.scalar(sa.select(ApiToken).where(ApiToken.digest == token_digest(secret)))
    now = utcnow()
    if token is None or _state(token, now) != "active" or not token.user.active:
        raise AuthenticationFailed("invalid, revoked or expired API token")
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        token.last_used_at = now  # coarse, so a busy API does not write on every call
    return principal_of(token.user)


def revoke_token(session: Session, actor: Principal, token_id: int) -> ApiToken:
    """Revoke a token at once. Holders revoke their own; operators revoke any. Audited."""
    token = session.get(ApiToken, token_id)
    if token is None or not (token.user_id == actor.user_id or actor.has(Role.OPERATOR)):
        raise NotFound(f"no token {token_id}", value=token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor=actor.name,
            action="token.revoke",
            object_type="api_token",
            object_id=str(token.id),
            detail={"user": token.user.username},
        )
    return token


def list_tokens(session: Session, actor: Principal, *, username: str | None = None) -> list[ApiToken]:
    """The actor's own tokens; operators may list anyone's (or everyone's)."""
    query = sa.select(ApiToken).order_by(ApiToken.id)
    if username:
        user = get_user(session, username)
        if user.id != actor.user_id:
            actor.require(Role.OPERATOR, action="listing another user's tokens")
        query = query.where(ApiToken.user_id == user.id)
    elif not actor.has(Role.OPERATOR):
        query = query.where(ApiToken.user_id == actor.user_id)
    return list(session.scalars(query))


def _state(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def token_public(token: ApiToken) -> TokenPublic:
    return TokenPublic(
        id=token.id,
        name=token.name,
        username=token.user.username,
        display_prefix=token.display_prefix,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
        state=_state(token, utcnow()),
    )
