"""Monthly confirmation letters (确认函) and the freezing (冻结) of unconfirmed months' interfaces.

At the start of each month the platform gives every consuming department a letter listing the
demands it held in the previous month ``M``, with the month's calls by API read from the call log.
The department confirms it online (确认) by the last day of ``M+1``; a letter still pending after that
day freezes the listed demands' grants (every channel refuses their calls with ``grant_frozen``)
until the department confirms, which unfreezes them. Each transition is an audit event in the same
transaction as the change. The rules are in ``docs/share-confirmation.md``.

Example::

    with platform.store.session() as session:
        prepare_letters(session, "2026-10", today=date(2026, 11, 1))
        content = letter(session, actor, "D310101", "2026-10", log=call_log(platform))
        pdf = letter_pdf(content, "zh-CN")
        confirm(session, actor, "D310101", "2026-10", log=call_log(platform))
        freeze_overdue(session, SYSTEM, today=date(2026, 12, 1))
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.models import Organisation
from gongshu.orgs.roles import SYSTEM, Principal, Role
from gongshu.platform import Platform
from gongshu.quality.calendar import month_bounds, parse_month, shift_month
from gongshu.quality.pdf import report_pdf
from gongshu.quality.render import month_label
from gongshu.security import audit
from gongshu.security.models import AuditEvent
from gongshu.share.calllog import UsageRow
from gongshu.share.models import Confirmation, Demand, Grant
from gongshu.share.specs import Api, GrantStatus
from gongshu.store.base import CITY_TIMEZONE, city_today, utcnow

PENDING, CONFIRMED = "pending", "confirmed"
STATUSES = (PENDING, CONFIRMED)
#: Call results that answered the call; every other result is a refusal (``grant_frozen`` …).
SERVED_RESULTS = frozenset({"match", "mismatch", "no_record", "ok"})
#: The fields of :class:`LetterContent` that are the letter itself (what is confirmed and digested);
#: the rest is its state for the viewer (when it was generated, whether it is confirmed, overdue).
CONTENT_FIELDS = frozenset(
    {"consumer", "consumer_name", "month", "due", "demands", "calls", "total_calls", "refused_calls",
     "other_calls"}
)  # fmt: skip


class UsageReader(Protocol):
    """Where the letter reads the month's metering: :class:`gongshu.share.calllog.CallLog`."""

    def usage(
        self, *, since: date | None = None, until: date | None = None, consumer: str | None = None
    ) -> list[UsageRow]: ...


class LetterDemand(BaseModel):
    """One demand of a letter: what was granted, and the month's calls in its scenario by API."""

    code: str = Field(description="需求编号")
    grant: str = Field(description="授权编号")
    resource: str = Field(description="资源代码")
    resource_name: str
    provider: str
    provider_name: str
    scenario: str = Field(description="应用场景")
    fields: list[str] = Field(description="信息项")
    method: str = Field(description="共享方式 接口 / 库表 / 文件")
    period_start: date = Field(description="the grant's first day (city date)")
    period_end: date = Field(description="the grant's last day (city date)")
    status: str = Field(description="at the end of the month: in_force, expired or revoked")
    calls: dict[str, int] = Field(
        description="calls of the month by API: verify, query, landing, sql, return"
    )
    total: int
    refused: int
    shared_scenario: bool = Field(description="another demand of the letter has the same scenario")


class LetterContent(BaseModel):
    """A consumer's letter for one month: the letter itself and, after it, its state."""

    consumer: str
    consumer_name: str
    month: str
    due: date = Field(description="the last day to confirm: the end of the following month")
    demands: list[LetterDemand]
    calls: dict[str, int] = Field(description="all the consumer's calls of the month by API")
    total_calls: int
    refused_calls: int
    other_calls: int = Field(description="calls in scenarios that are not in the letter")
    generated_at: datetime
    status: str = Field(description="pending or confirmed")
    confirmed_at: datetime | None
    confirmed_by: str | None
    letter_digest: str | None = Field(description="SHA-256 of the content as confirmed")
    digest: str = Field(description="SHA-256 of the content as it is now")
    overdue: bool
    frozen: list[str] = Field(description="grants of the letter's demands that are frozen now")
    can_confirm: bool = Field(description="whether the viewer may confirm it")


