"""The portal's community (互动): showcases (应用展示) and data requests / feedback (数据需求 / 意见反馈).

**Who may submit.** Anyone: a signed-in user (any role, the submitter is the account) or an anonymous
visitor who gives a name (称呼). No contact details are collected: the answer to a request is public
on ``/open/requests``, where the submitter finds it. Submissions are limited (:class:`Throttle`,
:func:`check_quota`): a signed-in user files at most :data:`USER_DAILY_LIMIT` submissions a city day;
an anonymous visitor at most :data:`ADDRESS_HOURLY_LIMIT` an hour from one client address (counted in
the serving process) and all anonymous visitors together at most :data:`ANONYMOUS_DAILY_LIMIT` a
city day (counted in the database, so rotating addresses cannot flood the moderation queue); past a
limit the answer is 429 with ``Retry-After``.

**Names shown.** A submitter's name is personal data: lists show it masked (``张**``, see
:func:`mask_name`); only platform operators (moderation, abuse) see it whole. Neither names nor
texts go to logs or audit details.

**Showcases** are ``pending`` until an operator approves or rejects them (a rejection needs a
note); only approved ones are public. **Requests** are addressed to a dataset's department or to a
chosen department and due ``settings.open_reply_days`` working days after filing
(``gongshu.quality.calendar``); that department's stewards and reviewers (or an operator) reply;
the response time is counted in working days and a request unanswered past its due date, or
answered after it, is overdue.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry
from gongshu.config import Settings
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.open.datasets import dataset_name, open_dataset
from gongshu.open.models import OpenRequest, OpenShowcase
from gongshu.orgs.models import Organisation
from gongshu.orgs.roles import Principal, Role
from gongshu.quality.calendar import load_calendar
from gongshu.security import audit
from gongshu.share.access import seconds_to_next_city_day
from gongshu.share.errors import QuotaExceeded
from gongshu.store.base import CITY_TIMEZONE, city_date, city_today, utcnow

#: Submissions (showcases and requests together) a signed-in user may file a city day.
USER_DAILY_LIMIT = 10
#: Anonymous submissions one client address may file an hour (per serving process).
ADDRESS_HOURLY_LIMIT = 5
#: Anonymous submissions the whole platform accepts a city day.
ANONYMOUS_DAILY_LIMIT = 100

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
OPEN, REPLIED = "open", "replied"


class ShowcaseKind(StrEnum):
    APP = "app"
    ANALYSIS = "analysis"
    VISUALISATION = "visualisation"
    RESEARCH = "research"


class RequestKind(StrEnum):
    REQUEST = "request"  # 数据需求
    FEEDBACK = "feedback"  # 意见反馈
    CORRECTION = "correction"  # 纠错


KIND_LABELS: dict[str, tuple[str, str]] = {
    ShowcaseKind.APP: ("应用", "App"),
    ShowcaseKind.ANALYSIS: ("分析", "Analysis"),
    ShowcaseKind.VISUALISATION: ("可视化", "Visualisation"),
    ShowcaseKind.RESEARCH: ("研究", "Research"),
    RequestKind.REQUEST: ("数据需求", "Data request"),
    RequestKind.FEEDBACK: ("意见反馈", "Feedback"),
    RequestKind.CORRECTION: ("纠错", "Correction"),
}


def check_url(value: str) -> str:
    """An absolute ``http``/``https`` URL with a host and no credentials; anything else is refused.

    Example::

        check_url("https://example.org/app")  # "https://example.org/app"
        check_url("javascript:alert(1)")       # ValueError
    """
    text = value.strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise ValueError("网址不能含空白字符 the URL may not contain spaces or control characters")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("网址须以 http:// 或 https:// 开头 the URL must be an http(s) address with a host")
    if parts.username or parts.password:
        raise ValueError("网址不能含用户名或密码 the URL may not carry a user name or password")
    return text


class ShowcaseCreate(BaseModel):
    """A showcase as submitted (应用展示). ``name`` is required from anonymous visitors only."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=2, max_length=200, description="名称")
    kind: ShowcaseKind = Field(description="类型: app | analysis | visualisation | research")
    description: str = Field(min_length=10, max_length=5000, description="简介")
    url: str | None = Field(default=None, max_length=500, description="http(s) 网址")
    datasets: list[str] = Field(default_factory=list, max_length=20, description="所用开放数据集 (名称)")
    name: str | None = Field(default=None, max_length=100, description="称呼 (匿名提交时必填)")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return check_url(value) if value else None


