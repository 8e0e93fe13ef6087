"""The sharing exchange's pages (共享交换): the hub, filing and reviewing demands, grants, and
"who accessed my data" (谁用了我的数据) for citizens and for security officers' lookups.

The pages read and change demands and grants through ``gongshu.share.demands`` and
``gongshu.share.grants``, which decide who may see and do what; the call log's usage and recent
calls come from ``gongshu.share.exchange.call_log``; citizens' accesses from
``gongshu.share.citizens``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form
from jinja2 import pass_context
from jinja2.runtime import Context
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from gongshu.catalogue import browse
from gongshu.catalogue.models import CatalogEntry
from gongshu.catalogue.specs import ShareMethod, Status
from gongshu.errors import Conflict, NotFound, ValidationFailed
from gongshu.orgs.models import Organisation
from gongshu.orgs.roles import Principal, Role
from gongshu.platform import Platform
from gongshu.service.deps import PlatformDep, SessionDep
from gongshu.share import citizens, demands, grants
from gongshu.share.errors import DENIAL_REASONS
from gongshu.share.exchange import call_log
from gongshu.share.models import Demand, Grant
from gongshu.share.slice import MASKED_GRADES
from gongshu.share.specs import (
    CONDITION_OPS,
    METHOD_APIS,
    Api,
    Decision,
    DemandCreate,
    DemandStatus,
    RowScope,
)
from gongshu.store.base import city_today
from gongshu.web import i18n
from gongshu.web.auth import GovUser, SignedIn
from gongshu.web.forms import parse_form
from gongshu.web.render import templates
from gongshu.web.twins import Done, Page, Result, invalid, page

router = APIRouter()


@pass_context
def result_label(context: Context, code: str) -> str:
    """A call's result (``match``, ``grant_frozen`` …) in the page's language."""
    lang = context["lang"]
    known = i18n.translate(lang, f"share.result_{code}")
    if known != f"share.result_{code}":
        return known
    zh, en = DENIAL_REASONS.get(code, (code, code))
    return zh if lang == i18n.DEFAULT_LANGUAGE else en


templates.filters["share_result"] = result_label

LISTED = 200
RECENT_CALLS = 50
USAGE_DAYS = 30
DEFAULT_PERIOD_DAYS = 365
REQUESTABLE = (Status.PUBLISHED.value, Status.MOUNTED.value)
#: What may be done to a grant in each stored status (the library checks it again).
GRANT_ACTIONS = {"active": ["suspend", "revoke"], "suspended": ["resume", "revoke"]}
#: The HTTP APIs a consumer calls directly (landing, lake SQL and district return run on the platform).
HTTP_APIS = (Api.VERIFY, Api.QUERY)


# --- the hub ------------------------------------------------------------------------------------


@page(router, "/share", "share/hub.html")
def share_hub(session: SessionDep, actor: GovUser) -> dict[str, Any]:
    """The organisation's demands (filed, to review), grants held and granted; the platform's queue."""
    org = session.get(Organisation, actor.organisation_id) if actor.organisation_id else None
    operator = actor.has(Role.OPERATOR)

    def listed(**filters: Any) -> list[dict[str, Any]]:
        return demand_docs(session, demands.list_demands(session, actor, limit=LISTED, **filters))

    def granted(side: str) -> list[dict[str, Any]]:
        return [grant_doc(g) for g in grants.list_grants(session, actor, side=side, limit=LISTED)]

    return {
        "organisation": {"code": org.code, "name": org.name} if org else None,
        "may_file": actor.has(Role.CONSUMER, Role.OPERATOR),
        "may_look_up": citizens.may_look_up(actor),
        "my_demands": listed(side="consumer"),
        "to_review": listed(side="provider", status=DemandStatus.PROVIDER_REVIEW),
        "platform_review": listed(status=DemandStatus.PLATFORM_REVIEW) if operator else None,
        "overdue": listed(overdue=True) if operator else None,
        "grants_held": granted("consumer"),
        "grants_given": granted("provider"),
    }


def demand_docs(session: Session, found: Iterable[Demand]) -> list[dict[str, Any]]:
    today = city_today()
    return [demands.demand_public(session, d, events=False, today=today).model_dump() for d in found]


def grant_doc(grant: Grant) -> dict[str, Any]:
    return grants.grant_public(grant).model_dump() | {
        "provider_name": grant.provider.name,
        "note": grant.note,
    }


# --- filing a demand ----------------------------------------------------------------------------


class DemandForm(BaseModel):
    """The demand form as sent (text inputs, the 信息项 checkboxes and the conditions' lines)."""

    model_config = ConfigDict(extra="ignore")

    entry: str = ""
    scenario: str = ""
    purpose: str = ""
    legal_basis: str = ""
    fields: list[str] = []
    row_scope: str = RowScope.ALL.value
    conditions: str = ""  # one ``column op value`` per line
    method: str = ""
    period_end: str = ""
    daily_quota: str = ""
    rate_per_second: str = ""
    clear_text: bool = False


@page(router, "/share/demands/new", "share/demand_form.html")
def demand_form(session: SessionDep, actor: GovUser, entry: str | None = None) -> dict[str, Any]:
    """The demand form; ``?entry=CODE`` chooses the resource and shows its 信息项."""
    actor.require(Role.CONSUMER, Role.OPERATOR, action="filing a sharing demand 共享需求")
    context = form_context(session, actor, entry or None)
    chosen = context["entry"]
    form = DemandForm(
        entry=chosen["code"] if chosen else "",
        method=chosen["share_methods"][0] if chosen and chosen["share_methods"] else ShareMethod.API.value,
        period_end=(city_today() + timedelta(days=DEFAULT_PERIOD_DAYS)).isoformat(),
        daily_quota="10000",
        rate_per_second="100",
    )
    return context | {"form": form.model_dump()}


@page(router, "/share/demands/new", "share/demand_form.html", methods=["POST"])
def demand_file(
    platform: PlatformDep, session: SessionDep, actor: GovUser, form: Annotated[DemandForm, Form()]
) -> Result:
    """File the demand; every problem (form or automatic check) is shown beside its field."""
    try:
        context = form_context(session, actor, form.entry.strip() or None)
    except NotFound as error:
        context = form_context(session, actor, None)
        failed = ValidationFailed({"entry": [error.message]})
        return invalid(failed, context, form.model_dump())
    try:
        spec = demand_spec(form)
        demand = demands.file_demand(session, actor, spec, settings=platform.settings)
    except ValidationFailed as error:
        session.rollback()
        shown = ValidationFailed(form_problems(error.problems))
        return invalid(shown, context, form.model_dump())
    except NotFound as error:
        session.rollback()
        return invalid(ValidationFailed({"entry": [error.message]}), context, form.model_dump())
    return Done(f"/share/demands/{demand.code}", demands.demand_public(session, demand))


def form_context(session: Session, actor: Principal, code: str | None) -> dict[str, Any]:
    """The resources one may ask for (published or mounted, not one's own) and the chosen one's 信息项."""
    query = sa.select(CatalogEntry).where(CatalogEntry.status.in_(REQUESTABLE)).order_by(CatalogEntry.code)
    if actor.organisation_id is not None:
        query = query.where(CatalogEntry.provider_id != actor.organisation_id)
    entries = [
        {
            "code": e.code,
            "name": e.name,
            "provider_name": e.provider.name,
            "share_type": e.share_type,
            "share_methods": list(e.share_methods),
        }
        for e in session.scalars(query)
    ]
    chosen = None
    if code:
        found = browse.get_entry(session, actor, code)
        chosen = {
            "code": found.code,
            "name": found.name,
            "provider_name": found.provider.name,
            "share_type": found.share_type,
            "share_methods": list(found.share_methods),
            "share_condition": found.share_condition,
            "by_district": any(i.element_code == demands.DISTRICT_ELEMENT for i in found.items),
            "items": [{"name": i.name, "label": i.label, "grade": i.grade} for i in found.items],
        }
    return {
        "entries": entries,
        "entry": chosen,
        "row_scopes": [s.value for s in RowScope],
        "methods": [m.value for m in ShareMethod],
        "condition_ops": list(CONDITION_OPS),
    }


def demand_spec(form: DemandForm) -> DemandCreate:
    """The form as a :class:`DemandCreate`; shape problems keyed by the form's fields."""
    problems: dict[str, list[str]] = {}
    conditions: list[dict[str, Any]] = []
    if form.row_scope == RowScope.CONDITION:
        try:
            conditions = parse_conditions(form.conditions)
        except ValidationFailed as error:
            problems |= error.problems
    document: dict[str, Any] = {
        "entry": form.entry.strip(),
        "scenario": form.scenario.strip(),
        "purpose": form.purpose.strip(),
        "legal_basis": form.legal_basis.strip(),
        "fields": form.fields,
        "row_scope": form.row_scope,
        "conditions": conditions,
        "clear_text": form.clear_text,
    }
    for name in ("method", "period_end", "daily_quota", "rate_per_second"):
        value = getattr(form, name).strip()
        if value:
            document[name] = value
    try:
        spec = parse_form(DemandCreate, document)
    except ValidationFailed as error:
        raise ValidationFailed(problems | error.problems) from None
    if problems:
        raise ValidationFailed(problems)
    return spec


def parse_conditions(text: str) -> list[dict[str, Any]]:
    """``column op value`` lines (``in`` takes comma-separated values) as condition documents.

    Example::

        parse_conditions("district_code eq 310101\\nsex_code in 1,2")
        # [{"column": "district_code", "op": "eq", "value": "310101"},
        #  {"column": "sex_code", "op": "in", "value": ["1", "2"]}]
    """
    conditions: list[dict[str, Any]] = []
    messages: list[str] = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for number, line in enumerate(lines, start=1):
        parts = line.split(maxsplit=2)
        if len(parts) != 3 or parts[1] not in CONDITION_OPS:
            messages.append(
                f"第 {number} 行应为“信息项 运算符 值” line {number}: write column op value "
                f"(op: {' / '.join(CONDITION_OPS)})"
            )
            continue
        column, op, value = parts
        values = [v.strip() for v in value.split(",") if v.strip()]
        conditions.append({"column": column, "op": op, "value": values if op == "in" else value})
    if not lines:
        messages.append("按条件共享须至少填写一个条件 give at least one condition")
    if messages:
        raise ValidationFailed({"conditions": messages})
    return conditions


def form_problems(problems: dict[str, list[str]]) -> dict[str, list[str]]:
    """Problems keyed by the form's inputs: ``conditions[0].column`` and ``fields[2]`` show by their input."""
    shown: dict[str, list[str]] = {}
    for key, messages in problems.items():
        base = key.split("[", 1)[0].split(".", 1)[0]
        shown.setdefault(base, []).extend(messages)
    return shown


# --- a demand -----------------------------------------------------------------------------------


@page(router, "/share/demands/{code}", "share/demand.html")
def demand_detail(code: str, session: SessionDep, actor: GovUser) -> dict[str, Any]:
    """A demand's fields, deadlines, timeline (审核记录) and the viewer's actions."""
    return demand_view(session, actor, code)


def demand_view(session: Session, actor: Principal, code: str) -> dict[str, Any]:
    demand = demands.get_demand(session, actor, code)
    return {
        "demand": demands.demand_public(session, demand),
        "items": item_rows(demand.entry, demand.fields, clear_text=demand.clear_text),
        "actions": demand_actions(actor, demand),
    }


def demand_actions(actor: Principal, demand: Demand) -> list[str]:
    """What the viewer may do now: approve / refuse in the review they own, withdraw their own demand."""
    actions: list[str] = []
    if demand.status == DemandStatus.PROVIDER_REVIEW and demands.may_review_as_provider(actor, demand):
        actions += ["approve", "refuse"]
    if demand.status == DemandStatus.PLATFORM_REVIEW and actor.has(Role.OPERATOR):
        actions += ["approve", "refuse"]
    if demand.status in demands.REVIEWING and (
        actor.has(Role.OPERATOR) or actor.organisation_id == demand.consumer_id
    ):
        actions.append("withdraw")
    return actions


@page(router, "/share/demands/{code}/{action}", "share/demand.html", methods=["POST"])
def demand_act(
    code: str,
    action: str,
    platform: PlatformDep,
    session: SessionDep,
    actor: GovUser,
    reason: Annotated[str, Form()] = "",
) -> Result:
    """同意 / 驳回 (with a reason) / 撤回; problems show on the demand's page."""
    try:
        if action == "withdraw":
            moved = demands.withdraw(session, actor, code)
        elif action in ("approve", "refuse"):
            decision = parse_form(Decision, {"approve": action == "approve", "reason": reason})
            moved = demands.decide(session, actor, code, decision, settings=platform.settings)
        else:
            raise NotFound(f"no action {action!r} on demands", value=action)
    except ValidationFailed as error:
        session.rollback()
        return invalid(
            error, demand_view(session, actor, code) | {"failed_action": action}, {"reason": reason}
        )
    except Conflict as error:
        session.rollback()
        context = demand_view(session, actor, code) | {"problems": {"form": [error.message]}}
        return Page(context, status=409, error=error)
    return Done(f"/share/demands/{code}", demands.demand_public(session, moved))


# --- a grant ------------------------------------------------------------------------------------


@page(router, "/share/grants/{code}", "share/grant.html")
def grant_detail(code: str, platform: PlatformDep, session: SessionDep, actor: GovUser) -> dict[str, Any]:
    """A grant: scope, effective state, the APIs to call, usage by day and API, recent calls, actions."""
    return grant_view(platform, session, actor, code)


def grant_view(platform: Platform, session: Session, actor: Principal, code: str) -> dict[str, Any]:
    grant = grants.get_grant(session, actor, code)
    log = call_log(platform)
    since = city_today() - timedelta(days=USAGE_DAYS - 1)
    usage = [u for u in log.usage(since=since, consumer=grant.consumer.code) if u.scenario == grant.scenario]
    return {
        "grant": grant_doc(grant),
        "items": item_rows(grant.entry, grant.fields, clear_text=grant.clear_text),
        "endpoints": endpoints(grant),
        "usage": usage_rows((u.day.isoformat(), u.api, u.result, u.calls) for u in usage),
        "usage_days": USAGE_DAYS,
        "calls": [
            {
                "seq": c.seq,
                "at": c.record.at,
                "request_id": c.record.request_id,
                "actor": c.record.actor,
                "api": c.record.api,
                "fields": list(c.record.fields),
                "rows": c.record.rows,
                "result": c.record.result,
                "refused": c.record.result in DENIAL_REASONS,
                "status": c.record.status,
                "latency_ms": round(c.record.latency_us / 1000, 1),
            }
            for c in log.calls(grant=code, limit=RECENT_CALLS)
        ],
        "actions": GRANT_ACTIONS.get(grant.status, []) if grants.may_manage(actor, grant) else [],
    }


def item_rows(entry: CatalogEntry, names: list[str], *, clear_text: bool) -> list[dict[str, Any]]:
    """The granted (or asked-for) 信息项 with their label, grade and whether they are masked (脱敏)."""
    items = {i.name: i for i in entry.items}
    rows = []
    for name in names:
        item = items.get(name)
        grade = item.grade if item else ""
        rows.append(
            {
                "name": name,
                "label": item.label if item else "",
                "grade": grade,
                "masked": grade in MASKED_GRADES and not clear_text,
            }
        )
    return rows


def endpoints(grant: Grant) -> list[dict[str, Any]]:
    """The HTTP APIs the grant opens, each with an example body (placeholders, never real values)."""
    opened = METHOD_APIS.get(grant.method, frozenset())
    keys = grant.fields[:2]
    examples: dict[str, dict[str, Any]] = {
        Api.VERIFY: {"values": {name: "…" for name in keys}},
        Api.QUERY: {"filters": {name: "…" for name in keys[:1]}, "limit": 10},
    }
    return [
        {
            "api": api.value,
            "method": "POST",
            "path": f"/api/v1/share/grants/{grant.code}/{api.value}",
            "body": examples[api],
        }
        for api in HTTP_APIS
        if api in opened
    ]


def usage_rows(usage: Iterable[tuple[str, str, str, int]]) -> list[dict[str, Any]]:
    """Calls per day and API, newest day first: all, served and refused (拒绝)."""
    totals: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"calls": 0, "refused": 0})
    for day, api, result, calls in usage:
        total = totals[day, api]
        total["calls"] += calls
        if result in DENIAL_REASONS:
            total["refused"] += calls
    return [
        {
            "day": day,
            "api": api,
            "calls": n["calls"],
            "served": n["calls"] - n["refused"],
            "refused": n["refused"],
        }
        for (day, api), n in sorted(totals.items(), key=lambda kv: (kv[0][0], kv[0][1]), reverse=True)
    ]