class LetterSummary(BaseModel):
    """A letter in a list: whose, which month, due when, confirmed or not, frozen grants."""

    consumer: str
    consumer_name: str
    month: str
    due: date
    status: str
    demands: int
    confirmed_at: datetime | None
    confirmed_by: str | None
    overdue: bool
    frozen: int


class ConfirmResult(BaseModel):
    """What confirming did: the letter as confirmed and the grants it unfroze."""

    letter: LetterContent
    unfrozen: list[str]


@dataclass(frozen=True)
class Frozen:
    """One grant frozen because a month's letter was not confirmed in time."""

    grant: str
    demand: str
    consumer: str
    month: str


@dataclass
class MonthlyRun:
    """What the daily job did: letters prepared for ``month`` and grants frozen."""

    month: str
    prepared: list[str] = field(default_factory=list)  # consumer codes
    frozen: list[Frozen] = field(default_factory=list)


# --- months ---------------------------------------------------------------------------------------


def _first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def due_date(month: str) -> date:
    """The last day to confirm ``month``'s letter: the last day of the following month."""
    return _first_day(shift_month(month, 2)) - timedelta(days=1)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), CITY_TIMEZONE)


# --- preparing ------------------------------------------------------------------------------------


def _revoked_at(session: Session, grants: Iterable[Grant]) -> dict[str, datetime]:
    """When each revoked grant was revoked (its audit event; ``updated_at`` if none is found)."""
    revoked = {g.code: g.updated_at for g in grants if g.status == GrantStatus.REVOKED}
    if revoked:
        events = session.execute(
            sa.select(AuditEvent.object_id, sa.func.min(AuditEvent.at))
            .where(AuditEvent.action == "share.grant.revoke", AuditEvent.object_id.in_(revoked))
            .group_by(AuditEvent.object_id)
        )
        revoked.update({code: at for code, at in events})
    return revoked


def grants_in_force(session: Session, month: str) -> list[Grant]:
    """Grants in force at any time during ``month``: valid_from before its end, expiring after its
    start, and not revoked before it started."""
    start, end = month_bounds(parse_month(month))
    found = list(
        session.scalars(
            sa.select(Grant).where(Grant.valid_from < end, Grant.expires_at > start).order_by(Grant.id)
        ).unique()
    )
    revoked = _revoked_at(session, found)
    return [g for g in found if g.code not in revoked or revoked[g.code] >= start]


def prepare_letters(
    session: Session, month: str, *, today: date | None = None, actor: Principal = SYSTEM
) -> list[Confirmation]:
    """Create the pending letter of every consumer that held a demand in ``month``; the new ones.

    Idempotent: a consumer's existing letter for the month is left as it is. A month's letters
    exist from the first day of the next month.

    Raises:
        ValidationFailed: ``month`` is not ``YYYY-MM``.
        Conflict: the month has not ended yet.
    """
    actor.require(Role.OPERATOR, action="preparing confirmation letters 确认函")
    parse_month(month)
    today = today or city_today()
    if today < _first_day(shift_month(month, 1)):
        raise Conflict(
            f"{month} has not ended: its letters are prepared from {shift_month(month, 1)}-01",
            hint="prepare the letters of a month that has ended",
            value=month,
        )
    by_consumer: dict[int, list[str]] = defaultdict(list)
    for grant in grants_in_force(session, month):
        by_consumer[grant.consumer_id].append(grant.demand.code)
    existing = set(session.scalars(sa.select(Confirmation.consumer_id).where(Confirmation.month == month)))
    created = []
    for consumer_id, codes in sorted(by_consumer.items()):
        if consumer_id in existing:
            continue
        letter_row = Confirmation(
            consumer_id=consumer_id, month=month, demands=sorted(set(codes)), status=PENDING,
            due=due_date(month),
        )  # fmt: skip
        session.add(letter_row)
        session.flush()
        _audit(session, actor, "share.confirmation.prepare", letter_row, demands=len(letter_row.demands))
        created.append(letter_row)
    return created


