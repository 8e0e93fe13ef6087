"""Applications for 有条件开放 datasets (有条件开放申请): filing, review, credential, accesses, statistics.

A signed-in developer (an enterprise or a person, :attr:`Role.DEVELOPER`) files an application for a
有条件开放 dataset: the applicant organisation, its optional 统一社会信用代码, a contact, purpose,
scenario, the requested 信息项 (published ones only) and a duration (1–365 days). Everything is
checked at once (:class:`ValidationFailed` keyed by field); a 无条件开放 dataset needs no application,
and a dataset that is not open is not found. Filing generates the 数据安全承诺书 and the 数据利用协议
(:mod:`gongshu.open.agreements`) and sets the review deadline ``due_on``: ``open_review_days``
working days on the Chinese calendar.

The providing department's stewards and reviewers (or an operator) decide::

    submitted ──approve──► approved ──revoke──► revoked
        │  └───refuse (reason)──► refused
        └──withdraw (applicant)──► withdrawn

Every transition writes an :class:`OpenApplicationEvent` and an audit event. On approval the
approval is valid for the duration; the applicant collects a scoped credential once
(:func:`collect_credential`; collecting again replaces it), which reads only this dataset's approved
信息项 (the decision is :meth:`gongshu.open.caller.Caller.readable_fields`). The provider and the
applicant see every access made with it (:func:`application_accesses`); anyone sees the
per-department statistics (:func:`application_stats`).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry
from gongshu.config import Settings
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.open import agreements
from gongshu.open.datasets import OpenDataset, open_dataset
from gongshu.open.developers import KeyIssued, KeyPublic, key_issued, key_public
from gongshu.open.keys import create_key
from gongshu.open.models import OpenAccess, OpenApplication, OpenApplicationEvent, OpenKey
from gongshu.orgs.models import Organisation, User
from gongshu.orgs.roles import Principal, Role
from gongshu.orgs.uscc import is_valid_uscc
from gongshu.quality.calendar import load_calendar
from gongshu.security import audit
from gongshu.store.base import city_date, city_today, utcnow

SUBMITTED, APPROVED, REFUSED, WITHDRAWN, REVOKED = "submitted", "approved", "refused", "withdrawn", "revoked"
STATES = (SUBMITTED, APPROVED, REFUSED, WITHDRAWN, REVOKED)
STATE_LABELS = {
    SUBMITTED: ("待审核", "Submitted"),
    APPROVED: ("已通过", "Approved"),
    REFUSED: ("未通过", "Refused"),
    WITHDRAWN: ("已撤回", "Withdrawn"),
    REVOKED: ("已撤销", "Revoked"),
}
CODE_PREFIX = "OA"
MAX_DURATION_DAYS = 365
LISTED = 500


# --- shapes ---------------------------------------------------------------------------------------


class ApplicationCreate(BaseModel):
    """A checked application (build it with :func:`application_spec`)."""

    dataset: str
    applicant_org: str
    applicant_uscc: str | None
    contact: str
    purpose: str
    scenario: str
    fields: list[str]
    duration_days: int


class EventPublic(BaseModel):
    at: datetime
    actor: str
    from_state: str | None
    to_state: str
    note: str | None


class ApplicationPublic(BaseModel):
    """An application as the applicant, the provider and operators see it."""

    code: str
    dataset: str  # public name, e.g. 102001001-000001
    dataset_code: str
    dataset_title: str
    provider: str
    provider_name: str
    applicant: str
    applicant_org: str
    applicant_uscc: str | None
    contact: str
    purpose: str
    scenario: str
    fields: list[str]
    duration_days: int
    state: str
    state_label: str
    filed_at: datetime
    due_on: date
    overdue: bool
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None
    valid_until: datetime | None
    pledge_sha256: str | None
    agreement_sha256: str | None
    events: list[EventPublic]
    credentials: list[KeyPublic]


class AccessPublic(BaseModel):
    at: datetime
    day: date
    caller: str
    channel: str
    format: str | None
    fields: list[str]
    rows: int
    status: int


class DepartmentStats(BaseModel):
    """Public statistics of one department's applications (申请统计)."""

    provider: str
    provider_name: str
    applications: int
    approved: int
    refused: int
    pending: int
    withdrawn: int
    approval_rate: float | None  # approved / decided; None before the first decision
    median_response_days: float | None  # working days from filing to decision


