"""Open portal API (开放): developer registration, API keys and usage; 有条件开放 applications.

Who calls: **registration** and the **public statistics** need nobody. Everything else needs a user,
either an API token (``Authorization: Bearer gsk_…``, as every ``/api/v1`` route; a developer issues
one on the 令牌 page after signing in) or the portal's session cookie (the pages' own scripts; a
POST then also needs the page's CSRF token in ``X-CSRF-Token``). Open-data *keys* (``gok_…``) and
*credentials* (``goc_…``) are not accepted here: they call the data APIs (CKAN, downloads), not
these management routes.

``GET /open/whoami`` is the one route here that takes an open-data key (``Authorization: gok_…`` or a
``goc_…`` credential), metered like every data call: a developer checks a key with it.

Who may do what is decided by :mod:`gongshu.open.developers` and :mod:`gongshu.open.applications`:
an application is seen by its applicant, the providing department and operators (anyone else gets
404); its providing department's stewards and reviewers (and operators) approve, refuse and revoke;
only the applicant withdraws it and collects its credential, whose secret is answered once.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from gongshu.errors import AuthenticationFailed, PermissionDenied
from gongshu.open import applications as apps
from gongshu.open import developers
from gongshu.open.caller import Caller
from gongshu.open.developers import DeveloperRegistration, KeyCreate, KeyIssued, KeyPublic, KeyUsage
from gongshu.orgs.roles import Principal
from gongshu.orgs.tokens import authenticate_token
from gongshu.service.deps import PlatformDep, SessionDep, bearer_secret, page_principal
from gongshu.service.open_deps import MeteredCaller

router = APIRouter(prefix="/open", tags=["开放 open: developers and applications"])

ApplicationCode = Annotated[str, Path(description="申请编号, e.g. OA000001", max_length=16)]
Side = Literal["mine", "review", "all"]


def open_principal(request: Request, session: SessionDep) -> Principal:
    """An API token, else the portal's session (a POST then needs the CSRF token in X-CSRF-Token)."""
    secret = bearer_secret(request)
    if secret is not None and secret.startswith("gsk_"):
        return authenticate_token(session, secret)
    principal = page_principal(request, session)
    if principal is None:
        raise AuthenticationFailed(
            "sign in or send an API token", hint="send the header 'Authorization: Bearer <gsk_ token>'"
        )
    if request.method != "GET":
        from gongshu.web.auth import CSRF_HEADER, csrf_token

        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, csrf_token(request)):
            raise PermissionDenied("a session POST needs the page's CSRF token in X-CSRF-Token")
    return principal


OpenPrincipal = Annotated[Principal, Depends(open_principal)]


def live_used(request: Request) -> Any:
    """The serving process's count of today's calls by key id (the open meter), if it runs."""
    meter = getattr(request.app.state, "open_meter", None)
    if meter is None:
        return None
    return lambda key_id: meter.used(Caller(kind="key", name="", key_id=key_id))


class CallerPublic(BaseModel):
    """Who the open APIs take the caller to be, and what it may read beyond 无条件开放 data."""

    kind: str = Field(description="anonymous, key, credential or user")
    name: str
    username: str | None
    daily_quota: int | None
    rate_per_s: int | None
    used_today: int
    scopes: dict[str, list[str]] = Field(
        description="dataset name → approved 信息项 (credentials only read these)"
    )


@router.get("/whoami", summary="Check a key: who the open APIs take you to be (counted like a data call)")
def whoami(request: Request, caller: MeteredCaller) -> CallerPublic:
    """Send ``Authorization: <gok_… key or goc_… credential>``; 401 for an invalid, revoked or expired key,
    429 with ``Retry-After`` past the key's rate or daily quota."""
    meter = getattr(request.app.state, "open_meter", None)
    client = request.client.host if request.client is not None else None
    return CallerPublic(
        kind=caller.kind,
        name=caller.name,
        username=caller.username,
        daily_quota=caller.daily_quota,
        rate_per_s=caller.rate_per_s,
        used_today=meter.used(caller, client) if meter is not None else 0,
        scopes={name: sorted(scope.fields) for name, scope in caller.scopes.items()},
    )


# --- developers -----------------------------------------------------------------------------------