# --- reading --------------------------------------------------------------------------------------


def may_see(actor: Principal, consumer_id: int) -> bool:
    """The consumer's users see its letters; operators and security officers see all."""
    return actor.has(Role.OPERATOR, Role.SECURITY) or actor.organisation_id == consumer_id


def may_confirm(actor: Principal, consumer_id: int) -> bool:
    """The consumer's consumers and stewards confirm its letters; operators may confirm any."""
    if actor.has(Role.OPERATOR):
        return True
    return actor.organisation_id == consumer_id and actor.has(Role.CONSUMER, Role.STEWARD)


def get_confirmation(session: Session, actor: Principal, consumer_code: str, month: str) -> Confirmation:
    """The letter of ``consumer_code`` for ``month``; NotFound when absent or not the actor's to see."""
    parse_month(month)
    found = session.scalar(
        sa.select(Confirmation)
        .join(Organisation, Confirmation.consumer_id == Organisation.id)
        .where(Organisation.code == consumer_code, Confirmation.month == month)
    )
    if found is None or not may_see(actor, found.consumer_id):
        raise NotFound(
            f"no confirmation letter of {consumer_code!r} for {month}",
            hint="a month's letters are prepared on the first day of the following month",
            value=consumer_code,
        )
    return found


def _frozen_codes(session: Session, demand_codes: Iterable[str]) -> dict[str, str]:
    """Demand code → grant code of the grants of these demands that are frozen now."""
    codes = set(demand_codes)
    if not codes:
        return {}
    rows = session.execute(
        sa.select(Demand.code, Grant.code)
        .join(Grant, Grant.demand_id == Demand.id)
        .where(Demand.code.in_(codes), Grant.frozen_at.is_not(None))
    )
    return {demand: grant for demand, grant in rows}


def letters(
    session: Session,
    actor: Principal,
    *,
    consumer: str | None = None,
    status: str | None = None,
    today: date | None = None,
) -> list[LetterSummary]:
    """The letters the actor may see, pending first, then the newest month first."""
    if status is not None and status not in STATUSES:
        raise ValidationFailed({"status": [f"status is pending or confirmed, not {status!r}"]})
    query = sa.select(Confirmation).join(Organisation, Confirmation.consumer_id == Organisation.id)
    if consumer:
        query = query.where(Organisation.code == consumer)
    if status:
        query = query.where(Confirmation.status == status)
    if not actor.has(Role.OPERATOR, Role.SECURITY):
        query = query.where(Confirmation.consumer_id == actor.organisation_id)
    rows = list(session.scalars(query).unique())
    rows.sort(key=lambda c: (c.status != PENDING, _desc(c.month), c.consumer.code))
    frozen = _frozen_codes(session, (code for c in rows for code in c.demands))
    today = today or city_today()
    return [
        LetterSummary(
            consumer=c.consumer.code, consumer_name=c.consumer.name, month=c.month, due=c.due,
            status=c.status, demands=len(c.demands), confirmed_at=c.confirmed_at,
            confirmed_by=c.confirmed_by, overdue=_overdue(c, today),
            frozen=sum(code in frozen for code in c.demands),
        )
        for c in rows
    ]  # fmt: skip


def _desc(month: str) -> int:
    return -(int(month[:4]) * 12 + int(month[5:7]))


def _overdue(confirmation: Confirmation, today: date) -> bool:
    return confirmation.status == PENDING and confirmation.due < today