# --- filing ---------------------------------------------------------------------------------------


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def _required(problems: dict[str, list[str]], name: str, value: str, label: str, limit: int) -> None:
    if not value:
        problems.setdefault(name, []).append(f"{label}不能为空 required")
    elif len(value) > limit:
        problems.setdefault(name, []).append(f"{label}最多 {limit} 个字符 at most {limit} characters")


def _duration(problems: dict[str, list[str]], value: Any) -> int:
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        problems.setdefault("duration_days", []).append("使用期限应为天数 give a number of days")
        return 0
    if not 1 <= days <= MAX_DURATION_DAYS:
        problems.setdefault("duration_days", []).append(
            f"使用期限应在 1–{MAX_DURATION_DAYS} 天之间 between 1 and {MAX_DURATION_DAYS} days"
        )
    return days


def _fields(problems: dict[str, list[str]], value: Any, dataset: OpenDataset) -> list[str]:
    names = [value] if isinstance(value, str) else list(value or [])
    chosen = [str(n).strip() for n in names if str(n).strip()]
    published = dataset.published_fields
    unknown = [n for n in chosen if n not in published]
    if unknown:
        problems.setdefault("fields", []).append(
            f"不可申请的信息项 not published fields: {', '.join(unknown)}"
            f" (可申请 published: {', '.join(published)})"
        )
    if not chosen:
        problems.setdefault("fields", []).append("请至少选择一个信息项 choose at least one field")
    return [n for n in published if n in chosen]


def application_spec(session: Session, values: Mapping[str, Any]) -> tuple[ApplicationCreate, OpenDataset]:
    """Check an application's input; every problem at once, keyed by field.

    Raises:
        NotFound: the dataset is not open. ValidationFailed: anything else, including a 无条件开放
        dataset (``dataset``: it needs no application).
    """
    dataset = open_dataset(session, _text(values, "dataset"))
    problems: dict[str, list[str]] = {}
    if dataset.unconditional:
        problems["dataset"] = [
            "无条件开放数据无需申请，可直接下载或调用 "
            "this dataset is open to everyone: no application is needed"
        ]
    applicant_org = _text(values, "applicant_org")
    _required(problems, "applicant_org", applicant_org, "申请单位", 200)
    uscc = _text(values, "applicant_uscc").upper() or None
    if uscc is not None and not is_valid_uscc(uscc):
        problems["applicant_uscc"] = [
            "统一社会信用代码格式或校验位不正确 not a valid unified social credit code"
        ]
    contact, purpose, scenario = (_text(values, n) for n in ("contact", "purpose", "scenario"))
    _required(problems, "contact", contact, "联系人", 100)
    _required(problems, "purpose", purpose, "数据用途", 4000)
    _required(problems, "scenario", scenario, "应用场景", 200)
    fields = _fields(problems, values.get("fields"), dataset)
    days = _duration(problems, values.get("duration_days"))
    if problems:
        raise ValidationFailed(problems)
    spec = ApplicationCreate(
        dataset=dataset.name,
        applicant_org=applicant_org,
        applicant_uscc=uscc,
        contact=contact,
        purpose=purpose,
        scenario=scenario,
        fields=fields,
        duration_days=days,
    )
    return spec, dataset


def _next_code(session: Session) -> str:
    last = session.scalar(sa.select(sa.func.max(OpenApplication.id))) or 0
    code = f"{CODE_PREFIX}{last + 1:06d}"
    while session.scalar(sa.select(OpenApplication.id).where(OpenApplication.code == code)) is not None:
        last += 1
        code = f"{CODE_PREFIX}{last + 1:06d}"
    return code


