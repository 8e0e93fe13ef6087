"""Demands (共享需求) and their review by share type, on the working-day clock.

A consuming department files a demand; the platform checks it at once (the resource is published,
the 信息项 exist, the method is offered, the row scope can be enforced) and then:

- 无条件共享: granted straight after the checks (a grant is issued);
- 有条件共享: the provider reviews within ``share_review_days`` working days (default 10, on the
  Chinese working-day calendar), then the platform reviews within ``share_platform_review_days``;
  a review past its deadline is escalated (督办) and shows as overdue on both sides' pages;
- 不予共享: refused at once, citing the resource's legal basis.

States: ``provider_review`` → ``platform_review`` → ``granted``; either review may refuse
(``refused``, with a reason); the consumer may withdraw before a decision (``withdrawn``). Every
transition is a ``share_demand_events`` row and an audit event in the same transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry
from gongshu.catalogue.specs import ShareType, Status
from gongshu.config import Settings
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.models import Organisation
from gongshu.orgs.roles import Principal, Role
from gongshu.quality.calendar import WorkCalendar, load_calendar
from gongshu.security import audit
from gongshu.share import grants
from gongshu.share.models import Demand, DemandEvent, Grant
from gongshu.share.specs import (
    DEMAND_STATUS_LABELS,
    Decision,
    DemandCreate,
    DemandEventPublic,
    DemandPublic,
    DemandStatus,
    RowScope,
)
from gongshu.store.base import city_today, utcnow

#: Data element of 行政区划代码: a resource needs such a 信息项 to be shared by district.
DISTRICT_ELEMENT = "DE0302"
REVIEWING = frozenset({DemandStatus.PROVIDER_REVIEW, DemandStatus.PLATFORM_REVIEW})
CODE_PREFIX = "XQ"
#: The longest period one demand may cover (a scenario is renewed by a new demand).
MAX_PERIOD_DAYS = 3 * 366


def file_demand(
    session: Session,
    actor: Principal,
    spec: DemandCreate,
    *,
    settings: Settings,
    calendar: WorkCalendar | None = None,
    today: date | None = None,
) -> Demand:
    """File a demand, run the platform's automatic checks and route it by the resource's share type.

    Raises :class:`ValidationFailed` with every failed check keyed by field; nothing is stored then.
    """
    actor.require(Role.CONSUMER, Role.OPERATOR, action="filing a sharing demand 共享需求")
    today = today or city_today()
    consumer = _consumer(session, actor, spec.consumer)
    entry = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == spec.entry))
    if entry is None or entry.status not in (Status.PUBLISHED, Status.MOUNTED):
        raise NotFound(f"no published resource {spec.entry!r}", value=spec.entry)
    problems = automatic_checks(spec, entry, consumer, today=today)
    if problems:
        raise ValidationFailed(problems)
    demand = Demand(
        code=f"tmp-{utcnow().timestamp()}",
        consumer_id=consumer.id,
        entry_id=entry.id,
        provider_id=entry.provider_id,
        share_type=entry.share_type,
        method=spec.method.value,
        scenario=spec.scenario.strip(),
        purpose=spec.purpose.strip(),
        legal_basis=spec.legal_basis.strip(),
        fields=list(spec.fields),
        row_scope=spec.row_scope.value,
        district_code=consumer.division_code if spec.row_scope is RowScope.DISTRICT else None,
        conditions=[c.model_dump() for c in spec.conditions],
        clear_text=spec.clear_text,
        period_start=spec.period_start or today,
        period_end=spec.period_end,
        daily_quota=spec.daily_quota,
        rate_per_second=spec.rate_per_second,
        status=DemandStatus.PROVIDER_REVIEW.value,
        created_by=actor.name,
    )
    session.add(demand)
    session.flush()
    demand.code = f"{CODE_PREFIX}{demand.id:06d}"
    _event(session, demand, actor, "file", None, DemandStatus.PROVIDER_REVIEW, "自动检查通过 checks passed")
    if entry.share_type == ShareType.UNCONDITIONAL:
        _move(session, demand, actor, "auto_grant", DemandStatus.GRANTED, "无条件共享：自动授权")
        grants.issue_grant(session, demand, actor)
    elif entry.share_type == ShareType.NOT_SHARED:
        basis = entry.share_basis or "（提供方未填写依据）"
        demand.reason = f"不予共享 not shared: {basis}"
        _move(session, demand, actor, "auto_refuse", DemandStatus.REFUSED, demand.reason)
    else:
        demand.provider_due = (calendar or load_calendar()).add_working_days(
            today, settings.share_review_days
        )
    return demand


def automatic_checks(
    spec: DemandCreate, entry: CatalogEntry, consumer: Organisation, *, today: date
) -> dict[str, list[str]]:
    """The platform's checks of a demand before anyone reviews it, keyed by field."""
    problems: dict[str, list[str]] = {}
    items = {item.name: item for item in entry.items}
    unknown = [name for name in spec.fields if name not in items]
    if unknown:
        problems["fields"] = [f"资源没有这些信息项 the resource has no 信息项 {', '.join(unknown)}"]
    if entry.share_type != ShareType.NOT_SHARED and spec.method.value not in entry.share_methods:
        offered = "、".join(entry.share_methods) or "无"
        problems["method"] = [f"资源不提供 {spec.method.value} 共享方式 (offered: {offered})"]
    if entry.provider_id == consumer.id:
        problems["entry"] = ["本部门资源无需申请 a department does not file demands for its own resources"]
    start = spec.period_start or today
    if start < today:
        problems["period_start"] = ["开始日期不能早于今天 the period cannot start in the past"]
    if spec.period_end < start:
        problems["period_end"] = ["结束日期早于开始日期 the period ends before it starts"]
    elif (spec.period_end - start).days > MAX_PERIOD_DAYS:
        problems["period_end"] = ["期限最长三年 a demand covers at most three years"]
    if spec.row_scope is RowScope.DISTRICT:
        if not any(item.element_code == DISTRICT_ELEMENT for item in entry.items):
            problems["row_scope"] = [
                "资源没有行政区划代码信息项，无法按区共享 the resource has no district 信息项"
            ]
        elif consumer.division.level != "district":
            problems["row_scope"] = [
                "仅区级部门可申请本区数据 only district bodies ask for own-district rows"
            ]
    for i, condition in enumerate(spec.conditions):
        if condition.column not in items:
            problems[f"conditions[{i}].column"] = [f"资源没有信息项 no 信息项 {condition.column!r}"]
    return problems


