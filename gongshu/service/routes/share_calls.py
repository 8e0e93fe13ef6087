"""The sharing APIs a consumer's system calls, per grant: verification (核验) and query (查询).

Both answer from :class:`gongshu.share.runtime.Exchange`: the grant decision, the quota, the
granted slice and one call-log record per answered call. In a running service the verification
route is served by the fast path (:mod:`gongshu.service.fastpath`) with the same exchange and the
same answers; this route documents it (OpenAPI) and serves it wherever the fast path is not
installed.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gongshu.platform import Platform
from gongshu.service.deps import bearer_secret
from gongshu.share.runtime import Answer, Exchange
from gongshu.share.specs import QueryAnswer, QueryRequest, VerifyAnswer, VerifyRequest

router = APIRouter(tags=["共享 sharing calls"])
_lock = threading.Lock()

REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid API token"},
    403: {
        "description": "refused by the grant: forbidden (no such grant for you), grant_expired, "
        "grant_not_yet_valid, grant_suspended, grant_revoked, grant_frozen (confirm the monthly "
        "letter 确认函), method_not_granted, fields_not_granted, scenario_mismatch"
    },
    422: {"description": "the request is malformed (problems keyed by field)"},
    429: {"description": "rate_limited or quota_exceeded; the Retry-After header says when to retry"},
}


def exchange_of(platform: Platform, state: Any) -> Exchange:
    """The app's exchange, created and started on first use."""
    exchange: Exchange | None = getattr(state, "exchange", None)
    if exchange is None:
        with _lock:
            exchange = getattr(state, "exchange", None)
            if exchange is None:
                exchange = Exchange(platform)
                exchange.start()
                state.exchange = exchange
    return exchange


def respond(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)


@router.post(
    "/share/grants/{code}/verify",
    response_model=VerifyAnswer,
    responses=REFUSALS,
    summary="核验 Verify identifying values against the granted resource",
)
async def verify(code: str, body: VerifyRequest, request: Request) -> JSONResponse:
    """Given identifying values (e.g. `id_number` + `name`, or `uscc` + `ent_name`) answers only
    `match` 一致 / `mismatch` 不一致 / `no_record` 无记录 — never a field of the record — within the
    grant's rows. Every answered call is recorded in the tamper-evident call log before it is
    answered."""
    exchange = exchange_of(request.app.state.platform, request.app.state)
    caller = exchange.caller(bearer_secret(request))
    return respond(await exchange.verify(caller, code, body.values, body.scenario))


@router.post(
    "/share/grants/{code}/query",
    response_model=QueryAnswer,
    responses=REFUSALS,
    summary="查询 Query the granted rows and 信息项",
)
async def query(code: str, body: QueryRequest, request: Request) -> JSONResponse:
    """Rows of the grant's slice matching `filters` (信息项 = value), only the granted 信息项,
    masked by their security grade unless the grant allows clear text (明文). Filtering on a
    信息项 outside the grant is refused (`fields_not_granted`)."""
    exchange = exchange_of(request.app.state.platform, request.app.state)
    caller = exchange.caller(bearer_secret(request))
    answer = await exchange.query(
        caller,
        code,
        body.filters,
        fields=body.fields,
        limit=body.limit,
        offset=body.offset,
        scenario=body.scenario,
    )
    return respond(answer)
