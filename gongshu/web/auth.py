"""Who is looking at a page, and the CSRF guard of every page POST.

Sign-in stores the user's id in the signed session cookie (``request.session["uid"]``); the
dependencies below turn it into a :class:`Principal` and refuse visitors (401: pages redirect to
``/login``, JSON twins answer 401 JSON) and users without a government role (403).

CSRF: the session holds a random nonce; the token placed in every form is
``HMAC-SHA256(secret, nonce)`` with the app's secret key. A POST must carry it as the form field
``csrf_token`` or the header ``X-CSRF-Token``; a missing or wrong token is refused with 403.
Signing in replaces the session, and with it the nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request

from gongshu.errors import AuthenticationFailed, PermissionDenied
from gongshu.orgs.roles import GOVERNMENT_ROLES, Principal, Role
from gongshu.service.deps import PagePrincipal

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_NONCE_KEY = "csrf"


def viewer(request: Request, principal: PagePrincipal) -> Principal | None:
    """The signed-in user or ``None``; remembered on the request for the page header."""
    request.state.principal = principal
    return principal


Viewer = Annotated[Principal | None, Depends(viewer)]


def signed_in(principal: Viewer) -> Principal:
    if principal is None:
        raise AuthenticationFailed("please sign in", hint="sign in with your gongshu account")
    return principal


SignedIn = Annotated[Principal, Depends(signed_in)]


def government_user(principal: SignedIn) -> Principal:
    """A signed-in user with a government role: the internal catalogue is for them only."""
    if not principal.has(*GOVERNMENT_ROLES):
        raise PermissionDenied(
            "the internal catalogue is for government users",
            hint="the public finds open data on the open portal",
        )
    return principal


GovUser = Annotated[Principal, Depends(government_user)]


def operator(principal: GovUser) -> Principal:
    principal.require(Role.OPERATOR, action="administration")
    return principal


Operator = Annotated[Principal, Depends(operator)]


def username_of(principal: Principal) -> str:
    """The username of a signed-in user's principal (``user:alice`` → ``alice``)."""
    return principal.username or principal.name


def _key(request: Request) -> bytes:
    key: bytes | None = getattr(request.app.state, "csrf_key", None)
    if key is None:
        secret = request.app.state.platform.settings.resolve_secret()
        key = hashlib.sha256(b"gongshu-csrf\0" + secret.encode("utf-8")).digest()
        request.app.state.csrf_key = key
    return key


def csrf_token(request: Request) -> str:
    """The CSRF token of this session (creating the session's nonce on first use)."""
    nonce = request.session.get(_NONCE_KEY)
    if not isinstance(nonce, str):
        nonce = secrets.token_urlsafe(16)
        request.session[_NONCE_KEY] = nonce
    return hmac.new(_key(request), nonce.encode("ascii"), hashlib.sha256).hexdigest()


async def check_csrf(request: Request) -> None:
    """Refuse a POST whose CSRF token is missing or does not belong to this session."""
    if request.method != "POST":
        return
    form = await request.form()
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    nonce = request.session.get(_NONCE_KEY)
    if isinstance(sent, str) and isinstance(nonce, str) and hmac.compare_digest(sent, csrf_token(request)):
        return
    raise PermissionDenied(
        "the form's CSRF token is missing or invalid", hint="reload the page and submit the form again"
    )