def decide(
    session: Session,
    actor: Principal,
    code: str,
    decision: Decision,
    *,
    settings: Settings,
    calendar: WorkCalendar | None = None,
    today: date | None = None,
) -> Demand:
    """The provider's or the platform's decision, whichever review the demand is in."""
    demand = get_demand(session, actor, code)
    if not decision.approve and not decision.reason.strip():
        raise ValidationFailed({"reason": ["驳回须说明理由 a refusal needs a reason"]})
    if demand.status == DemandStatus.PROVIDER_REVIEW:
        if not may_review_as_provider(actor, demand):
            raise PermissionDenied(
                "only the provider's reviewers and stewards review this demand",
                hint=f"the provider is {demand.provider.name}",
            )
        if decision.approve:
            days = settings.share_platform_review_days
            demand.platform_due = (calendar or load_calendar()).add_working_days(today or city_today(), days)
            demand.escalated_at = None
            _move(session, demand, actor, "provider_approve", DemandStatus.PLATFORM_REVIEW, decision.reason)
        else:
            _refuse(session, demand, actor, "provider_refuse", decision.reason)
    elif demand.status == DemandStatus.PLATFORM_REVIEW:
        if not actor.has(Role.OPERATOR):
            raise PermissionDenied(
                "the platform review is the operator's (大数据中心)", hint="ask an operator"
            )
        if decision.approve:
            _move(session, demand, actor, "platform_approve", DemandStatus.GRANTED, decision.reason)
            grants.issue_grant(session, demand, actor)
        else:
            _refuse(session, demand, actor, "platform_refuse", decision.reason)
    else:
        raise Conflict(f"demand {code} is {demand.status}, not under review", value=demand.status)
    return demand