def frozen_grants(session: Session, actor: Principal, *, consumer: str | None = None) -> list[str]:
    """Codes of the frozen grants the actor may see (its organisation's; all for operators)."""
    query = sa.select(Grant.code).where(Grant.frozen_at.is_not(None)).order_by(Grant.code)
    if consumer:
        query = query.join(Organisation, Grant.consumer_id == Organisation.id).where(
            Organisation.code == consumer
        )
    if not actor.has(Role.OPERATOR, Role.SECURITY):
        query = query.where(Grant.consumer_id == actor.organisation_id)
    return list(session.scalars(query))


def letter(
    session: Session,
    actor: Principal,
    consumer_code: str,
    month: str,
    *,
    log: UsageReader,
    today: date | None = None,
) -> LetterContent:
    """The letter of ``consumer_code`` for ``month`` with the month's calls read from ``log``."""
    return _content(session, actor, get_confirmation(session, actor, consumer_code, month), log, today)


def _content(
    session: Session, actor: Principal, row: Confirmation, log: UsageReader, today: date | None
) -> LetterContent:
    first, following = _first_day(row.month), _first_day(shift_month(row.month, 1))
    usage = log.usage(since=first, until=following - timedelta(days=1), consumer=row.consumer.code)
    grants = _letter_grants(session, row.demands)
    end = _day_start(following)
    revoked = _revoked_at(session, grants.values())
    scenarios = [g.scenario for g in grants.values()]
    by_scenario: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in usage:
        counts = by_scenario[r.scenario][r.api]
        counts[0] += r.calls
        counts[1] += r.calls if r.result not in SERVED_RESULTS else 0
    demands = [
        _letter_demand(grants[code], by_scenario.get(grants[code].scenario, {}), scenarios, revoked, end)
        for code in row.demands
        if code in grants
    ]
    totals: dict[str, int] = {api.value: 0 for api in Api}
    for r in usage:
        totals[r.api] = totals.get(r.api, 0) + r.calls
    known = set(scenarios)
    content = LetterContent(
        consumer=row.consumer.code, consumer_name=row.consumer.name, month=row.month, due=row.due,
        demands=demands, calls=totals, total_calls=sum(totals.values()),
        refused_calls=sum(r.calls for r in usage if r.result not in SERVED_RESULTS),
        other_calls=sum(r.calls for r in usage if r.scenario not in known),
        generated_at=utcnow(), status=row.status, confirmed_at=row.confirmed_at,
        confirmed_by=row.confirmed_by, letter_digest=row.letter_digest, digest="",
        overdue=_overdue(row, today or city_today()),
        frozen=sorted(g.code for g in grants.values() if g.frozen_at is not None),
        can_confirm=row.status == PENDING and may_confirm(actor, row.consumer_id),
    )  # fmt: skip
    content.digest = content_digest(content)
    return content


def _letter_grants(session: Session, demand_codes: list[str]) -> dict[str, Grant]:
    """Demand code → its grant, for the demands listed in a letter."""
    if not demand_codes:
        return {}
    grants = session.scalars(
        sa.select(Grant).join(Demand, Grant.demand_id == Demand.id).where(Demand.code.in_(demand_codes))
    ).unique()
    return {g.demand.code: g for g in grants}


def _letter_demand(
    grant: Grant,
    calls: dict[str, list[int]],
    scenarios: list[str],
    revoked: dict[str, datetime],
    end: datetime,
) -> LetterDemand:
    if grant.code in revoked and revoked[grant.code] < end:
        status = "revoked"
    elif grant.expires_at <= end:
        status = "expired"
    else:
        status = "in_force"
    return LetterDemand(
        code=grant.demand.code, grant=grant.code, resource=grant.entry.code, resource_name=grant.entry.name,
        provider=grant.provider.code, provider_name=grant.provider.name, scenario=grant.scenario,
        fields=list(grant.fields), method=grant.method,
        period_start=grant.valid_from.astimezone(CITY_TIMEZONE).date(),
        period_end=(grant.expires_at - timedelta(microseconds=1)).astimezone(CITY_TIMEZONE).date(),
        status=status,
        calls={api: n for api, (n, _) in sorted(calls.items()) if n},
        total=sum(n for n, _ in calls.values()), refused=sum(r for _, r in calls.values()),
        shared_scenario=scenarios.count(grant.scenario) > 1,
    )  # fmt: skip


