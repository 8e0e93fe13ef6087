"""Bulk deliveries (落地 / 属地返还) API: create a delivery target of a grant, list, read and run it.

Every route needs an API token. ``gongshu.share.landing`` decides who may do what: a consuming
department's users create and run landings of their grants, operators also district returns; the
grant's consumer and provider, operators and security officers see its deliveries (anyone else gets
404). A run is synchronous: ``POST /share/deliveries/{id}/run`` answers with the finished run, its
counts and its reconciliation (``reconciled`` false and ``detail.difference`` when the target
differs). A refused grant answers 403 with the refusal code (``grant_suspended``, ``grant_frozen``,
``method_not_granted`` …); the run is recorded as failed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from gongshu.service.deps import ApiPrincipal, PlatformDep, SessionDep
from gongshu.share import landing
from gongshu.share.landing import DeliveryCreate, DeliveryPublic, DeliveryRunPublic

router = APIRouter(prefix="/share", tags=["共享 sharing"])

DeliveryId = Annotated[int, Path(description="delivery id", ge=1)]


class DeliveryRunRequest(BaseModel):
    """How to run: incrementally from the checkpoint (default) or everything again."""

    model_config = ConfigDict(extra="forbid")

    full: bool = Field(default=False, description="truncate the target and deliver the whole slice again")


class DeliveryList(BaseModel):
    deliveries: list[DeliveryPublic]


@router.post(
    "/deliveries",
    status_code=201,
    summary="Create a delivery target (落地 / 属地返还)",
    description="A PostgreSQL or MariaDB table (URL without password; `password_env` names the "
    "GONGSHU_TARGET_… variable holding it) or a folder. Refused (403) when the grant is not active "
    "or its share method is not 库表 / 文件.",
)
def create(body: DeliveryCreate, session: SessionDep, actor: ApiPrincipal) -> DeliveryPublic:
    delivery = landing.create_delivery(
        session,
        actor,
        body.grant,
        kind=body.kind,
        target=body.target,
        table=body.table,
        purpose=body.purpose,
        password_env=body.password_env,
        subscribed=body.subscribed,
    )
    return landing.delivery_public(delivery)


@router.get("/deliveries", summary="Deliveries the caller may see, newest first")
def list_all(
    session: SessionDep,
    actor: ApiPrincipal,
    grant: Annotated[str | None, Query(description="授权编号", max_length=20)] = None,
    purpose: Annotated[Literal["landing", "return"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> DeliveryList:
    found = landing.list_deliveries(session, actor, grant=grant, purpose=purpose, limit=limit)
    return DeliveryList(deliveries=[landing.delivery_public(d) for d in found])


@router.get("/deliveries/{delivery_id}", summary="One delivery with its runs (newest first)")
def show(delivery_id: DeliveryId, session: SessionDep, actor: ApiPrincipal) -> DeliveryPublic:
    delivery = landing.get_delivery(session, actor, delivery_id)
    return landing.delivery_public(delivery, runs=landing.delivery_runs(session, actor, delivery_id))


@router.post(
    "/deliveries/{delivery_id}/run",
    summary="Run a delivery now and reconcile it (对账)",
    description="Delivers what changed since the checkpoint (everything with `full`) and answers the "
    "finished run; `reconciled` false with `detail.difference` reports a target that differs.",
)
async def run(
    delivery_id: DeliveryId,
    platform: PlatformDep,
    session: SessionDep,
    actor: ApiPrincipal,
    body: Annotated[DeliveryRunRequest | None, Body()] = None,
) -> DeliveryRunPublic:
    session.commit()  # the run writes in its own transactions: hold nothing of this request meanwhile
    full = body.full if body is not None else False
    finished = await run_in_threadpool(
        landing.run_delivery, platform, actor, delivery_id, trigger="api", full=full
    )
    return landing.run_public(finished)