def withdraw(session: Session, actor: Principal, code: str) -> Demand:
    """The consumer withdraws a demand still under review."""
    demand = get_demand(session, actor, code)
    if not (actor.has(Role.OPERATOR) or actor.organisation_id == demand.consumer_id):
        raise PermissionDenied("only the consuming department withdraws its demand")
    if demand.status not in REVIEWING:
        raise Conflict(f"demand {code} is {demand.status}; only demands under review are withdrawn")
    _move(session, demand, actor, "withdraw", DemandStatus.WITHDRAWN, "")
    return demand


def sweep(session: Session, actor: Principal, *, today: date | None = None) -> list[Demand]:
    """Escalate (督办) every review past its deadline that is not escalated yet. Idempotent."""
    actor.require(Role.OPERATOR, action="escalating overdue reviews 超期督办")
    today = today or city_today()
    late = session.scalars(
        sa.select(Demand).where(
            sa.or_(
                sa.and_(Demand.status == DemandStatus.PROVIDER_REVIEW, Demand.provider_due < today),
                sa.and_(Demand.status == DemandStatus.PLATFORM_REVIEW, Demand.platform_due < today),
            ),
            Demand.escalated_at.is_(None),
        )
    ).all()
    for demand in late:
        demand.escalated_at = utcnow()
        due = demand.provider_due if demand.status == DemandStatus.PROVIDER_REVIEW else demand.platform_due
        _event(
            session, demand, actor, "escalate", demand.status, demand.status, f"审核超期 overdue since {due}"
        )
    return list(late)


def is_overdue(demand: Demand, today: date | None = None) -> bool:
    """True while a review is past its working-day deadline."""
    today = today or city_today()
    if demand.status == DemandStatus.PROVIDER_REVIEW:
        return demand.provider_due is not None and demand.provider_due < today
    if demand.status == DemandStatus.PLATFORM_REVIEW:
        return demand.platform_due is not None and demand.platform_due < today
    return False


def may_review_as_provider(actor: Principal, demand: Demand) -> bool:
    return actor.has(Role.REVIEWER, Role.STEWARD) and actor.organisation_id == demand.provider_id


def may_see(actor: Principal, demand: Demand) -> bool:
    """Consumers and providers see their demands; operators and security officers see all."""
    if actor.has(Role.OPERATOR, Role.SECURITY):
        return True
    return actor.organisation_id in (demand.consumer_id, demand.provider_id)


def get_demand(session: Session, actor: Principal, code: str) -> Demand:
    demand = session.scalar(sa.select(Demand).where(Demand.code == code))
    if demand is None or not may_see(actor, demand):
        raise NotFound(f"no demand {code!r}", value=code)
    return demand


def list_demands(
    session: Session,
    actor: Principal,
    *,
    side: str = "all",
    status: str | None = None,
    overdue: bool = False,
    limit: int = 200,
    today: date | None = None,
) -> list[Demand]:
    """Demands the actor may see, newest first. ``side``: ``consumer`` (filed by the actor's
    organisation), ``provider`` (on its resources) or ``all`` (both, or everything for operators)."""
    query = grants.visible(sa.select(Demand).order_by(Demand.id.desc()), Demand, actor, side)
    if status:
        query = query.where(Demand.status == status)
    if overdue:
        today = today or city_today()
        query = query.where(
            sa.or_(
                sa.and_(Demand.status == DemandStatus.PROVIDER_REVIEW, Demand.provider_due < today),
                sa.and_(Demand.status == DemandStatus.PLATFORM_REVIEW, Demand.platform_due < today),
            )
        )
    return list(session.scalars(query.limit(limit)).unique())