def _require_applicant(actor: Principal) -> None:
    if actor.user_id is None or not actor.has(Role.DEVELOPER):
        raise PermissionDenied(
            "applications are filed by registered developers (公众开发者)",
            hint="register a developer account at /open/developer and sign in",
        )


def file_application(
    session: Session, actor: Principal, values: Mapping[str, Any], *, settings: Settings
) -> OpenApplication:
    """File an application (提交申请) and generate its two documents as PDF. Audited.

    ``values``: dataset, applicant_org, applicant_uscc, contact, purpose, scenario, fields,
    duration_days (form strings or JSON values alike).
    """
    _require_applicant(actor)
    spec, dataset = application_spec(session, values)
    today = city_today()
    application = OpenApplication(
        code=_next_code(session),
        entry_id=dataset.id,
        applicant_id=actor.user_id,
        applicant_org=spec.applicant_org,
        applicant_uscc=spec.applicant_uscc,
        contact=spec.contact,
        purpose=spec.purpose,
        scenario=spec.scenario,
        fields=spec.fields,
        duration_days=spec.duration_days,
        state=SUBMITTED,
        filed_at=utcnow(),
        due_on=load_calendar().add_working_days(today, settings.open_review_days),
    )
    session.add(application)
    session.flush()
    labels = {f.name: f.label for f in dataset.fields}
    content = agreements.DocumentContent(
        code=application.code,
        applicant_org=spec.applicant_org,
        applicant_uscc=spec.applicant_uscc,
        applicant_user=actor.username or actor.name,
        contact=spec.contact,
        dataset_code=dataset.code,
        dataset_title=dataset.title,
        provider_name=dataset.provider_name,
        open_condition=dataset.open_condition,
        fields=tuple((n, labels.get(n, n)) for n in spec.fields),
        purpose=spec.purpose,
        scenario=spec.scenario,
        duration_days=spec.duration_days,
        filed_at=application.filed_at,
        due_on=application.due_on,
    )
    digests = agreements.write_documents(settings.data_dir, content)
    application.pledge_sha256 = digests["pledge"]
    application.agreement_sha256 = digests["agreement"]
    _transition(session, actor, application, None, SUBMITTED, None, "open.application.file")
    return application


def _transition(
    session: Session,
    actor: Principal,
    application: OpenApplication,
    before: str | None,
    after: str,
    note: str | None,
    action: str,
    **detail: Any,
) -> None:
    application.state = after
    application.events.append(
        OpenApplicationEvent(actor=actor.name, from_state=before, to_state=after, note=note, at=utcnow())
    )
    session.flush()
    audit.record(
        session,
        actor=actor.name,
        action=action,
        object_type="open_application",
        object_id=application.code,
        detail={"dataset": application.entry.code, "from": before, "to": after, **detail},
    )


# --- who sees and decides -------------------------------------------------------------------------


def is_applicant(actor: Principal, application: OpenApplication) -> bool:
    return actor.user_id is not None and actor.user_id == application.applicant_id


def may_review(actor: Principal, application: OpenApplication) -> bool:
    """The providing department's stewards and reviewers, and operators."""
    if actor.has(Role.OPERATOR):
        return True
    return actor.organisation_id == application.entry.provider_id and actor.has(Role.STEWARD, Role.REVIEWER)


def may_see(actor: Principal, application: OpenApplication) -> bool:
    """The applicant, the providing department's users, operators and security officers."""
    return (
        is_applicant(actor, application)
        or actor.has(Role.OPERATOR, Role.SECURITY)
        or (actor.organisation_id is not None and actor.organisation_id == application.entry.provider_id)
    )


def get_application(session: Session, actor: Principal, code: str) -> OpenApplication:
    """The application ``code`` if the actor may see it; otherwise :class:`NotFound` (no probing)."""
    application = session.scalar(
        sa.select(OpenApplication).where(OpenApplication.code == code.strip().upper())
    )
    if application is None or not may_see(actor, application):
        raise NotFound(f"no application {code!r}", value=code)
    return application