def content_digest(content: LetterContent) -> str:
    """SHA-256 of the letter's canonical JSON: its content fields, keys sorted, compact, UTF-8."""
    document = content.model_dump(mode="json", include=set(CONTENT_FIELDS))
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- confirming and freezing ----------------------------------------------------------------------


def confirm(
    session: Session,
    actor: Principal,
    consumer_code: str,
    month: str,
    *,
    log: UsageReader,
    today: date | None = None,
) -> ConfirmResult:
    """Confirm a letter (确认) and unfreeze the grants its month froze, unless another overdue
    pending letter still lists them.

    Raises:
        NotFound: no such letter, or not the actor's to see.
        PermissionDenied: the actor is not a consumer or steward of the consumer (nor an operator).
        Conflict: the letter is confirmed already.
    """
    row = get_confirmation(session, actor, consumer_code, month)
    if not may_confirm(actor, row.consumer_id):
        raise PermissionDenied(
            "a letter is confirmed by its department's consumers or stewards",
            hint=f"ask a user of {row.consumer.name} with the role consumer or steward",
        )
    if row.status != PENDING:
        raise Conflict(f"the letter of {consumer_code} for {month} is confirmed already", value=row.status)
    today = today or city_today()
    digest = _content(session, actor, row, log, today).digest
    row.status, row.confirmed_at, row.confirmed_by = CONFIRMED, utcnow(), actor.name
    row.letter_digest = digest
    _audit(session, actor, "share.confirmation.confirm", row, digest=digest, demands=len(row.demands))
    unfrozen = _unfreeze(session, actor, row, today)
    session.flush()
    return ConfirmResult(letter=_content(session, actor, row, log, today), unfrozen=unfrozen)


def _unfreeze(session: Session, actor: Principal, row: Confirmation, today: date) -> list[str]:
    still_overdue = session.scalars(
        sa.select(Confirmation).where(
            Confirmation.consumer_id == row.consumer_id,
            Confirmation.status == PENDING,
            Confirmation.due < today,
            Confirmation.id != row.id,
        )
    ).all()
    held = {code for other in still_overdue for code in other.demands}
    now, unfrozen = utcnow(), []
    for code, grant in sorted(_letter_grants(session, row.demands).items()):
        if grant.frozen_at is None or code in held:
            continue
        grant.frozen_at, grant.updated_at = None, now
        _audit_grant(session, actor, "share.grant.unfreeze", grant, row)
        unfrozen.append(grant.code)
    return unfrozen


def freeze_overdue(session: Session, actor: Principal, *, today: date | None = None) -> list[Frozen]:
    """Freeze the grants of every pending letter past its due date (冻结); what was frozen now.

    A grant is frozen while it is in force (not revoked, not expired; a suspended grant is frozen too,
    so resuming it does not lift the freeze). Idempotent: frozen grants are left as they are.
    """
    actor.require(Role.OPERATOR, action="freezing unconfirmed interfaces 冻结")
    today = today or city_today()
    overdue = session.scalars(
        sa.select(Confirmation)
        .where(Confirmation.status == PENDING, Confirmation.due < today)
        .order_by(Confirmation.month, Confirmation.id)
    ).all()
    now, moment, frozen = utcnow(), _day_start(today), []
    for row in overdue:
        for code, grant in sorted(_letter_grants(session, row.demands).items()):
            live = grant.status in (GrantStatus.ACTIVE, GrantStatus.SUSPENDED) and grant.expires_at > moment
            if grant.frozen_at is not None or not live:
                continue
            grant.frozen_at, grant.updated_at = now, now
            _audit_grant(session, actor, "share.grant.freeze", grant, row)
            frozen.append(Frozen(grant.code, code, row.consumer.code, row.month))
    session.flush()
    return frozen