@page(router, "/share/grants/{code}/{action}", "share/grant.html", methods=["POST"])
def grant_act(
    code: str,
    action: str,
    platform: PlatformDep,
    session: SessionDep,
    actor: GovUser,
    reason: Annotated[str, Form()] = "",
) -> Result:
    """暂停 / 恢复 / 撤销 (suspension and revocation need a reason)."""
    try:
        changed = grants.change_status(session, actor, code, action, reason=reason)
    except ValidationFailed as error:
        session.rollback()
        context = grant_view(platform, session, actor, code) | {"failed_action": action}
        return invalid(error, context, {"reason": reason})
    except Conflict as error:
        session.rollback()
        context = grant_view(platform, session, actor, code) | {"problems": {"form": [error.message]}}
        return Page(context, status=409, error=error)
    return Done(f"/share/grants/{code}", grant_doc(changed))


# --- who accessed my data -----------------------------------------------------------------------


@page(router, "/me/accesses", "share/accesses.html")
def my_accesses(platform: PlatformDep, session: SessionDep, actor: SignedIn) -> dict[str, Any]:
    """A citizen's own accesses (我的数据被谁用了): which department used them, when, how and why."""
    try:
        found = citizens.accesses_of(platform, actor, session=session)
    except NotFound:
        return {"mode": "citizen", "bound": False, "accesses": []}
    return {"mode": "citizen", "bound": True, "accesses": [a.model_dump() for a in found]}


@page(router, "/share/accesses", "share/accesses.html")
def lookup_form(actor: GovUser) -> dict[str, Any]:
    """The security officer's lookup form: the ID number is posted, never put in the URL."""
    citizens.require_lookup(actor)
    return {"mode": "lookup", "searched": False, "accesses": []}


@page(router, "/share/accesses", "share/accesses.html", methods=["POST"])
def lookup(
    platform: PlatformDep, session: SessionDep, actor: GovUser, id_number: Annotated[str, Form()] = ""
) -> Result:
    """Every answered call that touched this person; the lookup is audited."""
    citizens.require_lookup(actor)
    try:
        found = citizens.accesses_of(platform, actor, id_number=id_number, session=session)
    except ValidationFailed as error:
        return invalid(error, {"mode": "lookup", "searched": False, "accesses": []}, {})
    return {
        "mode": "lookup",
        "searched": True,
        "person": masked_id(id_number),
        "accesses": [a.model_dump() for a in found],
    }


def masked_id(id_number: str) -> str:
    """An ID number as the page shows it back: area and check character only (``310101********123X``)."""
    number = id_number.strip().upper()
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