def demand_public(
    session: Session, demand: Demand, *, events: bool = True, today: date | None = None
) -> DemandPublic:
    grant = session.scalar(sa.select(Grant.code).where(Grant.demand_id == demand.id))
    return DemandPublic(
        code=demand.code,
        consumer=demand.consumer.code,
        consumer_name=demand.consumer.name,
        provider=demand.provider.code,
        provider_name=demand.provider.name,
        entry=demand.entry.code,
        entry_name=demand.entry.name,
        share_type=demand.share_type,
        method=demand.method,
        scenario=demand.scenario,
        purpose=demand.purpose,
        legal_basis=demand.legal_basis,
        fields=demand.fields,
        row_scope=demand.row_scope,
        district_code=demand.district_code,
        conditions=demand.conditions,
        clear_text=demand.clear_text,
        period_start=demand.period_start,
        period_end=demand.period_end,
        daily_quota=demand.daily_quota,
        rate_per_second=demand.rate_per_second,
        status=demand.status,
        status_label=DEMAND_STATUS_LABELS[demand.status][0],
        provider_due=demand.provider_due,
        platform_due=demand.platform_due,
        overdue=is_overdue(demand, today),
        escalated_at=demand.escalated_at,
        reason=demand.reason,
        created_by=demand.created_by,
        created_at=demand.created_at,
        decided_at=demand.decided_at,
        grant=grant,
        events=[
            DemandEventPublic(
                at=e.at,
                actor=e.actor,
                action=e.action,
                from_status=e.from_status,
                to_status=e.to_status,
                note=e.note,
            )
            for e in demand.events
        ]
        if events
        else [],
    )


def _consumer(session: Session, actor: Principal, code: str | None) -> Organisation:
    if code is not None and actor.has(Role.OPERATOR):
        org = session.scalar(sa.select(Organisation).where(Organisation.code == code))
        if org is None:
            raise NotFound(f"no organisation {code!r}", value=code)
        return org
    if code is not None:
        raise PermissionDenied("only operators file demands on behalf of another organisation")
    org = session.get(Organisation, actor.organisation_id) if actor.organisation_id else None
    if org is None:
        raise ValidationFailed({"consumer": ["申请须以部门名义 a demand is filed by a department"]})
    return org


def _refuse(session: Session, demand: Demand, actor: Principal, action: str, reason: str) -> None:
    demand.reason = reason.strip()
    _move(session, demand, actor, action, DemandStatus.REFUSED, demand.reason)


def _move(
    session: Session, demand: Demand, actor: Principal, action: str, to: DemandStatus, note: str
) -> None:
    before = demand.status
    demand.status = to.value
    demand.updated_at = utcnow()
    if to in (DemandStatus.GRANTED, DemandStatus.REFUSED, DemandStatus.WITHDRAWN):
        demand.decided_at = demand.updated_at
        demand.escalated_at = None
    _event(session, demand, actor, action, before, to, note)


def _event(
    session: Session, demand: Demand, actor: Principal, action: str, before: str | None, to: str, note: str
) -> None:
    session.add(
        DemandEvent(
            demand_id=demand.id, actor=actor.name, action=action, from_status=before, to_status=to, note=note
        )
    )
    detail: dict[str, Any] = {
        "from": before,
        "to": str(to),
        "entry": demand.entry_id,
        "consumer": demand.consumer_id,
    }
    if note:
        detail["note"] = note[:200]
    audit.record(
        session,
        actor=actor.name,
        action=f"share.demand.{action}",
        object_type="share_demand",
        object_id=demand.code,
        detail=detail,
    )
    session.flush()
