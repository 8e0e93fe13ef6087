"""Developer API keys (开发者密钥) and scoped credentials (授权凭证): hashed, revocable, limited.

A key is ``gok_`` + 256 random bits (a credential ``goc_``); only its SHA-256 digest is stored
(ADR 0004's reasoning: a uniformly random secret needs no slow hash). :func:`authenticate` turns a
secret into a :class:`~gongshu.open.caller.Caller`; unknown, revoked and expired secrets are refused
alike. A credential carries the scope of its approved application and reads nothing else.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.errors import AuthenticationFailed, NotFound
from gongshu.open.caller import Caller, Scope
from gongshu.open.datasets import dataset_name
from gongshu.open.models import OpenApplication, OpenKey
from gongshu.orgs.models import User
from gongshu.orgs.roles import Principal, Role
from gongshu.security import audit
from gongshu.store.base import utcnow

KEY_PREFIX = "gok_"
CREDENTIAL_PREFIX = "goc_"
DEFAULT_DAILY_QUOTA = 10_000
DEFAULT_RATE_PER_S = 20
_LAST_USED_RESOLUTION = timedelta(minutes=5)


def key_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def key_state(key: OpenKey, now: datetime | None = None) -> str:
    """``active``, ``revoked`` or ``expired``."""
    moment = now or utcnow()
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and _aware(key.expires_at) <= moment:
        return "expired"
    return "active"


def create_key(
    session: Session,
    user: User,
    name: str,
    *,
    actor: Principal,
    application: OpenApplication | None = None,
    daily_quota: int = DEFAULT_DAILY_QUOTA,
    rate_per_s: int = DEFAULT_RATE_PER_S,
    expires_at: datetime | None = None,
) -> tuple[OpenKey, str]:
    """Create a key for ``user`` (a credential when ``application`` is given); returns it and its secret.

    The secret is shown once and never stored. Audited (without the secret).
    """
    prefix = CREDENTIAL_PREFIX if application is not None else KEY_PREFIX
    secret = prefix + secrets.token_urlsafe(32)
    key = OpenKey(
        user_id=user.id,
        name=name,
        display_prefix=secret[: len(prefix) + 4],
        digest=key_digest(secret),
        application_id=application.id if application is not None else None,
        daily_quota=daily_quota,
        rate_per_s=rate_per_s,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    audit.record(
        session,
        actor=actor.name,
        action="open.credential.issue" if application is not None else "open.key.issue",
        object_type="open_key",
        object_id=str(key.id),
        detail={
            "user": user.username,
            "name": name,
            "application": application.code if application is not None else None,
            "expires_at": expires_at,
        },
    )
    return key, secret


def revoke_key(session: Session, actor: Principal, key_id: int) -> OpenKey:
    """Revoke a key at once. Holders revoke their own; operators any. Audited."""
    key = session.get(OpenKey, key_id)
    if key is None or not (key.user_id == actor.user_id or actor.has(Role.OPERATOR)):
        raise NotFound(f"no key {key_id}", value=key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor=actor.name,
            action="open.key.revoke",
            object_type="open_key",
            object_id=str(key.id),
            detail={"user": key.user.username},
        )
    return key


def scopes_of(session: Session, application_ids: list[int], now: datetime | None = None) -> dict[str, Scope]:
    """The scopes of the approved, unexpired applications among ``application_ids``, by dataset name."""
    if not application_ids:
        return {}
    moment = now or utcnow()
    scopes: dict[str, Scope] = {}
    for application in session.scalars(
        sa.select(OpenApplication).where(
            OpenApplication.id.in_(application_ids), OpenApplication.state == "approved"
        )
    ):
        if application.valid_until is None or _aware(application.valid_until) <= moment:
            continue
        scopes[dataset_name(application.entry.code)] = Scope(
            application_id=application.id,
            application=application.code,
            fields=frozenset(application.fields),
            valid_until=_aware(application.valid_until),
        )
    return scopes


def authenticate(session: Session, secret: str) -> Caller:
    """The caller holding ``secret``; unknown, revoked and expired keys are refused alike (401)."""
    key = session.scalar(sa.select(OpenKey).where(OpenKey.digest == key_digest(secret.strip())))
    now = utcnow()
    if key is None or key_state(key, now) != "active" or not key.user.active:
        raise AuthenticationFailed("invalid, revoked or expired API key (无效、已撤销或已过期的密钥)")
    if key.last_used_at is None or now - _aware(key.last_used_at) > _LAST_USED_RESOLUTION:
        key.last_used_at = now  # coarse, so a busy API does not write on every call
    credential = key.application_id is not None
    return Caller(
        kind="credential" if credential else "key",
        name=f"key:{key.display_prefix}",
        key_id=key.id,
        user_id=key.user_id,
        username=key.user.username,
        daily_quota=key.daily_quota,
        rate_per_s=key.rate_per_s,
        scopes=scopes_of(session, [key.application_id], now) if key.application_id is not None else {},
        only_scoped=credential,
    )


def caller_for_user(session: Session, user_id: int) -> Caller:
    """A signed-in portal user: 无条件开放 data, plus the scopes of their approved applications."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise AuthenticationFailed("unknown or inactive user")
    ids = list(session.scalars(sa.select(OpenApplication.id).where(OpenApplication.applicant_id == user_id)))
    return Caller(
        kind="user",
        name=f"user:{user.username}",
        user_id=user.id,
        username=user.username,
        scopes=scopes_of(session, ids),
    )
