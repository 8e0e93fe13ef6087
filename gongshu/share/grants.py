"""Grants (授权): issued from approved demands, suspended, resumed, revoked; one object for every channel.

A grant copies its demand's scope (信息项, rows, method, period, quotas) so the enforcement points —
the HTTP APIs (:mod:`gongshu.share.access`), lake SQL and bulk deliveries (:mod:`gongshu.share.slice`)
— read one object. The provider's stewards and reviewers, operators and security officers may
suspend (暂停), resume (恢复) and revoke (撤销) it; each change moves ``updated_at`` so running
services pick it up within ``share_refresh_s`` seconds. Every change is audited.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.roles import Principal, Role
from gongshu.security import audit
from gongshu.share.models import Demand, Grant
from gongshu.share.specs import GRANT_STATUS_LABELS, GrantPublic, GrantStatus
from gongshu.store.base import CITY_TIMEZONE, utcnow

S = TypeVar("S", bound=Select[Any])
CODE_PREFIX = "SQ"
_ACTIONS = {
    "suspend": (frozenset({GrantStatus.ACTIVE}), GrantStatus.SUSPENDED),
    "resume": (frozenset({GrantStatus.SUSPENDED}), GrantStatus.ACTIVE),
    "revoke": (frozenset({GrantStatus.ACTIVE, GrantStatus.SUSPENDED}), GrantStatus.REVOKED),
}


def issue_grant(session: Session, demand: Demand, actor: Principal) -> Grant:
    """The grant of an approved demand, valid from its first day to the end of its last (city time)."""
    grant = Grant(
        code=f"tmp-{demand.code}",
        demand_id=demand.id,
        consumer_id=demand.consumer_id,
        provider_id=demand.provider_id,
        entry_id=demand.entry_id,
        scenario=demand.scenario,
        method=demand.method,
        fields=list(demand.fields),
        row_scope=demand.row_scope,
        district_code=demand.district_code,
        conditions=list(demand.conditions),
        clear_text=demand.clear_text,
        daily_quota=demand.daily_quota,
        rate_per_second=demand.rate_per_second,
        valid_from=datetime.combine(demand.period_start, time(), CITY_TIMEZONE),
        expires_at=datetime.combine(demand.period_end + timedelta(days=1), time(), CITY_TIMEZONE),
        status=GrantStatus.ACTIVE.value,
    )
    session.add(grant)
    session.flush()
    grant.code = f"{CODE_PREFIX}{grant.id:06d}"
    audit.record(
        session,
        actor=actor.name,
        action="share.grant.issue",
        object_type="share_grant",
        object_id=grant.code,
        detail={"demand": demand.code, "fields": grant.fields, "scope": grant.row_scope},
    )
    return grant


def change_status(session: Session, actor: Principal, code: str, action: str, *, reason: str = "") -> Grant:
    """Suspend, resume or revoke a grant. Revocation is final."""
    if action not in _ACTIONS:
        raise ValidationFailed({"action": [f"action is suspend, resume or revoke, not {action!r}"]})
    grant = get_grant(session, actor, code)
    if not may_manage(actor, grant):
        raise PermissionDenied(f"{action} of a grant is for its provider, operators and security officers")
    allowed_from, to = _ACTIONS[action]
    if grant.status not in allowed_from:
        raise Conflict(f"grant {code} is {grant.status}; cannot {action}", value=grant.status)
    if action in ("suspend", "revoke") and not reason.strip():
        raise ValidationFailed({"reason": ["须说明理由 a reason is required"]})
    before = grant.status
    grant.status = to.value
    grant.note = reason.strip() or grant.note
    grant.updated_at = utcnow()
    audit.record(
        session,
        actor=actor.name,
        action=f"share.grant.{action}",
        object_type="share_grant",
        object_id=grant.code,
        detail={"from": before, "to": to.value, "reason": reason[:200]},
    )
    return grant


def may_manage(actor: Principal, grant: Grant) -> bool:
    if actor.has(Role.OPERATOR, Role.SECURITY):
        return True
    return actor.has(Role.STEWARD, Role.REVIEWER) and actor.organisation_id == grant.provider_id


def may_see(actor: Principal, grant: Grant) -> bool:
    if actor.has(Role.OPERATOR, Role.SECURITY):
        return True
    return actor.organisation_id in (grant.consumer_id, grant.provider_id)


def get_grant(session: Session, actor: Principal, code: str) -> Grant:
    grant = session.scalar(sa.select(Grant).where(Grant.code == code))
    if grant is None or not may_see(actor, grant):
        raise NotFound(f"no grant {code!r}", value=code)
    return grant


def list_grants(
    session: Session, actor: Principal, *, side: str = "all", status: str | None = None, limit: int = 200
) -> list[Grant]:
    """Grants the actor may see, newest first (``side``: consumer, provider or all)."""
    query = visible(sa.select(Grant).order_by(Grant.id.desc()), Grant, actor, side)
    if status:
        query = query.where(Grant.status == status)
    return list(session.scalars(query.limit(limit)).unique())


def visible(query: S, model: type[Demand | Grant], actor: Principal, side: str) -> S:
    """``query`` limited to the actor's side of demands or grants: ``consumer`` (its organisation
    consumes), ``provider`` (it provides) or ``all`` (both; everything for operators and security)."""
    org = actor.organisation_id
    if side == "consumer":
        query = query.where(model.consumer_id == org)
    elif side == "provider":
        query = query.where(model.provider_id == org)
    elif side != "all":
        raise ValidationFailed({"side": [f"side is consumer, provider or all, not {side!r}"]})
    if not actor.has(Role.OPERATOR, Role.SECURITY):
        query = query.where(sa.or_(model.consumer_id == org, model.provider_id == org))
    return query


def effective_state(grant: Grant, now: datetime | None = None) -> str:
    """What a call would meet: revoked, suspended, frozen, expired, not_yet_valid or active."""
    now = now or utcnow()
    if grant.status != GrantStatus.ACTIVE:
        return grant.status
    if grant.frozen_at is not None:
        return "frozen"
    if now >= grant.expires_at:
        return "expired"
    if now < grant.valid_from:
        return "not_yet_valid"
    return "active"


def grant_public(grant: Grant, now: datetime | None = None) -> GrantPublic:
    return GrantPublic(
        code=grant.code,
        demand=grant.demand.code,
        consumer=grant.consumer.code,
        consumer_name=grant.consumer.name,
        provider=grant.provider.code,
        entry=grant.entry.code,
        entry_name=grant.entry.name,
        scenario=grant.scenario,
        method=grant.method,
        fields=grant.fields,
        row_scope=grant.row_scope,
        district_code=grant.district_code,
        conditions=grant.conditions,
        clear_text=grant.clear_text,
        daily_quota=grant.daily_quota,
        rate_per_second=grant.rate_per_second,
        valid_from=grant.valid_from,
        expires_at=grant.expires_at,
        status=grant.status,
        status_label=GRANT_STATUS_LABELS[grant.status][0],
        frozen=grant.frozen_at is not None,
        state=effective_state(grant, now),
        updated_at=grant.updated_at,
    )
