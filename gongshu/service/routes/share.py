"""Sharing exchange (共享交换) API: demands (共享需求), their review, grants (授权) and citizens' accesses.

Every route needs an API token. Who sees and may do what is decided by ``gongshu.share``: a demand
is seen by its consuming and providing departments, operators and security officers (anyone else
gets 404, so codes cannot be probed); the provider's reviewers and stewards make the provider
review, operators (大数据中心) the platform review. Review deadlines count working days on the
Chinese calendar; ``POST /share/demands/sweep`` escalates (督办) the reviews past them.

The verification and query APIs (核验 / 查询) that consumers call with a grant are in their own router.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from gongshu.orgs.roles import Principal
from gongshu.service.deps import ApiPrincipal, PlatformDep, SessionDep
from gongshu.share import citizens, demands, grants
from gongshu.share.citizens import AccessPublic
from gongshu.share.specs import Decision, DemandCreate, DemandPublic, DemandStatus, GrantPublic, GrantStatus

router = APIRouter(prefix="/share", tags=["共享 sharing"])

Side = Literal["consumer", "provider", "all"]
SideQuery = Annotated[
    Side,
    Query(description="consumer: filed by my department (申请); provider: on my resources (提供); all: both"),
]
DemandCode = Annotated[str, Path(description="需求编号, e.g. XQ000001", max_length=20)]
GrantCode = Annotated[str, Path(description="授权编号, e.g. SQ000001", max_length=20)]


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. not_found, validation, conflict")
    message: str
    hint: str | None = None
    problems: dict[str, list[str]] | None = Field(
        default=None, description="validation only: every problem keyed by field, e.g. conditions[0].column"
    )


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


_MEANINGS = {
    401: "no valid API token",
    403: "the caller's roles do not allow this action",
    404: "no such object, or the caller may not see it",
    409: "the object is not in a state that allows this action",
    422: "invalid input: `error.problems` lists every problem keyed by field",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error statuses an operation answers (401 always)."""
    return {
        status: {"model": ErrorBody, "description": _MEANINGS[status]} for status in sorted({401, *statuses})
    }


