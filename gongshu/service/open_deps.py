"""Dependencies of the open portal's routes: who is calling (:class:`~gongshu.open.caller.Caller`),
admitted by the per-key quota and rate limit.

A key is sent as ``Authorization: <key>`` (what CKAN clients such as ``ckanapi`` send),
``Authorization: Bearer <key>`` or ``X-CKAN-API-Key: <key>``. Without one, a signed-in portal user
(session cookie) is a ``user`` caller and anyone else is anonymous.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from gongshu.open.caller import ANONYMOUS, Caller
from gongshu.open.keys import authenticate, caller_for_user
from gongshu.open.quota import OpenMeter
from gongshu.platform import Platform
from gongshu.service.deps import PlatformDep, SessionDep

_meter_lock = threading.Lock()


def key_secret(request: Request) -> str | None:
    """The API key the request carries, if any."""
    value = request.headers.get("x-ckan-api-key") or request.headers.get("authorization") or ""
    scheme, _, rest = value.strip().partition(" ")
    secret = rest.strip() if scheme.lower() == "bearer" else value.strip()
    return secret or None


def open_caller(request: Request, session: SessionDep) -> Caller:
    """The caller of an open route (not yet metered)."""
    secret = key_secret(request)
    if secret is not None:
        return authenticate(session, secret)
    user_id = request.session.get("uid") if "session" in request.scope else None
    if isinstance(user_id, int):
        return caller_for_user(session, user_id)
    return ANONYMOUS


OpenCaller = Annotated[Caller, Depends(open_caller)]


def open_meter(platform: Platform, request: Request, session: SessionDep) -> OpenMeter:
    """The serving process's meter, seeded from today's access log on first use."""
    state = request.app.state
    with _meter_lock:
        meter: OpenMeter | None = getattr(state, "open_meter", None)
        if meter is None:
            meter = OpenMeter.seeded(platform.settings, session)
            state.open_meter = meter
    return meter


def metered_caller(
    request: Request, platform: PlatformDep, session: SessionDep, caller: OpenCaller
) -> Caller:
    """The caller, after one call is counted against its quota and rate (429 with Retry-After)."""
    client = request.client.host if request.client is not None else None
    open_meter(platform, request, session).admit(caller, client)
    return caller


MeteredCaller = Annotated[Caller, Depends(metered_caller)]