def list_applications(
    session: Session, actor: Principal, *, side: str = "mine", state: str | None = None, limit: int = LISTED
) -> list[OpenApplication]:
    """Applications, newest first. ``side``: ``mine`` (filed by the actor), ``review`` (on the actor's
    department's datasets; operators: all), ``all`` (both)."""
    query = sa.select(OpenApplication).join(CatalogEntry).order_by(OpenApplication.id.desc()).limit(limit)
    mine = OpenApplication.applicant_id == (actor.user_id or -1)
    if actor.has(Role.OPERATOR, Role.SECURITY):
        provided: sa.ColumnElement[bool] = sa.true()
    else:
        provided = CatalogEntry.provider_id == (actor.organisation_id or -1)
    if side == "mine":
        query = query.where(mine)
    elif side == "review":
        query = query.where(provided)
    elif side == "all":
        query = query.where(sa.or_(mine, provided))
    else:
        raise ValidationFailed({"side": ["side is mine, review or all"]})
    if state is not None:
        if state not in STATES:
            raise ValidationFailed({"state": [f"state is one of {', '.join(STATES)}"]})
        query = query.where(OpenApplication.state == state)
    return list(session.scalars(query).unique())


# --- review ---------------------------------------------------------------------------------------


def _reviewable(session: Session, actor: Principal, code: str, state: str, what: str) -> OpenApplication:
    application = get_application(session, actor, code)
    if not may_review(actor, application):
        raise PermissionDenied(
            f"{what} is for the providing department's stewards and reviewers",
            hint="ask the providing department (数据提供部门)",
        )
    if application.state != state:
        raise Conflict(
            f"application {application.code} is {application.state}, not {state}", value=application.state
        )
    return application


def approve(
    session: Session,
    actor: Principal,
    code: str,
    *,
    fields: Sequence[str] | None = None,
    note: str | None = None,
) -> OpenApplication:
    """同意: approve, optionally narrowing the 信息项 (``fields``; ``None``: as requested); valid for the
    application's duration from now."""
    application = _reviewable(session, actor, code, SUBMITTED, "approving an application")
    approved = list(application.fields)
    if fields is not None and not list(fields):
        raise ValidationFailed({"fields": ["请至少核定一个信息项 approve at least one field"]})
    if fields is not None:
        extra = [f for f in fields if f not in application.fields]
        if extra:
            raise ValidationFailed(
                {
                    "fields": [
                        f"只能在申请的信息项内核定 only requested fields can be approved: {', '.join(extra)}"
                    ]
                }
            )
        approved = [f for f in application.fields if f in fields]
    now = utcnow()
    application.fields = approved
    application.decided_at = now
    application.decided_by = actor.name
    application.reason = (note or "").strip() or None
    application.valid_until = now + timedelta(days=application.duration_days)
    _transition(
        session, actor, application, SUBMITTED, APPROVED, application.reason, "open.application.approve",
        fields=approved, valid_until=application.valid_until,
    )  # fmt: skip
    return application


def refuse(session: Session, actor: Principal, code: str, reason: str) -> OpenApplication:
    """不同意: refuse, with the reason (required)."""
    if not reason.strip():
        raise ValidationFailed({"reason": ["请说明不同意的理由 give the reason for refusing"]})
    application = _reviewable(session, actor, code, SUBMITTED, "refusing an application")
    application.decided_at = utcnow()
    application.decided_by = actor.name
    application.reason = reason.strip()
    _transition(
        session, actor, application, SUBMITTED, REFUSED, application.reason, "open.application.refuse"
    )
    return application