class RequestCreate(BaseModel):
    """A data request or feedback as submitted; addressed to ``dataset``'s department or ``department``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: RequestKind = Field(description="request 数据需求 | feedback 意见反馈 | correction 纠错")
    title: str = Field(min_length=2, max_length=200, description="标题")
    body: str = Field(min_length=5, max_length=5000, description="内容")
    dataset: str | None = Field(default=None, max_length=40, description="开放数据集名称")
    department: str | None = Field(default=None, max_length=32, description="部门代码 (无数据集时)")
    name: str | None = Field(default=None, max_length=100, description="称呼 (匿名提交时必填)")
    public: bool = Field(default=True, description="公开 (否: 仅部门与平台可见)")


# --- submitters and limits ------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """A submitter's name as lists show it: its first character and ``**`` (``张三`` → ``张**``)."""
    name = name.strip()
    return f"{name[0]}**" if name else "**"


class Throttle:
    """Anonymous submissions per client address in a sliding hour (one per serving process)."""

    def __init__(self, limit: int = ADDRESS_HOURLY_LIMIT, window_s: float = 3600.0) -> None:
        self.limit, self.window_s = limit, window_s
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, client: str | None, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        with self._lock:
            seen = self._seen.setdefault(client or "unknown", deque())
            while seen and seen[0] <= moment - self.window_s:
                seen.popleft()
            if len(seen) >= self.limit:
                wait = max(1, int(seen[0] + self.window_s - moment) + 1)
                raise QuotaExceeded(
                    "rate_limited",
                    f"提交过于频繁 too many submissions: {self.limit} an hour without signing in",
                    retry_after=wait,
                )
            seen.append(moment)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, clock(0), CITY_TIMEZONE).astimezone(UTC)


def _submitted_since(session: Session, since: datetime, **where: Any) -> int:
    total = 0
    for model in (OpenShowcase, OpenRequest):
        query = sa.select(sa.func.count()).select_from(model).where(model.submitted_at >= since)
        for column, value in where.items():
            attribute = getattr(model, column)
            query = query.where(attribute.is_(None) if value is None else attribute == value)
        total += session.scalar(query) or 0
    return total


def check_quota(
    session: Session,
    submitter: Principal | None,
    *,
    client: str | None = None,
    throttle: Throttle | None = None,
) -> None:
    """Refuse (429) a submission past the limits of the module docstring."""
    since = _day_start(city_today())
    if submitter is not None and submitter.user_id is not None:
        if _submitted_since(session, since, submitter_id=submitter.user_id) >= USER_DAILY_LIMIT:
            raise QuotaExceeded(
                "quota_exceeded",
                f"今日提交已达上限 daily limit of {USER_DAILY_LIMIT} submissions reached",
                retry_after=seconds_to_next_city_day(time.time()),
            )
        return
    if _submitted_since(session, since, submitter_id=None) >= ANONYMOUS_DAILY_LIMIT:
        raise QuotaExceeded(
            "quota_exceeded",
            "今日匿名提交已满，请登录后提交 anonymous submissions are full today: please sign in",
            retry_after=seconds_to_next_city_day(time.time()),
        )
    if throttle is not None:
        throttle.admit(client)


