"""Public developers (公众开发者): self-registration, their API keys and their usage.

Anyone may register a developer account: a ``users`` row with :attr:`Role.DEVELOPER` and no
government organisation. An enterprise or institution (企业/机构) may give its name and 统一社会信用代码
(checked by :func:`gongshu.orgs.uscc.is_valid_uscc`, which accepts letter-initial codes such as
``A…``, ``N…``, ``Y…`` that python-stdnum wrongly rejects). The users table has no column for them,
so they are kept in the registration's audit event (``open.developer.register``), whose detail is
JSON, and read back by :func:`developer_profile` (e.g. to fill in an application form).

A developer lists, creates and revokes their own keys (:mod:`gongshu.open.keys`); the secret is
returned once. Limits default to the settings ``open_key_daily_quota`` / ``open_key_rate_per_s``;
only operators may set others. Usage is read from the access log (``open_accesses``).

Example::

    user = register_developer(session, DeveloperRegistration(username="acme", display_name="Acme",
                                                             password="a long password"))
    key, secret = issue_key(session, principal_of(user), "my app", settings=settings)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from gongshu.config import Settings
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.open.keys import create_key, key_state, revoke_key
from gongshu.open.models import OpenAccess, OpenKey
from gongshu.orgs.models import User
from gongshu.orgs.passwords import MIN_PASSWORD_LENGTH
from gongshu.orgs.roles import SYSTEM, Principal, Role
from gongshu.orgs.schemas import USERNAME_PATTERN, UserCreate
from gongshu.orgs.uscc import is_valid_uscc
from gongshu.orgs.users import create_user, get_user
from gongshu.security import audit
from gongshu.security.models import AuditEvent
from gongshu.store.base import city_today

#: At most this many active keys per developer (credentials of applications are not counted).
MAX_ACTIVE_KEYS = 20
REGISTER_ACTION = "open.developer.register"
USAGE_DAYS = 30


class DeveloperRegistration(BaseModel):
    """A developer's self-registration (开发者注册)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str = Field(pattern=USERNAME_PATTERN, description="用户名: lower-case letters, digits, _ . -")
    display_name: str = Field(min_length=1, max_length=100, description="显示名称")
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=200, description="密码, ≥ 10 characters")
    organisation_name: str | None = Field(
        default=None, max_length=200, description="企业/机构名称 (optional)"
    )
    uscc: str | None = Field(default=None, description="统一社会信用代码 (optional, GB 32100)")


class KeyCreate(BaseModel):
    """A new API key: its name, and (operators only) other limits or another user."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="密钥名称, e.g. the app that uses it")
    daily_quota: int | None = Field(default=None, ge=1, le=100_000_000, description="operators only")
    rate_per_s: int | None = Field(default=None, ge=1, le=100_000, description="operators only")
    username: str | None = Field(default=None, description="operators only: issue for this developer")


class KeyPublic(BaseModel):
    """A key as its holder sees it (never the secret, never its digest)."""

    id: int
    name: str
    username: str
    kind: str  # key | credential
    display_prefix: str
    application: str | None
    daily_quota: int
    rate_per_s: int
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    state: str  # active | revoked | expired


class KeyIssued(KeyPublic):
    """Returned once, when a key is created: ``secret`` is never shown again."""

    secret: str


def _problems_of(error: ValidationError) -> dict[str, list[str]]:
    return ValidationFailed.from_issues(error.errors()).problems


def registration_of(values: Mapping[str, Any]) -> DeveloperRegistration:
    """Validate a registration; every problem at once, keyed by field (``uscc``, ``password`` …)."""
    problems: dict[str, list[str]] = {}
    spec: DeveloperRegistration | None = None
    document = {k: (v.strip() or None) if isinstance(v, str) and k in ("organisation_name", "uscc") else v
                for k, v in values.items()}  # fmt: skip
    try:
        spec = DeveloperRegistration.model_validate(document)
    except ValidationError as error:
        problems |= _problems_of(error)
    uscc = document.get("uscc")
    if isinstance(uscc, str) and uscc and not is_valid_uscc(uscc.upper()):
        problems.setdefault("uscc", []).append(
            "统一社会信用代码格式或校验位不正确 not a valid unified social credit code (GB 32100)"
        )
    if problems or spec is None:
        raise ValidationFailed(problems)
    return spec.model_copy(update={"uscc": spec.uscc.upper() if spec.uscc else None})


def register_developer(session: Session, spec: DeveloperRegistration | Mapping[str, Any]) -> User:
    """Create a developer account (no organisation, :attr:`Role.DEVELOPER`). Audited.

    Raises:
        ValidationFailed: every problem of the form at once. Conflict: the username is taken.
    """
    registration = registration_of(spec.model_dump() if isinstance(spec, DeveloperRegistration) else spec)
    if session.scalar(sa.select(User.id).where(User.username == registration.username)) is not None:
        raise Conflict(
            f"the username {registration.username!r} is already taken (用户名已被占用)",
            hint="choose another username",
            value=registration.username,
        )
    user = create_user(
        session,
        SYSTEM,
        UserCreate(
            username=registration.username,
            display_name=registration.display_name,
            password=registration.password,
            roles=[Role.DEVELOPER.value],
        ),
    )
    audit.record(
        session,
        actor=f"user:{user.username}",
        action=REGISTER_ACTION,
        object_type="user",
        object_id=user.username,
        detail={"organisation_name": registration.organisation_name, "uscc": registration.uscc},
    )
    return user


def developer_profile(session: Session, user: User) -> dict[str, str | None]:
    """The organisation name and 统一社会信用代码 a developer registered with (``None`` when not given)."""
    event = session.scalar(
        sa.select(AuditEvent)
        .where(
            AuditEvent.action == REGISTER_ACTION,
            AuditEvent.object_type == "user",
            AuditEvent.object_id == user.username,
        )
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    detail = event.detail if event is not None else {}
    return {"organisation_name": detail.get("organisation_name"), "uscc": detail.get("uscc")}


# --- keys -----------------------------------------------------------------------------------------


def _holder(session: Session, actor: Principal, username: str | None) -> User:
    if username is not None and username != actor.username:
        actor.require(Role.OPERATOR, action="issuing a key for another user")
        return get_user(session, username)
    if actor.user_id is None:
        raise PermissionDenied("keys belong to signed-in users", hint="register at /open/developer")
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound("no such user", value=actor.user_id)
    return user


def issue_key(
    session: Session,
    actor: Principal,
    name: str,
    *,
    settings: Settings,
    daily_quota: int | None = None,
    rate_per_s: int | None = None,
    username: str | None = None,
) -> tuple[OpenKey, str]:
    """Create a developer key for the actor (operators: for ``username``, with other limits).

    Returns the key and its secret, which is never shown again.
    """
    if (daily_quota is not None or rate_per_s is not None) and not actor.has(Role.OPERATOR):
        raise PermissionDenied(
            "only operators set a key's limits", hint="ask the platform for a higher quota"
        )
    if not name.strip():
        raise ValidationFailed({"name": ["密钥名称不能为空 give the key a name"]})
    holder = _holder(session, actor, username)
    active = [k for k in list_keys(session, holder) if key_state(k) == "active"]
    if len(active) >= MAX_ACTIVE_KEYS:
        raise Conflict(
            f"at most {MAX_ACTIVE_KEYS} active keys (有效密钥已达上限)", hint="revoke a key you no longer use"
        )
    return create_key(
        session,
        holder,
        name.strip(),
        actor=actor,
        daily_quota=daily_quota or settings.open_key_daily_quota,
        rate_per_s=rate_per_s or settings.open_key_rate_per_s,
    )


def list_keys(session: Session, user: User, *, credentials: bool = False) -> list[OpenKey]:
    """A user's developer keys (and, with ``credentials``, their applications' credentials), newest first."""
    query = sa.select(OpenKey).where(OpenKey.user_id == user.id).order_by(OpenKey.id.desc())
    if not credentials:
        query = query.where(OpenKey.application_id.is_(None))
    return list(session.scalars(query))


def keys_of(session: Session, actor: Principal, *, username: str | None = None) -> list[OpenKey]:
    """The actor's own keys (operators: ``username``'s)."""
    return list_keys(session, _holder(session, actor, username), credentials=True)


def withdraw_key(session: Session, actor: Principal, key_id: int) -> OpenKey:
    """Revoke one of the actor's keys (operators: any key). Audited."""
    return revoke_key(session, actor, key_id)