def withdraw(session: Session, actor: Principal, code: str) -> OpenApplication:
    """撤回: the applicant withdraws an application still under review."""
    application = get_application(session, actor, code)
    if not is_applicant(actor, application):
        raise PermissionDenied("only the applicant withdraws an application")
    if application.state != SUBMITTED:
        raise Conflict(f"application {application.code} is {application.state}, not under review")
    _transition(session, actor, application, SUBMITTED, WITHDRAWN, None, "open.application.withdraw")
    return application


def revoke(session: Session, actor: Principal, code: str, reason: str) -> OpenApplication:
    """撤销: the provider (or an operator) ends an approval; its credentials stop at once."""
    if not reason.strip():
        raise ValidationFailed({"reason": ["请说明撤销的理由 give the reason for revoking"]})
    application = _reviewable(session, actor, code, APPROVED, "revoking an approval")
    application.reason = reason.strip()
    for key in credentials_of(session, application):
        if key.revoked_at is None:
            key.revoked_at = utcnow()
    _transition(session, actor, application, APPROVED, REVOKED, application.reason, "open.application.revoke")
    return application


def is_valid(application: OpenApplication, now: datetime | None = None) -> bool:
    """True while an approval is in force (approved and not past ``valid_until``)."""
    until = application.valid_until
    if application.state != APPROVED or until is None:
        return False
    return (until if until.tzinfo else until.replace(tzinfo=UTC)) > (now or utcnow())


def is_overdue(application: OpenApplication, today: date | None = None) -> bool:
    """A review past its deadline (today after ``due_on`` while still submitted)."""
    return application.state == SUBMITTED and (today or city_today()) > application.due_on


# --- the credential -------------------------------------------------------------------------------


def credentials_of(session: Session, application: OpenApplication) -> list[OpenKey]:
    return list(
        session.scalars(
            sa.select(OpenKey).where(OpenKey.application_id == application.id).order_by(OpenKey.id.desc())
        )
    )


def collect_credential(
    session: Session, actor: Principal, code: str, *, settings: Settings
) -> tuple[OpenKey, str]:
    """领取凭证: the applicant's scoped credential, shown once; collecting again replaces the previous one.

    The credential reads only this application's dataset and approved 信息项 and expires with it.
    """
    application = get_application(session, actor, code)
    if not is_applicant(actor, application):
        raise PermissionDenied("only the applicant collects the credential")
    if not is_valid(application):
        raise Conflict(
            f"application {application.code} has no approval in force ({application.state})",
            hint="a credential is issued for an approved, unexpired application",
        )
    replaced = [k.display_prefix for k in credentials_of(session, application) if k.revoked_at is None]
    for key in credentials_of(session, application):
        if key.revoked_at is None:
            key.revoked_at = utcnow()
    user = session.get(User, application.applicant_id)
    assert user is not None  # the applicant's row is referenced by the application
    key, secret = create_key(
        session, user, f"{application.code} 授权凭证", actor=actor, application=application,
        daily_quota=settings.open_key_daily_quota, rate_per_s=settings.open_key_rate_per_s,
        expires_at=application.valid_until,
    )  # fmt: skip
    note = "领取授权凭证 credential collected" + (f" (replacing {', '.join(replaced)})" if replaced else "")
    application.events.append(
        OpenApplicationEvent(actor=actor.name, from_state=APPROVED, to_state=APPROVED, note=note, at=utcnow())
    )
    session.flush()
    return key, secret


def credential_issued(application: OpenApplication, key: OpenKey, secret: str) -> KeyIssued:
    return key_issued(key, secret, application=application.code)


# --- documents and accesses -----------------------------------------------------------------------


def document_of(session: Session, actor: Principal, code: str, kind: str, *, settings: Settings) -> bytes:
    """The generated PDF ``kind`` (``pledge`` or ``agreement``): applicant, provider and operators only."""
    application = get_application(session, actor, code)
    if not (is_applicant(actor, application) or may_review(actor, application) or
            actor.organisation_id == application.entry.provider_id):  # fmt: skip
        raise NotFound(f"no document {kind!r} of {code}")
    if kind not in agreements.DOCUMENTS:
        raise NotFound(f"no document {kind!r}", value=kind)
    path = agreements.document_path(settings.data_dir, application.code, kind)
    if not path.is_file():
        raise NotFound(
            f"the {kind} of {application.code} is missing", hint="ask the platform to regenerate it"
        )
    return path.read_bytes()