def _submitter(session: Session, submitter: Principal | None, name: str | None) -> tuple[int | None, str]:
    """The submitter's user id and name: a signed-in user's display name unless they give another."""
    if submitter is not None and submitter.user_id is not None:
        if name:
            return submitter.user_id, name
        from gongshu.orgs.models import User

        user = session.get(User, submitter.user_id)
        return submitter.user_id, (user.display_name if user is not None else submitter.name)
    if not name:
        raise ValidationFailed({"name": ["请填写称呼，或登录后提交 give a name, or sign in"]})
    return None, name


def _actor(submitter: Principal | None) -> str:
    return submitter.name if submitter is not None and submitter.user_id is not None else "anonymous"


# --- showcases ------------------------------------------------------------------------------------


class DatasetRef(BaseModel):
    name: str
    code: str
    title: str


class ShowcasePublic(BaseModel):
    """A showcase as pages and the API show it (``submitter`` masked unless the viewer is an operator)."""

    id: int
    title: str
    kind: str
    description: str
    url: str | None
    datasets: list[DatasetRef]
    submitter: str
    state: str
    submitted_at: datetime
    moderated_at: datetime | None
    moderation_note: str | None


def _dataset_codes(session: Session, names: Sequence[str]) -> list[str]:
    codes: list[str] = []
    problems: list[str] = []
    for name in names:
        if not name.strip():
            continue
        try:
            code = open_dataset(session, name.strip()).code
        except NotFound:
            problems.append(f"{name} 不是开放数据集 is not an open dataset")
            continue
        if code not in codes:
            codes.append(code)
    if problems:
        raise ValidationFailed({"datasets": problems})
    return codes


def submit_showcase(
    session: Session,
    submitter: Principal | None,
    spec: ShowcaseCreate,
    *,
    client: str | None = None,
    throttle: Throttle | None = None,
) -> OpenShowcase:
    """File a showcase for moderation (``pending``)."""
    problems: dict[str, list[str]] = {}
    try:
        codes = _dataset_codes(session, spec.datasets)
    except ValidationFailed as error:
        problems |= error.problems
    try:
        user_id, name = _submitter(session, submitter, spec.name)
    except ValidationFailed as error:
        problems |= error.problems
    if problems:
        raise ValidationFailed(problems)
    check_quota(session, submitter, client=client, throttle=throttle)
    showcase = OpenShowcase(
        title=spec.title,
        kind=spec.kind.value,
        description=spec.description,
        url=spec.url,
        datasets=codes,
        submitter_id=user_id,
        submitter_name=name,
        state=PENDING,
    )
    session.add(showcase)
    session.flush()
    audit.record(
        session,
        actor=_actor(submitter),
        action="open.showcase.submit",
        object_type="open_showcase",
        object_id=showcase.id,
        detail={"kind": showcase.kind, "datasets": codes},
    )
    return showcase


def moderate_showcase(
    session: Session, actor: Principal, showcase_id: int, action: str, note: str | None = None
) -> OpenShowcase:
    """``approve`` or ``reject`` (a note required) a pending showcase; operators only."""
    actor.require(Role.OPERATOR, action="moderating showcases 应用审核")
    showcase = session.get(OpenShowcase, showcase_id)
    if showcase is None:
        raise NotFound(f"no showcase {showcase_id}", value=showcase_id)
    if action not in ("approve", "reject"):
        raise ValidationFailed({"action": [f"approve or reject, not {action!r}"]})
    note = (note or "").strip() or None
    if action == "reject" and note is None:
        raise ValidationFailed({"note": ["驳回须填写说明 a rejection needs a note"]})
    if showcase.state != PENDING:
        raise Conflict(f"showcase {showcase_id} is already {showcase.state}", value=showcase.state)
    showcase.state = APPROVED if action == "approve" else REJECTED
    showcase.moderated_at = utcnow()
    showcase.moderated_by = actor.name
    showcase.moderation_note = note
    audit.record(
        session,
        actor=actor.name,
        action=f"open.showcase.{action}",
        object_type="open_showcase",
        object_id=showcase.id,
        detail={"state": showcase.state},
    )
    return showcase


def list_showcases(
    session: Session, viewer: Principal | None, *, state: str | None = APPROVED, limit: int = 200
) -> list[OpenShowcase]:
    """Showcases in ``state`` (newest first). Only operators may list other states than approved."""
    if state != APPROVED and (viewer is None or not viewer.has(Role.OPERATOR)):
        raise PermissionDenied(
            "only platform operators see unmoderated showcases", hint="sign in as an operator"
        )
    query = sa.select(OpenShowcase).order_by(OpenShowcase.id.desc()).limit(limit)
    if state is not None:
        query = query.where(OpenShowcase.state == state)
    return list(session.scalars(query))


def _dataset_refs(session: Session, codes: Iterable[str]) -> list[DatasetRef]:
    wanted = list(codes)
    if not wanted:
        return []
    query = sa.select(CatalogEntry.code, CatalogEntry.name).where(CatalogEntry.code.in_(wanted))
    titles = {code: name for code, name in session.execute(query)}
    return [DatasetRef(name=dataset_name(c), code=c, title=titles.get(c, c)) for c in wanted]


def showcase_public(
    session: Session, showcase: OpenShowcase, viewer: Principal | None = None
) -> ShowcasePublic:
    operator = viewer is not None and viewer.has(Role.OPERATOR)
    return ShowcasePublic(
        id=showcase.id,
        title=showcase.title,
        kind=showcase.kind,
        description=showcase.description,
        url=showcase.url,
        datasets=_dataset_refs(session, showcase.datasets),
        submitter=showcase.submitter_name if operator else mask_name(showcase.submitter_name),
        state=showcase.state,
        submitted_at=showcase.submitted_at,
        moderated_at=showcase.moderated_at,
        moderation_note=showcase.moderation_note if operator else None,
    )


# --- requests and feedback ------------------------------------------------------------------------


class DepartmentRef(BaseModel):
    code: str
    name: str
    name_en: str


class RequestPublic(BaseModel):
    """A request as the public list shows it: no contact, the name masked (whole for operators)."""

    id: int
    kind: str
    title: str
    body: str
    dataset: DatasetRef | None
    department: DepartmentRef | None
    submitter: str
    state: str
    public: bool
    submitted_at: datetime
    due_on: date
    replied_at: datetime | None
    reply: str | None
    response_days: int | None = Field(description="working days from filing to the reply")
    overdue: bool = Field(description="unanswered past its due date, or answered after it")


def _department(session: Session, code: str) -> Organisation:
    org = session.scalar(
        sa.select(Organisation).where(Organisation.code == code.upper(), Organisation.active)
    )
    if org is None or org.kind == "center":
        raise ValidationFailed({"department": [f"没有部门 {code} no such department"]})
    return org


def _address(session: Session, spec: RequestCreate) -> tuple[int | None, int]:
    """The entry id (if a dataset is named) and the department the request goes to."""
    problems: dict[str, list[str]] = {}
    entry_id = org_id = None
    if spec.dataset:
        try:
            found = open_dataset(session, spec.dataset)
            entry_id, org_id = found.id, found.provider_id
        except NotFound:
            problems["dataset"] = [f"{spec.dataset} 不是开放数据集 is not an open dataset"]
    elif spec.kind == RequestKind.CORRECTION:
        problems["dataset"] = ["纠错须指明数据集 a correction names its dataset"]
    if spec.department:
        try:
            chosen = _department(session, spec.department).id
            if org_id is not None and chosen != org_id:
                problems["department"] = ["所选部门不是该数据集的提供部门 not the dataset's department"]
            org_id = chosen if org_id is None else org_id
        except ValidationFailed as error:
            problems |= error.problems
    elif not spec.dataset:
        problems["department"] = ["请选择数据集或部门 choose a dataset or a department"]
    if problems:
        raise ValidationFailed(problems)
    assert org_id is not None
    return entry_id, org_id