def run_monthly(platform: Platform, *, today: date | None = None) -> MonthlyRun:
    """The daily job: prepare the previous month's letters (idempotent), then freeze overdue ones."""
    today = today or city_today()
    month = shift_month(today.strftime("%Y-%m"), -1)
    run = MonthlyRun(month)
    with platform.store.session() as session:
        run.prepared = [c.consumer.code for c in prepare_letters(session, month, today=today)]
        run.frozen = freeze_overdue(session, SYSTEM, today=today)
    return run


def _audit(session: Session, actor: Principal, action: str, row: Confirmation, **detail: Any) -> None:
    audit.record(
        session,
        actor=actor.name,
        action=action,
        object_type="share_confirmation",
        object_id=f"{row.consumer.code}/{row.month}",
        detail={"month": row.month, "due": row.due.isoformat(), **detail},
    )


def _audit_grant(session: Session, actor: Principal, action: str, grant: Grant, row: Confirmation) -> None:
    audit.record(
        session,
        actor=actor.name,
        action=action,
        object_type="share_grant",
        object_id=grant.code,
        detail={"month": row.month, "consumer": row.consumer.code, "due": row.due.isoformat()},
    )


# --- the printed letter ---------------------------------------------------------------------------

#: The letter's own words (zh-CN, en): the library prints it without the pages' catalogues.
LABELS: dict[str, tuple[str, str]] = {
    "title": ("共享数据使用确认函", "Confirmation of shared data use"),
    "addressee": ("上海市大数据中心", "Shanghai Big Data Center"),
    "colon": ("：", ": "),
    "intro": (
        "我单位已核实{month}通过上海市公共数据共享交换平台使用共享数据的情况：本月在用的共享数据需求"
        "共 {count} 项，调用共享接口共 {total} 次（其中被拒绝 {refused} 次），明细如下。",
        "We have checked our use of shared data through the Shanghai public data sharing and exchange "
        "platform in {month}: we held {count} sharing demand(s) and made {total} call(s) ({refused} "
        "refused), as listed below.",
    ),
    "consumer": ("用数单位", "Consuming organisation"),
    "month": ("数据月份", "Month"),
    "due": ("确认截止", "Confirm by"),
    "generated_at": ("生成时间", "Generated at"),
    "no": ("序号", "No."),
    "demand": ("需求编号", "Demand"),
    "resource": ("共享资源", "Resource"),
    "scenario": ("应用场景", "Scenario"),
    "fields": ("信息项", "Data items"),
    "method": ("共享方式", "Method"),
    "period": ("使用期限", "Period"),
    "status": ("状态", "Status"),
    "calls": ("本月调用（次）", "Calls this month"),
    "total": ("合计", "Total"),
    "refused": ("被拒绝", "Refused"),
    "period_to": ("至", "to"),
    "in_force": ("在用", "In force"),
    "expired": ("已到期", "Expired"),
    "revoked": ("已撤销", "Revoked"),
    "shared_scenario": (
        "* 同一应用场景下的多项需求共用该场景的调用计数。",
        "* Demands under the same scenario share that scenario's call counts.",
    ),
    "summary": ("本月调用汇总", "Calls of the month by API"),
    "api": ("接口类别", "API"),
    "other_calls": ("其中未对应清单所列应用场景的调用", "Of which in scenarios outside the list"),
    "no_demands": ("本月无在用的共享数据需求。", "No sharing demand was in force in the month."),
    "statement_title": ("确认声明", "Confirmation"),
    "statement": (
        "我单位确认：上述数据需求清单及调用情况属实；所获共享数据仅用于清单所列应用场景，已按照《上海市公共"
        "数据管理办法》履行数据安全管理责任，未超出授权范围使用，未向第三方提供。",
        "We confirm that the demands and calls listed above are accurate; the shared data received were "
        "used only for the scenarios listed, under the data security duties of the Shanghai Public Data "
        "Management Measures, within the granted scope, and were not passed to third parties.",
    ),
    "due_rule": (
        "请于 {due} 前完成确认。逾期未确认的，平台将冻结上述需求的共享接口，确认后予以解冻。",
        "Please confirm by {due}. Unconfirmed by then, the interfaces of these demands are frozen "
        "until the letter is confirmed.",
    ),
    "seal": ("用数单位（盖章）", "Organisation (seal)"),
    "officer": ("经办人", "Officer"),
    "phone": ("联系电话", "Telephone"),
    "date": ("日期", "Date"),
    "date_blank": ("　　　　年　　月　　日", ""),
    "confirmed": ("已于 {at} 由 {by} 在线确认", "Confirmed online by {by} at {at}"),
    "pending": ("待确认", "Not confirmed yet"),
    "digest": ("内容摘要（SHA-256）", "Content digest (SHA-256)"),
    "接口": ("接口", "API"),
    "库表": ("库表", "Tables"),
    "文件": ("文件", "Files"),
    Api.VERIFY: ("核验", "Verification"),
    Api.QUERY: ("查询", "Query"),
    Api.LANDING: ("落地", "Landing"),
    Api.SQL: ("湖上 SQL", "Lake SQL"),
    Api.RETURN: ("属地返还", "District return"),
}
#: Page numbers of the printed letter (CSS ``content``; constants, never user text).
PAGE_COUNTER = {
    "zh-CN": '"第 " counter(page) " 页 / 共 " counter(pages) " 页"',
    "en": '"Page " counter(page) " of " counter(pages)',
}
LANGUAGES = ("zh-CN", "en")
#: The font stack of printed documents (Debian's fonts-wqy-zenhei first, as on the servers).
PRINT_FONT = "'WenQuanYi Zen Hei', 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
PDF_MEDIA_TYPE = "application/pdf"

