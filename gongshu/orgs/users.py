"""Users, their roles, and password sign-in."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.errors import AuthenticationFailed, NotFound, ValidationFailed
from gongshu.orgs.models import User, UserRole
from gongshu.orgs.organisations import get_organisation
from gongshu.orgs.passwords import hash_password, verify_password
from gongshu.orgs.roles import Principal, Role, parse_roles
from gongshu.orgs.schemas import UserCreate, UserPublic, UserUpdate
from gongshu.security import audit
from gongshu.store.base import utcnow


def get_user(session: Session, username: str) -> User:
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}", value=username)
    return user


def get_visible_user(session: Session, actor: Principal, username: str) -> User:
    """A user the actor may see (operators: all; others: their organisation); else NotFound."""
    user = get_user(session, username)
    same_org = actor.organisation_id is not None and user.organisation_id == actor.organisation_id
    if not (actor.has(Role.OPERATOR) or actor.user_id == user.id or same_org):
        raise NotFound(f"no user {username!r}", value=username)
    return user


def list_users(session: Session, actor: Principal, *, organisation: str | None = None) -> list[User]:
    """Operators see every user; others see the users of their own organisation."""
    query = sa.select(User).order_by(User.username)
    if organisation:
        query = query.where(User.organisation_id == get_organisation(session, organisation).id)
    if not actor.has(Role.OPERATOR):
        query = query.where(User.organisation_id == actor.organisation_id)
    return list(session.scalars(query))


def create_user(session: Session, actor: Principal, spec: UserCreate) -> User:
    """Create a user; only operators may. The password is hashed with argon2id. Audited."""
    actor.require(Role.OPERATOR, action="creating a user")
    roles = _roles_or_problem(spec.roles)
    if session.scalar(sa.select(User.id).where(User.username == spec.username)):
        raise ValidationFailed({"username": [f"{spec.username} is already used"]})
    org = get_organisation(session, spec.organisation) if spec.organisation else None
    user = User(
        username=spec.username,
        display_name=spec.display_name,
        password_hash=hash_password(spec.password) if spec.password else None,
        organisation_id=org.id if org else None,
        roles=[UserRole(role=role.value) for role in sorted(roles)],
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor.name,
        action="user.create",
        object_type="user",
        object_id=user.username,
        detail={"organisation": spec.organisation, "roles": sorted(r.value for r in roles)},
    )
    return user


def update_user(session: Session, actor: Principal, username: str, change: UserUpdate) -> User:
    """Change a user. Operators change anything; users may change only their own password."""
    user = get_user(session, username)
    values = change.model_dump(exclude_unset=True)
    own_password_only = set(values) <= {"password"} and actor.user_id == user.id
    if not own_password_only:
        actor.require(Role.OPERATOR, action="changing a user")
    detail: dict[str, object] = {}
    if values.get("password"):
        user.password_hash = hash_password(values["password"])
        detail["password"] = "changed"
    if "roles" in values and values["roles"] is not None:
        roles = _roles_or_problem(values["roles"])
        user.roles = [UserRole(role=role.value) for role in sorted(roles)]
        detail["roles"] = sorted(role.value for role in roles)
    if "organisation" in values:
        code = values["organisation"]
        user.organisation_id = get_organisation(session, code).id if code else None
        detail["organisation"] = code
    for key in ("display_name", "active"):
        if key in values and values[key] is not None:
            setattr(user, key, values[key])
            detail[key] = values[key]
    session.flush()
    audit.record(
        session, actor=actor.name, action="user.update", object_type="user", object_id=username, detail=detail
    )
    return user


def _roles_or_problem(names: list[str]) -> frozenset[Role]:
    try:
        return parse_roles(names)
    except ValueError as error:
        raise ValidationFailed({"roles": [str(error)]}) from None


def principal_of(user: User) -> Principal:
    """The principal a signed-in user acts as."""
    return Principal(
        name=f"user:{user.username}",
        roles=frozenset(Role(r.role) for r in user.roles),
        user_id=user.id,
        organisation_id=user.organisation_id,
    )


def authenticate_password(session: Session, username: str, password: str) -> Principal:
    """Sign in with a password. The same error for unknown users and wrong passwords. Audited."""
    user = session.scalar(sa.select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        audit.record(
            session,
            actor=f"user:{username}" if user else "anonymous",
            action="auth.login_failed",
            object_type="user",
            object_id=username if user else "-",
        )
        raise AuthenticationFailed("wrong username or password")
    user.last_login_at = utcnow()
    audit.record(
        session,
        actor=f"user:{user.username}",
        action="auth.login",
        object_type="user",
        object_id=user.username,
    )
    return principal_of(user)


def user_public(user: User) -> UserPublic:
    org = user.organisation
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        organisation_code=org.code if org else None,
        organisation_name=org.name if org else None,
        roles=[r.role for r in user.roles],
        active=user.active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )
