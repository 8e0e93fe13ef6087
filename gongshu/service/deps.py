"""Dependencies shared by API routes and pages, as named ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from gongshu.catalogue.browse import MAX_PER_PAGE, CatalogQuery
from gongshu.errors import AuthenticationFailed
from gongshu.orgs.models import User
from gongshu.orgs.roles import Principal
from gongshu.orgs.tokens import authenticate_token
from gongshu.orgs.users import principal_of
from gongshu.platform import Platform


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_session(platform: PlatformDep) -> Iterator[Session]:
    """One transaction per request: committed before the response is sent, rolled back on error."""
    with platform.store.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def bearer_secret(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def api_principal(request: Request, session: SessionDep) -> Principal:
    """The caller of an API route: an API token (``Authorization: Bearer gsk_…``) is required."""
    secret = bearer_secret(request)
    if secret is None:
        raise AuthenticationFailed(
            "an API token is required", hint="send the header 'Authorization: Bearer <token>'"
        )
    return authenticate_token(session, secret)


ApiPrincipal = Annotated[Principal, Depends(api_principal)]


def page_principal(request: Request, session: SessionDep) -> Principal | None:
    """The signed-in user of a page (session cookie), or ``None`` for a visitor."""
    user_id = request.session.get("uid")
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active:
        request.session.clear()
        return None
    return principal_of(user)


PagePrincipal = Annotated[Principal | None, Depends(page_principal)]


def _given(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None  # an empty form field means "not given"


def catalog_query(
    q: str | None = None,
    provider: str | None = None,
    district: str | None = None,
    share_type: str | None = None,
    open_type: str | None = None,
    update_cycle: str | None = None,
    format: str | None = None,
    status: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> CatalogQuery:
    """The catalogue search parameters, read the same way by the API and the pages."""
    return CatalogQuery(
        q=_given(q),
        provider=_given(provider),
        district=_given(district),
        share_type=_given(share_type),
        open_type=_given(open_type),
        update_cycle=_given(update_cycle),
        format=_given(format),
        status=_given(status),
        page=page,
        per_page=per_page,
    )


CatalogQueryDep = Annotated[CatalogQuery, Depends(catalog_query)]