class DeveloperPublic(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    organisation_name: str | None
    uscc: str | None


@router.post("/developers", status_code=201, summary="Register a developer (开发者注册); no sign-in needed")
def register(session: SessionDep, spec: DeveloperRegistration) -> DeveloperPublic:
    """A new developer account; 409 when the username is taken, 422 with every problem by field."""
    user = developers.register_developer(session, spec)
    return DeveloperPublic(
        username=user.username,
        display_name=user.display_name,
        roles=[r.role for r in user.roles],
        **developers.developer_profile(session, user),
    )


@router.get("/developer/keys", summary="My API keys and credentials")
def list_keys(session: SessionDep, actor: OpenPrincipal, username: str | None = None) -> list[KeyPublic]:
    return [developers.key_public(k) for k in developers.keys_of(session, actor, username=username)]


@router.post("/developer/keys", status_code=201, summary="Create an API key (the secret is shown once)")
def create_key(
    platform: PlatformDep, session: SessionDep, actor: OpenPrincipal, spec: KeyCreate
) -> KeyIssued:
    key, secret = developers.issue_key(
        session, actor, spec.name, settings=platform.settings, daily_quota=spec.daily_quota,
        rate_per_s=spec.rate_per_s, username=spec.username,
    )  # fmt: skip
    return developers.key_issued(key, secret)


@router.post("/developer/keys/{key_id}/revoke", summary="Revoke one of my keys at once")
def revoke_key(key_id: int, session: SessionDep, actor: OpenPrincipal) -> KeyPublic:
    return developers.key_public(developers.withdraw_key(session, actor, key_id))


@router.get("/developer/usage", summary="Calls per key per day and channel; today's use against the quota")
def usage(
    request: Request,
    session: SessionDep,
    actor: OpenPrincipal,
    days: Annotated[int, Query(ge=1, le=366)] = developers.USAGE_DAYS,
) -> list[KeyUsage]:
    keys = developers.keys_of(session, actor)
    return developers.usage_of(session, keys, days=days, live_used=live_used(request))


# --- applications ---------------------------------------------------------------------------------


class ApplicationIn(BaseModel):
    """An application for a 有条件开放 dataset."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(description="the dataset's name (102001001-000001) or 资源代码")
    applicant_org: str = Field(description="申请单位")
    applicant_uscc: str | None = Field(default=None, description="统一社会信用代码 (optional)")
    contact: str = Field(description="联系人")
    purpose: str = Field(description="数据用途")
    scenario: str = Field(description="应用场景")
    fields: list[str] = Field(description="requested 信息项 (published ones)")
    duration_days: int = Field(description="使用期限, 1–365 days")


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: list[str] | None = Field(default=None, description="narrow the 信息项 (default: as requested)")
    note: str | None = Field(default=None, max_length=2000)


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=2000, description="理由 (required)")


@router.get("/applications/stats", summary="Public statistics of applications per department")
def stats(session: SessionDep) -> list[apps.DepartmentStats]:
    return apps.application_stats(session)


@router.get("/applications", summary="Applications I filed (mine), on my department's data (review), or all")
def list_applications(
    session: SessionDep, actor: OpenPrincipal, side: Side = "all", state: str | None = None
) -> list[apps.ApplicationPublic]:
    found = apps.list_applications(session, actor, side=side, state=state)
    return [apps.application_public(session, a) for a in found]


@router.post("/applications", status_code=201, summary="File an application (the PDFs are generated)")
def file_application(
    platform: PlatformDep, session: SessionDep, actor: OpenPrincipal, spec: ApplicationIn
) -> apps.ApplicationPublic:
    application = apps.file_application(session, actor, spec.model_dump(), settings=platform.settings)
    return apps.application_public(session, application)


@router.get("/applications/{code}", summary="One application with its events and credentials")
def show_application(
    code: ApplicationCode, session: SessionDep, actor: OpenPrincipal
) -> apps.ApplicationPublic:
    return apps.application_public(session, apps.get_application(session, actor, code))


@router.post("/applications/{code}/approve", summary="Approve (provider's steward/reviewer, operator)")
def approve(
    code: ApplicationCode, session: SessionDep, actor: OpenPrincipal, body: Annotated[Approval, Body()]
) -> apps.ApplicationPublic:
    application = apps.approve(session, actor, code, fields=body.fields, note=body.note)
    return apps.application_public(session, application)


@router.post("/applications/{code}/refuse", summary="Refuse with a reason")
def refuse(
    code: ApplicationCode, session: SessionDep, actor: OpenPrincipal, body: Reason
) -> apps.ApplicationPublic:
    return apps.application_public(session, apps.refuse(session, actor, code, body.reason))


@router.post("/applications/{code}/withdraw", summary="Withdraw my application under review")
def withdraw(code: ApplicationCode, session: SessionDep, actor: OpenPrincipal) -> apps.ApplicationPublic:
    return apps.application_public(session, apps.withdraw(session, actor, code))


@router.post("/applications/{code}/revoke", summary="Revoke an approval (its credentials stop at once)")
def revoke(
    code: ApplicationCode, session: SessionDep, actor: OpenPrincipal, body: Reason
) -> apps.ApplicationPublic:
    return apps.application_public(session, apps.revoke(session, actor, code, body.reason))


@router.post(
    "/applications/{code}/credential",
    status_code=201,
    summary="Collect the scoped credential (shown once; again: replaces it)",
)
def collect_credential(
    code: ApplicationCode, platform: PlatformDep, session: SessionDep, actor: OpenPrincipal
) -> KeyIssued:
    key, secret = apps.collect_credential(session, actor, code, settings=platform.settings)
    return developers.key_issued(key, secret, application=code.upper())


@router.get("/applications/{code}/accesses", summary="Every access made with the application's credentials")
def accesses(code: ApplicationCode, session: SessionDep, actor: OpenPrincipal) -> list[apps.AccessPublic]:
    return apps.application_accesses(session, actor, code)


@router.get(
    "/applications/{code}/{kind}.pdf",
    summary="The generated 数据安全承诺书 (pledge) or 数据利用协议 (agreement)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def document(
    code: ApplicationCode,
    kind: Literal["pledge", "agreement"],
    platform: PlatformDep,
    session: SessionDep,
    actor: OpenPrincipal,
) -> Response:
    data = apps.document_of(session, actor, code, kind, settings=platform.settings)
    return pdf_response(data, code.upper(), kind)


def pdf_response(data: bytes, code: str, kind: str) -> Response:
    from urllib.parse import quote

    from gongshu.open.agreements import PDF_MEDIA_TYPE, document_filename

    name = quote(document_filename(code, kind))
    return Response(
        data,
        media_type=PDF_MEDIA_TYPE,
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{name}",
            "Cache-Control": "private, no-store",
        },
    )
