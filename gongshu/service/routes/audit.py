"""The audit trail (审计日志): listing and chain verification, for operators and security officers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from gongshu.orgs.roles import Role
from gongshu.security import audit
from gongshu.service.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/audit", tags=["audit 审计"])


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]
    digest: str


@router.get("")
def events(
    session: SessionDep,
    actor: ApiPrincipal,
    object_type: str | None = None,
    object_id: str | None = None,
    by: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    before_seq: int | None = None,
) -> list[AuditEventPublic]:
    actor.require(Role.OPERATOR, Role.SECURITY, action="reading the audit trail")
    found = audit.list_events(
        session, object_type=object_type, object_id=object_id, actor=by, limit=limit, before_seq=before_seq
    )
    return [AuditEventPublic.model_validate(e) for e in found]


@router.get("/verify")
def verify(session: SessionDep, actor: ApiPrincipal) -> dict[str, Any]:
    """Recompute the hash chain; names the first event that does not chain."""
    actor.require(Role.OPERATOR, Role.SECURITY, action="verifying the audit trail")
    return vars(audit.verify(session))