def application_accesses(
    session: Session, actor: Principal, code: str, *, limit: int = 1000
) -> list[AccessPublic]:
    """Every access made with the application's credentials (newest first)."""
    application = get_application(session, actor, code)
    rows = session.scalars(
        sa.select(OpenAccess)
        .where(OpenAccess.application_id == application.id)
        .order_by(OpenAccess.id.desc())
        .limit(limit)
    )
    return [
        AccessPublic(at=a.at, day=a.day, caller=a.caller, channel=a.channel, format=a.format,
                     fields=list(a.fields), rows=a.rows, status=a.status)
        for a in rows
    ]  # fmt: skip


def application_public(
    session: Session, application: OpenApplication, *, today: date | None = None
) -> ApplicationPublic:
    entry = application.entry
    return ApplicationPublic(
        code=application.code,
        dataset=entry.code.replace("/", "-"),
        dataset_code=entry.code,
        dataset_title=entry.name,
        provider=entry.provider.code,
        provider_name=entry.provider.name,
        applicant=application.applicant.username,
        applicant_org=application.applicant_org,
        applicant_uscc=application.applicant_uscc,
        contact=application.contact,
        purpose=application.purpose,
        scenario=application.scenario,
        fields=list(application.fields),
        duration_days=application.duration_days,
        state=application.state,
        state_label=STATE_LABELS[application.state][0],
        filed_at=application.filed_at,
        due_on=application.due_on,
        overdue=is_overdue(application, today),
        decided_at=application.decided_at,
        decided_by=application.decided_by,
        reason=application.reason,
        valid_until=application.valid_until,
        pledge_sha256=application.pledge_sha256,
        agreement_sha256=application.agreement_sha256,
        events=[
            EventPublic(at=e.at, actor=e.actor, from_state=e.from_state, to_state=e.to_state, note=e.note)
            for e in application.events
        ],
        credentials=[
            key_public(k, application=application.code) for k in credentials_of(session, application)
        ],
    )


# --- public statistics ----------------------------------------------------------------------------


def application_stats(session: Session) -> list[DepartmentStats]:
    """Per providing department: applications, approved, refused, pending, approval rate and the
    median response in working days (filed → decided). Public: no applicant is named."""
    rows = session.execute(
        sa.select(
            Organisation.code, Organisation.name, OpenApplication.state,
            OpenApplication.filed_at, OpenApplication.decided_at,
        )
        .join(CatalogEntry, CatalogEntry.id == OpenApplication.entry_id)
        .join(Organisation, Organisation.id == CatalogEntry.provider_id)
    ).all()  # fmt: skip
    calendar = load_calendar()
    grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in rows:
        grouped[(row[0], row[1])].append(row)
    stats: list[DepartmentStats] = []
    for (code, name), found in sorted(grouped.items()):
        counts: dict[str, int] = defaultdict(int)
        responses: list[int] = []
        for _, _, state, filed_at, decided_at in found:
            counts[state] += 1
            if decided_at is not None:
                responses.append(calendar.working_days_between(city_date(filed_at), city_date(decided_at)))
        approved = counts[APPROVED] + counts[REVOKED]  # a revoked approval was approved
        decided = approved + counts[REFUSED]
        stats.append(
            DepartmentStats(
                provider=code, provider_name=name, applications=len(found), approved=approved,
                refused=counts[REFUSED], pending=counts[SUBMITTED], withdrawn=counts[WITHDRAWN],
                approval_rate=round(approved / decided, 4) if decided else None,
                median_response_days=float(statistics.median(responses)) if responses else None,
            )
        )  # fmt: skip
    return stats