def submit_request(
    session: Session,
    submitter: Principal | None,
    spec: RequestCreate,
    *,
    settings: Settings,
    client: str | None = None,
    throttle: Throttle | None = None,
    today: date | None = None,
) -> OpenRequest:
    """File a request or feedback, due ``settings.open_reply_days`` working days after ``today``."""
    problems: dict[str, list[str]] = {}
    entry_id = org_id = None
    try:
        entry_id, org_id = _address(session, spec)
    except ValidationFailed as error:
        problems |= error.problems
    try:
        user_id, name = _submitter(session, submitter, spec.name)
    except ValidationFailed as error:
        problems |= error.problems
    if problems:
        raise ValidationFailed(problems)
    check_quota(session, submitter, client=client, throttle=throttle)
    filed = today or city_today()
    request = OpenRequest(
        kind=spec.kind.value,
        entry_id=entry_id,
        organisation_id=org_id,
        title=spec.title,
        body=spec.body,
        submitter_id=user_id,
        submitter_name=name,
        state=OPEN,
        due_on=load_calendar().add_working_days(filed, settings.open_reply_days),
        public=spec.public,
    )
    if today is not None:  # a filing dated in the past (tests, imports): noon of that city day
        request.submitted_at = datetime.combine(today, clock(12), CITY_TIMEZONE).astimezone(UTC)
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor=_actor(submitter),
        action="open.request.submit",
        object_type="open_request",
        object_id=request.id,
        detail={"kind": request.kind, "organisation_id": org_id, "entry_id": entry_id},
    )
    return request


def may_reply(actor: Principal, request: OpenRequest) -> bool:
    """The addressed department's stewards and reviewers, and operators."""
    if actor.has(Role.OPERATOR):
        return True
    return actor.has(Role.STEWARD, Role.REVIEWER) and actor.organisation_id == request.organisation_id


def may_see_request(viewer: Principal | None, request: OpenRequest) -> bool:
    if request.public:
        return True
    if viewer is None:
        return False
    return viewer.has(Role.OPERATOR) or viewer.organisation_id == request.organisation_id


def get_request(session: Session, viewer: Principal | None, request_id: int) -> OpenRequest:
    request = session.get(OpenRequest, request_id)
    if request is None or not may_see_request(viewer, request):
        raise NotFound(f"no request {request_id}", value=request_id)
    return request


def reply_request(
    session: Session, actor: Principal, request_id: int, text: str, *, at: datetime | None = None
) -> OpenRequest:
    """The department's reply (答复) to an open request; ``at`` dates it (default now)."""
    request = get_request(session, actor, request_id)
    if not may_reply(actor, request):
        raise PermissionDenied(
            "only the addressed department's stewards and reviewers reply", hint="ask that department"
        )
    text = text.strip()
    if len(text) < 2:
        raise ValidationFailed({"reply": ["请填写答复 write the reply"]})
    if len(text) > 5000:
        raise ValidationFailed({"reply": ["答复不超过 5000 字 at most 5000 characters"]})
    if request.state != OPEN:
        raise Conflict(f"request {request_id} is already {request.state}", value=request.state)
    request.state = REPLIED
    request.reply = text
    request.replied_at = at or utcnow()
    request.replied_by = actor.name
    days = response_days(request)
    audit.record(
        session,
        actor=actor.name,
        action="open.request.reply",
        object_type="open_request",
        object_id=request.id,
        detail={"organisation_id": request.organisation_id, "response_days": days},
    )
    return request


