"""Open portal API (开放): showcases (应用展示), requests and feedback (需求与反馈), statistics, freshness.

Reading needs nobody. Submitting needs nobody either: without an API token
(``Authorization: Bearer gsk_…``) give a ``name`` and mind the limits (429 with ``Retry-After``; see
:mod:`gongshu.open.community`). Moderating showcases needs an operator's token; replying to a
request needs a token of the addressed department's steward or reviewer (or an operator); the
freshness sweep needs an operator's token. Submitters' names are answered masked (``张**``) to
everyone but operators; no contact details are collected.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from gongshu.open import community, freshness, stats
from gongshu.open.community import RequestCreate, RequestPublic, ShowcaseCreate, ShowcasePublic, Throttle
from gongshu.orgs.roles import Principal, Role
from gongshu.orgs.tokens import authenticate_token
from gongshu.service.deps import ApiPrincipal, PlatformDep, SessionDep, bearer_secret
from gongshu.store.base import city_today

router = APIRouter(prefix="/open", tags=["开放 open: community, statistics and freshness"])


def throttle_of(request: Request) -> Throttle:
    """The serving process's throttle of anonymous submissions."""
    throttle: Throttle | None = getattr(request.app.state, "open_comm_throttle", None)
    if throttle is None:
        throttle = Throttle()
        request.app.state.open_comm_throttle = throttle
    return throttle


def client_of(request: Request) -> str | None:
    return request.client.host if request.client is not None else None


ShowcaseId = Annotated[int, Path(description="应用展示编号", ge=1)]
RequestId = Annotated[int, Path(description="需求编号", ge=1)]


def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    """The API token's user when one is sent, else an anonymous caller (None)."""
    secret = bearer_secret(request)
    return authenticate_token(session, secret) if secret is not None else None


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


class Moderation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000, description="说明 (required to reject)")


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reply: str = Field(max_length=5000, description="答复")


@router.get("/showcases", response_model=list[ShowcasePublic])
def showcases(
    session: SessionDep,
    principal: MaybePrincipal,
    state: Annotated[
        Literal["approved", "pending", "rejected"], Query(description="other than approved: operators only")
    ] = "approved",
) -> list[ShowcasePublic]:
    """Approved showcases, newest first (operators may list pending and rejected ones)."""
    found = community.list_showcases(session, principal, state=state)
    return [community.showcase_public(session, s, principal) for s in found]


@router.post("/showcases", response_model=ShowcasePublic, status_code=201)
def submit_showcase(
    request: Request, session: SessionDep, principal: MaybePrincipal, spec: Annotated[ShowcaseCreate, Body()]
) -> ShowcasePublic:
    """Submit a showcase for moderation (``name`` required without a token)."""
    showcase = community.submit_showcase(
        session, principal, spec, client=client_of(request), throttle=throttle_of(request)
    )
    return community.showcase_public(session, showcase, principal)


@router.post("/showcases/{showcase_id}/{action}", response_model=ShowcasePublic)
def moderate_showcase(
    showcase_id: ShowcaseId,
    action: Annotated[Literal["approve", "reject"], Path()],
    session: SessionDep,
    principal: ApiPrincipal,
    body: Annotated[Moderation | None, Body()] = None,
) -> ShowcasePublic:
    """Approve or reject (a note required) a pending showcase: operators only."""
    note = body.note if body is not None else ""
    showcase = community.moderate_showcase(session, principal, showcase_id, action, note)
    return community.showcase_public(session, showcase, principal)


@router.get("/requests", response_model=list[RequestPublic])
def requests(
    session: SessionDep,
    principal: MaybePrincipal,
    department: Annotated[str | None, Query(description="部门代码, e.g. GHZY")] = None,
    state: Annotated[Literal["open", "replied"] | None, Query()] = None,
) -> list[RequestPublic]:
    """Requests and feedback with replies and response times (non-public ones: their department only)."""
    org_id = community.department_id(session, department) if department else None
    found = community.list_requests(session, principal, organisation_id=org_id, state=state)
    today = city_today()
    return [community.request_public(r, principal, today=today) for r in found]


@router.post("/requests", response_model=RequestPublic, status_code=201)
def submit_request(
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    principal: MaybePrincipal,
    spec: Annotated[RequestCreate, Body()],
) -> RequestPublic:
    """File a request or feedback, due ``open_reply_days`` working days later."""
    filed = community.submit_request(
        session,
        principal,
        spec,
        settings=platform.settings,
        client=client_of(request),
        throttle=throttle_of(request),
    )
    return community.request_public(filed, principal)


@router.post("/requests/{request_id}/reply", response_model=RequestPublic)
def reply(
    request_id: RequestId, session: SessionDep, principal: ApiPrincipal, body: Annotated[Reply, Body()]
) -> RequestPublic:
    """The addressed department's reply (its stewards and reviewers, or an operator)."""
    answered = community.reply_request(session, principal, request_id, body.reply)
    return community.request_public(answered, principal)


@router.get("/requests/stats")
def request_stats(session: SessionDep) -> list[dict[str, Any]]:
    """Per department: received, replied, open, overdue, average and median response working days."""
    return [asdict(row) for row in community.response_stats(session)]


@router.get("/stats")
def portal_stats(session: SessionDep) -> dict[str, Any]:
    """Totals, downloads and API calls by day (30) and month (12), datasets by department over time,
    top datasets, on-time ratios and applications (definitions: docs/open-community.md)."""
    return stats.portal_stats(session, city_today())


@router.get("/freshness")
def freshness_report(
    session: SessionDep,
    department: Annotated[str | None, Query(description="部门代码: also list its open alerts")] = None,
) -> dict[str, Any]:
    """City and department on-time ratios, overdue datasets with days overdue, and open alerts."""
    report = freshness.freshness_report(session)
    org_id = community.department_id(session, department) if department else None
    return report | {"alerts": freshness.open_alerts(session, org_id)}


@router.post("/freshness/sweep")
def freshness_sweep(session: SessionDep, principal: ApiPrincipal) -> freshness.FreshnessSweep:
    """Raise and resolve freshness alerts now (the daily housekeeping does the same): operators only."""
    principal.require(Role.OPERATOR, action="the freshness sweep")
    return freshness.sweep(session)