class GrantChange(BaseModel):
    """Why a grant is suspended, resumed or revoked (required to suspend and to revoke)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000, description="理由")


class Sweep(BaseModel):
    escalated: list[str] = Field(description="codes of the demands escalated (督办) by this sweep")


class AccessLookup(BaseModel):
    """A security officer's lookup of one citizen's accesses (数据使用记录查询)."""

    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(min_length=1, max_length=40, description="公民身份号码 (18 characters)")


# --- demands (共享需求) ---------------------------------------------------------------------------


@router.post(
    "/demands",
    status_code=201,
    response_model=DemandPublic,
    summary="提交共享需求 File a demand",
    responses=errors(403, 404, 422),
)
def file_demand(
    spec: DemandCreate, session: SessionDep, actor: ApiPrincipal, platform: PlatformDep
) -> DemandPublic:
    """A consuming department asks for a resource's 信息项 under an application scenario (应用场景).

    The platform checks it at once (resource published, 信息项 exist, share method offered, row scope
    enforceable; 422 lists every failed check by field) and routes it by the resource's 共享类型:
    无条件共享 is granted at once, 有条件共享 goes to the provider's review (working-day deadline),
    不予共享 is refused citing the resource's legal basis. Operators may file for another
    organisation with `consumer`.
    """
    demand = demands.file_demand(session, actor, spec, settings=platform.settings)
    return demands.demand_public(session, demand)


@router.get(
    "/demands",
    response_model=list[DemandPublic],
    summary="共享需求列表 List demands",
    responses=errors(422),
)
def list_demands(
    session: SessionDep,
    actor: ApiPrincipal,
    side: SideQuery = "all",
    status: Annotated[DemandStatus | None, Query(description="审核状态")] = None,
    overdue: Annotated[bool, Query(description="only reviews past their deadline (超期)")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[DemandPublic]:
    """The demands the caller may see, newest first, without their timelines (`events` is empty)."""
    found = demands.list_demands(
        session, actor, side=side, status=status.value if status else None, overdue=overdue, limit=limit
    )
    return [demands.demand_public(session, d, events=False) for d in found]


@router.post(
    "/demands/sweep",
    response_model=Sweep,
    summary="超期督办 Escalate overdue reviews",
    responses=errors(403),
)
def sweep(session: SessionDep, actor: ApiPrincipal) -> Sweep:
    """Operators: mark every review past its working-day deadline as escalated (督办), once each.

    Idempotent: a second sweep the same day escalates nothing. Escalated demands show as overdue on
    both the consumer's and the provider's lists.
    """
    return Sweep(escalated=[d.code for d in demands.sweep(session, actor)])


@router.get(
    "/demands/{code}",
    response_model=DemandPublic,
    summary="共享需求详情 One demand",
    responses=errors(404, 422),
)
def show_demand(code: DemandCode, session: SessionDep, actor: ApiPrincipal) -> DemandPublic:
    """A demand with its timeline (审核记录): every transition with who, when and why."""
    return demands.demand_public(session, demands.get_demand(session, actor, code))


@router.post(
    "/demands/{code}/decision",
    response_model=DemandPublic,
    summary="审核共享需求 Review a demand",
    responses=errors(403, 404, 409, 422),
)
def decide(
    code: DemandCode, decision: Decision, session: SessionDep, actor: ApiPrincipal, platform: PlatformDep
) -> DemandPublic:
    """Approve (同意) or refuse (驳回, a reason is required) in the review the demand is in.

    The provider review (提供方审核) is for the provider's reviewers and stewards; approving it opens
    the platform review (平台审核, operators) with its own deadline; approving that issues the grant.
    """
    demand = demands.decide(session, actor, code, decision, settings=platform.settings)
    return demands.demand_public(session, demand)


@router.post(
    "/demands/{code}/withdraw",
    response_model=DemandPublic,
    summary="撤回共享需求 Withdraw a demand",
    responses=errors(403, 404, 409, 422),
)
def withdraw(code: DemandCode, session: SessionDep, actor: ApiPrincipal) -> DemandPublic:
    """The consuming department withdraws a demand still under review (待审核)."""
    return demands.demand_public(session, demands.withdraw(session, actor, code))


# --- grants (授权) --------------------------------------------------------------------------------


@router.get(
    "/grants",
    response_model=list[GrantPublic],
    summary="授权列表 List grants",
    responses=errors(422),
)
def list_grants(
    session: SessionDep,
    actor: ApiPrincipal,
    side: SideQuery = "all",
    status: Annotated[
        GrantStatus | None, Query(description="active 有效, suspended 暂停, revoked 已撤销")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[GrantPublic]:
    """The grants the caller may see, newest first; `state` is what a call would meet now."""
    found = grants.list_grants(
        session, actor, side=side, status=status.value if status else None, limit=limit
    )
    return [grants.grant_public(g) for g in found]


@router.get(
    "/grants/{code}",
    response_model=GrantPublic,
    summary="授权详情 One grant",
    responses=errors(404, 422),
)
def show_grant(code: GrantCode, session: SessionDep, actor: ApiPrincipal) -> GrantPublic:
    """A grant: its 信息项, rows, method, period, quotas, status and effective state."""
    return grants.grant_public(grants.get_grant(session, actor, code))


ChangeBody = Annotated[GrantChange | None, Body()]


@router.post(
    "/grants/{code}/suspend",
    response_model=GrantPublic,
    summary="暂停授权 Suspend a grant",
    responses=errors(403, 404, 409, 422),
)
def suspend(
    code: GrantCode, session: SessionDep, actor: ApiPrincipal, body: ChangeBody = None
) -> GrantPublic:
    """Stop every channel of an active grant until it is resumed (a reason is required).

    For the provider's stewards and reviewers, operators and security officers; running services
    pick the change up within `share_refresh_s` seconds.
    """
    return _change(session, actor, code, "suspend", body)


@router.post(
    "/grants/{code}/resume",
    response_model=GrantPublic,
    summary="恢复授权 Resume a grant",
    responses=errors(403, 404, 409, 422),
)
def resume(code: GrantCode, session: SessionDep, actor: ApiPrincipal, body: ChangeBody = None) -> GrantPublic:
    """Make a suspended grant active again."""
    return _change(session, actor, code, "resume", body)


@router.post(
    "/grants/{code}/revoke",
    response_model=GrantPublic,
    summary="撤销授权 Revoke a grant",
    responses=errors(403, 404, 409, 422),
)
def revoke(code: GrantCode, session: SessionDep, actor: ApiPrincipal, body: ChangeBody = None) -> GrantPublic:
    """End an active or suspended grant for good (a reason is required); a new demand is needed after."""
    return _change(session, actor, code, "revoke", body)


def _change(
    session: Session, actor: Principal, code: str, action: str, body: GrantChange | None
) -> GrantPublic:
    reason = body.reason if body is not None else ""
    return grants.grant_public(grants.change_status(session, actor, code, action, reason=reason))


# --- citizens (市民) ------------------------------------------------------------------------------


@router.get(
    "/accesses/me",
    response_model=list[AccessPublic],
    summary="我的数据使用记录 Who used my data",
    responses=errors(403, 404, 422),
)
def my_accesses(
    session: SessionDep,
    actor: ApiPrincipal,
    platform: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
) -> list[AccessPublic]:
    """A citizen's own accesses: which department used which of their data, when, for which scenario.

    Needs a citizen account with a bound identity (`gongshu share citizen bind`).
    """
    return citizens.accesses_of(platform, actor, limit=limit, session=session)


@router.post(
    "/accesses/lookup",
    response_model=list[AccessPublic],
    summary="数据使用记录查询 Look up a citizen's accesses",
    responses=errors(403, 422),
)
def lookup_accesses(
    body: AccessLookup,
    session: SessionDep,
    actor: ApiPrincipal,
    platform: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
) -> list[AccessPublic]:
    """Security officers and operators: every access to one citizen's data (the lookup is audited).

    The ID number travels in the body, never in the URL, so it stays out of access logs.
    """
    return citizens.accesses_of(platform, actor, id_number=body.id_number, limit=limit, session=session)