def list_requests(
    session: Session,
    viewer: Principal | None,
    *,
    organisation_id: int | None = None,
    state: str | None = None,
    limit: int = 200,
) -> list[OpenRequest]:
    """Requests newest first: public ones and the viewer's department's (every one for operators)."""
    query = sa.select(OpenRequest).order_by(OpenRequest.id.desc()).limit(limit)
    if viewer is None:
        query = query.where(OpenRequest.public)
    elif not viewer.has(Role.OPERATOR):
        query = query.where(sa.or_(OpenRequest.public, OpenRequest.organisation_id == viewer.organisation_id))
    if organisation_id is not None:
        query = query.where(OpenRequest.organisation_id == organisation_id)
    if state is not None:
        query = query.where(OpenRequest.state == state)
    return list(session.scalars(query).unique())


def response_days(request: OpenRequest) -> int | None:
    """Working days from filing to the reply (None while unanswered)."""
    if request.replied_at is None:
        return None
    return load_calendar().working_days_between(
        city_date(request.submitted_at), city_date(request.replied_at)
    )


def is_overdue(request: OpenRequest, today: date | None = None) -> bool:
    """Unanswered after its due date, or answered after it."""
    day = city_date(request.replied_at) if request.replied_at is not None else (today or city_today())
    return day > request.due_on


def request_public(
    request: OpenRequest, viewer: Principal | None = None, *, today: date | None = None
) -> RequestPublic:
    operator = viewer is not None and viewer.has(Role.OPERATOR)
    entry, org = request.entry, request.organisation
    return RequestPublic(
        id=request.id,
        kind=request.kind,
        title=request.title,
        body=request.body,
        dataset=DatasetRef(name=dataset_name(entry.code), code=entry.code, title=entry.name)
        if entry
        else None,
        department=DepartmentRef(code=org.code, name=org.name, name_en=org.name_en) if org else None,
        submitter=request.submitter_name if operator else mask_name(request.submitter_name),
        state=request.state,
        public=request.public,
        submitted_at=request.submitted_at,
        due_on=request.due_on,
        replied_at=request.replied_at,
        reply=request.reply,
        response_days=response_days(request),
        overdue=is_overdue(request, today),
    )


@dataclass(frozen=True)
class ResponseStats:
    """One department's answering record: counts and response days of the answered requests."""

    code: str
    name: str
    name_en: str
    received: int
    replied: int
    open: int
    overdue: int
    average_days: float | None
    median_days: float | None


def response_stats(session: Session, *, today: date | None = None) -> list[ResponseStats]:
    """Per department (by code): received, replied, open, overdue, average and median response days."""
    day = today or city_today()
    grouped: dict[int, list[OpenRequest]] = {}
    for request in session.scalars(
        sa.select(OpenRequest).where(OpenRequest.organisation_id.is_not(None))
    ).unique():
        grouped.setdefault(request.organisation_id or 0, []).append(request)
    rows: list[ResponseStats] = []
    for found in grouped.values():
        org = found[0].organisation
        assert org is not None
        days = [d for d in (response_days(r) for r in found) if d is not None]
        rows.append(
            ResponseStats(
                code=org.code,
                name=org.name,
                name_en=org.name_en,
                received=len(found),
                replied=len(days),
                open=sum(r.state == OPEN for r in found),
                overdue=sum(is_overdue(r, day) for r in found),
                average_days=round(statistics.fmean(days), 1) if days else None,
                median_days=float(statistics.median(days)) if days else None,
            )
        )
    return sorted(rows, key=lambda row: row.code)


def department_id(session: Session, code: str) -> int:
    """The id of the organisation with ``code`` (any case); :class:`NotFound` otherwise."""
    org_id = session.scalar(sa.select(Organisation.id).where(Organisation.code == code.upper()))
    if org_id is None:
        raise NotFound(f"no department {code!r}", value=code)
    return org_id


def departments(session: Session) -> list[DepartmentRef]:
    """Departments a request may be addressed to (active, not the 大数据中心 itself)."""
    query = sa.select(Organisation).where(Organisation.active, Organisation.kind != "center")
    return [
        DepartmentRef(code=o.code, name=o.name, name_en=o.name_en)
        for o in session.scalars(query.order_by(Organisation.code))
    ]