_templates = Environment(
    loader=PackageLoader("gongshu.share", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def label(key: str, lang: str = "zh-CN", **values: object) -> str:
    """The letter's word for ``key`` in ``lang`` (``label("title", "en")``)."""
    zh, en = LABELS.get(key, (key, key))
    text = en if lang == "en" else zh
    return text.format(**values) if values else text


def _city_time(moment: datetime | None) -> str:
    return moment.astimezone(CITY_TIMEZONE).strftime("%Y-%m-%d %H:%M") if moment else "—"


def letter_html(content: LetterContent, lang: str = "zh-CN", *, fragment: bool = False) -> str:
    """The letter as one self-contained A4 HTML document (inline CSS, no script), for
    :func:`letter_pdf` and the letter page; ``fragment`` gives only its ``<article>`` and styles."""
    chosen = lang if lang in LANGUAGES else "zh-CN"

    def words(key: str, **values: object) -> str:
        return label(key, chosen, **values)

    return _templates.get_template("letter.html").render(
        c=content, lang=chosen, fragment=fragment, w=words, month=month_label(content.month, chosen),
        time=_city_time, font=Markup(PRINT_FONT), pages=Markup(PAGE_COUNTER[chosen]),  # noqa: S704
        apis=[api.value for api in Api], sep="、" if chosen == "zh-CN" else ", ",
    )  # fmt: skip


def letter_pdf(content: LetterContent, lang: str = "zh-CN", *, chromium: str | None = None) -> bytes:
    """The letter as an A4 PDF printed by headless Chromium (:func:`gongshu.quality.pdf.report_pdf`).

    Raises:
        PdfUnavailable: no Chromium here. PdfFailed: Chromium did not print it.
    """
    return report_pdf(letter_html(content, lang), chromium=chromium)


def letter_filename(consumer: str, month: str, lang: str = "zh-CN") -> str:
    """``共享数据使用确认函-D310101-2026-10.pdf`` (ASCII in English)."""
    if lang == "en":
        return f"confirmation-letter-{consumer}-{month}.pdf"
    return f"{label('title')}-{consumer}-{month}.pdf"