def key_public(key: OpenKey, *, application: str | None = None) -> KeyPublic:
    return KeyPublic(
        id=key.id,
        name=key.name,
        username=key.user.username,
        kind="credential" if key.application_id is not None else "key",
        display_prefix=key.display_prefix,
        application=application,
        daily_quota=key.daily_quota,
        rate_per_s=key.rate_per_s,
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
        state=key_state(key),
    )


def key_issued(key: OpenKey, secret: str, *, application: str | None = None) -> KeyIssued:
    return KeyIssued(**key_public(key, application=application).model_dump(), secret=secret)


# --- usage ----------------------------------------------------------------------------------------


class UsageDay(BaseModel):
    """Calls of one key on one city day through one channel, and the rows they returned."""

    key_id: int
    day: date
    channel: str
    calls: int
    rows: int


class KeyUsage(BaseModel):
    """A key's usage: today's calls against its quota, its last use, and the days before."""

    key: KeyPublic
    used_today: int
    quota_left: int
    days: list[UsageDay]


def usage_of(
    session: Session,
    keys: list[OpenKey],
    *,
    days: int = USAGE_DAYS,
    today: date | None = None,
    live_used: Callable[[int], int] | None = None,
) -> list[KeyUsage]:
    """Per key per day calls and rows from ``open_accesses`` (the last ``days`` city days).

    ``live_used(key_id)`` may give the serving process's own count of today's calls (it also counts
    calls that return no data, such as ``status_show``); the larger of the two is shown.
    """
    day = today or city_today()
    ids = [k.id for k in keys]
    by_key: dict[int, list[UsageDay]] = {i: [] for i in ids}  # key_id is never NULL here
    if ids:
        rows = session.execute(
            sa.select(
                OpenAccess.key_id,
                OpenAccess.day,
                OpenAccess.channel,
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(OpenAccess.rows), 0),
            )
            .where(OpenAccess.key_id.in_(ids), OpenAccess.day > day - timedelta(days=days))
            .group_by(OpenAccess.key_id, OpenAccess.day, OpenAccess.channel)
            .order_by(OpenAccess.day.desc(), OpenAccess.channel)
        )
        for key_id, on, channel, calls, returned in rows:
            by_key[key_id or 0].append(
                UsageDay(key_id=key_id, day=on, channel=channel, calls=calls, rows=returned)
            )
    usages: list[KeyUsage] = []
    for key in keys:
        logged = sum(u.calls for u in by_key[key.id] if u.day == day)
        used = max(logged, live_used(key.id) if live_used is not None else 0)
        usages.append(
            KeyUsage(
                key=key_public(key),
                used_today=used,
                quota_left=max(0, key.daily_quota - used),
                days=by_key[key.id],
            )
        )
    return usages
