"""Users and roles API."""

from __future__ import annotations

from fastapi import APIRouter

from gongshu.orgs import users
from gongshu.orgs.schemas import UserCreate, UserPublic, UserUpdate
from gongshu.service.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/users", tags=["users 用户"])


@router.get("")
def list_all(session: SessionDep, actor: ApiPrincipal, organisation: str | None = None) -> list[UserPublic]:
    return [users.user_public(u) for u in users.list_users(session, actor, organisation=organisation)]


@router.post("", status_code=201)
def create(spec: UserCreate, session: SessionDep, actor: ApiPrincipal) -> UserPublic:
    return users.user_public(users.create_user(session, actor, spec))


@router.get("/{username}")
def show(username: str, session: SessionDep, actor: ApiPrincipal) -> UserPublic:
    return users.user_public(users.get_visible_user(session, actor, username))


@router.patch("/{username}")
def update(username: str, change: UserUpdate, session: SessionDep, actor: ApiPrincipal) -> UserPublic:
    return users.user_public(users.update_user(session, actor, username, change))
