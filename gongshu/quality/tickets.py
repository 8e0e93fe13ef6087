"""Problem tickets (问题工单): a quality problem goes back to the owning department until it is fixed.

Closing the loop (闭环): every audit run calls :func:`sync_run` in its own transaction. A rule of
severity error or warning that fails on a mount's column opens a ticket to the department that
owns the data, due in :data:`TICKET_WORKING_DAYS` working days (工作日, see
:mod:`gongshu.quality.calendar`); later runs re-check it — the count is updated, a ticket the
department marked fixed goes back to 待处理 if the problem is still there, and a clean re-check
closes it (复核通过). People move tickets between runs: assign (指派), start (开始整改), mark fixed
(已整改), comment; operators close (不予整改 / accepted) or reopen them.

Statuses: ``open`` 待处理 → ``in_progress`` 整改中 → ``fixed`` 已整改待复核 → ``closed`` 已关闭
(the full table of transitions is in ``docs/tickets.md``). At most one ticket per mount × rule ×
column is not closed. Operators and security officers see every ticket; the users of a department
see its tickets; nobody else sees any.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.collect.models import Mount
from gongshu.collect.mounts import may_manage
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.models import Organisation, User
from gongshu.orgs.roles import Principal, Role
from gongshu.quality.calendar import load_calendar, month_bounds
from gongshu.quality.models import AuditResult, AuditRun, Ticket, TicketEvent
from gongshu.security import audit
from gongshu.store.base import CITY_TIMEZONE, city_today, utcnow

#: Working days a department has to fix a problem, counted from the day its ticket opens.
TICKET_WORKING_DAYS = 5
#: Result severities that open tickets (``info`` results are reported, never ticketed).
TICKET_SEVERITIES = ("error", "warning")
NUMBER_PREFIX = "QT"
MAX_PER_PAGE = 200


class TicketStatus(StrEnum):
    OPEN = "open"  # 待处理
    IN_PROGRESS = "in_progress"  # 整改中
    FIXED = "fixed"  # 已整改待复核
    CLOSED = "closed"  # 已关闭


STATUS_LABELS: dict[TicketStatus, tuple[str, str]] = {
    TicketStatus.OPEN: ("待处理", "Open"),
    TicketStatus.IN_PROGRESS: ("整改中", "In progress"),
    TicketStatus.FIXED: ("已整改待复核", "Fixed, awaiting re-check"),
    TicketStatus.CLOSED: ("已关闭", "Closed"),
}
NOT_CLOSED = frozenset({TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.FIXED})
ALL_STATUSES = frozenset(TicketStatus)


# --- who may do what ----------------------------------------------------------------------------


def may_see(actor: Principal, ticket: Ticket) -> bool:
    """Operators and security officers see every ticket; a department's users see its tickets."""
    return may_see_organisation(actor, ticket.organisation_id)


def may_see_organisation(actor: Principal, organisation_id: int) -> bool:
    """Whether ``actor`` may see the tickets of the organisation (its department page's section)."""
    return actor.has(Role.OPERATOR, Role.SECURITY) or _member(actor, organisation_id)


def _member(actor: Principal, organisation_id: int) -> bool:
    return actor.organisation_id is not None and actor.organisation_id == organisation_id


def _operator(actor: Principal, ticket: Ticket) -> bool:
    return actor.has(Role.OPERATOR)


def _manager(actor: Principal, ticket: Ticket) -> bool:
    """Operators and the owning department's stewards (数据管理员), as for its mounts."""
    return may_manage(actor, ticket.organisation_id)


def _worker(actor: Principal, ticket: Ticket) -> bool:
    """Who works on the problem: the managers and the assignee (a user of the owning department)."""
    assignee = ticket.assignee is not None and actor.username == ticket.assignee
    return _manager(actor, ticket) or (assignee and _member(actor, ticket.organisation_id))


@dataclass(frozen=True)
class TicketAction:
    """A person's action on a ticket: from which statuses, to which (``None``: unchanged), who may."""

    event: str
    sources: frozenset[TicketStatus]
    target: TicketStatus | None
    granted: Callable[[Principal, Ticket], bool]
    needs_note: bool
    who: str  # for the error message


ACTIONS: dict[str, TicketAction] = {
    "assign": TicketAction(
        "assigned", NOT_CLOSED, None, _manager, False, "operators and the department's stewards"
    ),
    "start": TicketAction(
        "started",
        frozenset({TicketStatus.OPEN}),
        TicketStatus.IN_PROGRESS,
        _worker,
        False,
        "its assignee, the department's stewards and operators",
    ),
    "fix": TicketAction(
        "fixed",
        frozenset({TicketStatus.OPEN, TicketStatus.IN_PROGRESS}),
        TicketStatus.FIXED,
        _worker,
        True,
        "its assignee, the department's stewards and operators",
    ),
    "close": TicketAction("closed", NOT_CLOSED, TicketStatus.CLOSED, _operator, True, "operators"),
    "reopen": TicketAction(
        "reopened",
        frozenset({TicketStatus.FIXED, TicketStatus.CLOSED}),
        TicketStatus.OPEN,
        _operator,
        True,
        "operators",
    ),
    "comment": TicketAction("commented", ALL_STATUSES, None, may_see, True, "whoever may see it"),
}


def allowed_actions(actor: Principal, ticket: Ticket) -> list[str]:
    """The actions ``actor`` may take on ``ticket`` now (what the ticket page offers as forms)."""
    status = TicketStatus(ticket.status)
    return [
        name
        for name, action in ACTIONS.items()
        if status in action.sources and may_see(actor, ticket) and action.granted(actor, ticket)
    ]


# --- the re-check of every audit run ------------------------------------------------------------


@dataclass
class TicketSync:
    """What one run did to tickets, as ticket numbers (a reopened ticket is also updated)."""

    opened: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(numbers) for name, numbers in vars(self).items()}


@dataclass
class _Finding:
    """The results of one mount × rule × column in a run (summed, should a rule report twice)."""

    result: AuditResult
    failed: int = 0
    checked: int = 0


def sync_run(
    session: Session,
    run: AuditRun,
    *,
    actor: str,
    today: date | None = None,
    working_days: int | None = None,
) -> TicketSync:
    """Open, re-check and close the tickets of ``run``'s mount from its results (no commit).

    For each error / warning result: failures with no ticket open one (due ``working_days`` working
    days after ``today``, the city date); failures with a ticket update its counts, and reopen it
    if the department had marked it fixed; no failures close its ticket (复核通过). Rules this run
    did not check leave their tickets alone. One audit event records the counts.

    Example::

        synced = sync_run(session, run, actor="system")   # in the audit's transaction
        synced.opened                                      # ["QT-202611-00001", ...]
    """
    today = today or city_today()
    due = load_calendar().add_working_days(
        today, TICKET_WORKING_DAYS if working_days is None else working_days
    )
    session.flush()  # the run's results, however the caller attached them
    open_tickets = _open_tickets(session, run.mount_id)
    numbers = _Numbers(session, today)
    synced = TicketSync()
    for key, finding in _findings(session, run).items():
        ticket = open_tickets.get(key)
        if finding.failed > 0 and ticket is None:
            ticket = _open(session, run, finding, number=numbers.next(), due=due, actor=actor)
            synced.opened.append(ticket.number)
        elif finding.failed > 0 and ticket is not None:
            if _recheck(ticket, run, finding, actor=actor):
                synced.reopened.append(ticket.number)
            synced.updated.append(ticket.number)
        elif ticket is not None:
            _verify(ticket, run, finding, actor=actor)
            synced.closed.append(ticket.number)
    audit.record(
        session,
        actor=actor,
        action="ticket.sync",
        object_type="audit_run",
        object_id=run.id,
        detail={"mount": run.mount.name, **synced.counts()},
    )
    return synced


def _findings(session: Session, run: AuditRun) -> dict[tuple[str, str], _Finding]:
    results = session.scalars(
        sa.select(AuditResult)
        .where(AuditResult.run_id == run.id, AuditResult.severity.in_(TICKET_SEVERITIES))
        .order_by(AuditResult.id)
    )
    findings: dict[tuple[str, str], _Finding] = {}
    for result in results:
        finding = findings.setdefault((result.rule_id, result.column), _Finding(result))
        finding.failed += result.failed
        finding.checked += result.checked
    return findings


def _open_tickets(session: Session, mount_id: int) -> dict[tuple[str, str], Ticket]:
    found = session.scalars(
        sa.select(Ticket)
        .where(Ticket.mount_id == mount_id, Ticket.status.in_([s.value for s in NOT_CLOSED]))
        .order_by(Ticket.id)
    )
    return {(t.rule_id, t.column): t for t in found}  # the newest wins should there be two


class _Numbers:
    """Ticket numbers ``QT-YYYYMM-NNNNN``: the month the ticket opened and its sequence in it.

    Should two audits of the same month commit new tickets at once, the unique index on the number
    refuses the second transaction rather than giving two tickets one number.
    """

    def __init__(self, session: Session, today: date) -> None:
        self.prefix = f"{NUMBER_PREFIX}-{today:%Y%m}-"
        last = session.scalar(
            sa.select(Ticket.number)
            .where(Ticket.number.like(f"{self.prefix}%"))
            .order_by(sa.func.length(Ticket.number).desc(), Ticket.number.desc())
            .limit(1)
        )
        self.last = int(last.removeprefix(self.prefix)) if last else 0

    def next(self) -> str:
        self.last += 1
        return f"{self.prefix}{self.last:05d}"


def ticket_title(result: AuditResult, failed: int) -> str:
    """E.g. "公民身份号码：身份证号校验位错误（120 条）" — the column's label, the problem, the count."""
    problem = result.description or result.label or result.rule_id
    subject = result.label or result.column
    if result.description and subject and not problem.startswith(subject):
        problem = f"{subject}：{problem}"
    return f"{problem}（{failed} 条）"[:200]


def _open(
    session: Session, run: AuditRun, finding: _Finding, *, number: str, due: date, actor: str
) -> Ticket:
    result = finding.result
    ticket = Ticket(
        number=number,
        organisation_id=run.organisation_id,
        mount_id=run.mount_id,
        entry_id=run.entry_id,
        rule_id=result.rule_id,
        column=result.column,
        dimension=result.dimension,
        title=ticket_title(result, finding.failed),
        description=result.description,
        status=TicketStatus.OPEN.value,
        failed=finding.failed,
        checked=finding.checked,
        first_run_id=run.id,
        last_run_id=run.id,
        due_date=due,
    )
    session.add(ticket)
    _event(ticket, actor, "opened", None, run_id=run.id, failed=finding.failed)
    session.flush()
    return ticket


def _recheck(ticket: Ticket, run: AuditRun, finding: _Finding, *, actor: str) -> bool:
    """Update the counts; back to 待处理 if it was marked fixed. True when it was reopened."""
    ticket.failed, ticket.checked, ticket.last_run_id = finding.failed, finding.checked, run.id
    ticket.title = ticket_title(finding.result, finding.failed)
    _event(ticket, actor, "rechecked", ticket.status, run_id=run.id, failed=finding.failed)
    if ticket.status != TicketStatus.FIXED.value:
        return False
    _move(ticket, actor, "reopened", TicketStatus.OPEN, run_id=run.id, note="复核未通过：问题仍然存在")
    return True


def _verify(ticket: Ticket, run: AuditRun, finding: _Finding, *, actor: str) -> None:
    ticket.failed, ticket.checked, ticket.last_run_id = 0, finding.checked, run.id
    note = "复核通过：下一批次自动复核未发现问题"
    _move(ticket, actor, "verified", TicketStatus.CLOSED, run_id=run.id, failed=0, note=note)


def _move(
    ticket: Ticket,
    actor: str,
    action: str,
    target: TicketStatus,
    *,
    run_id: str | None = None,
    failed: int | None = None,
    note: str | None = None,
) -> None:
    source = ticket.status
    ticket.status = target.value
    ticket.closed_at = utcnow() if target is TicketStatus.CLOSED else None
    _event(ticket, actor, action, source, run_id=run_id, failed=failed, note=note)


def _event(
    ticket: Ticket,
    actor: str,
    action: str,
    source: str | None,
    *,
    run_id: str | None = None,
    failed: int | None = None,
    note: str | None = None,
) -> None:
    ticket.updated_at = utcnow()
    ticket.events.append(
        TicketEvent(
            actor=actor,
            action=action,
            from_status=source,
            to_status=ticket.status,
            run_id=run_id,
            failed=failed,
            note=note,
        )
    )


# --- people's actions ---------------------------------------------------------------------------


def act(
    session: Session,
    actor: Principal,
    number: str,
    action_name: str,
    *,
    note: str | None = None,
    username: str | None = None,
    today: date | None = None,
    working_days: int | None = None,
) -> Ticket:
    """Take ``action_name`` (assign, start, fix, close, reopen, comment) on ticket ``number``.

    Refused with :class:`PermissionDenied` unless granted, :class:`Conflict` from the wrong status,
    :class:`ValidationFailed` without a required note (or, to assign, without an active user of the
    owning department). Reopening a closed ticket gives it a new deadline from ``today``.
    """
    action = ACTIONS.get(action_name)
    if action is None:
        raise ValidationFailed({"action": [f"unknown action {action_name}; use {', '.join(ACTIONS)}"]})
    ticket = get_ticket(session, actor, number)
    if not action.granted(actor, ticket):
        raise PermissionDenied(f"{action_name} of ticket {number} is granted to {action.who}")
    if TicketStatus(ticket.status) not in action.sources:
        allowed = "/".join(sorted(s.value for s in action.sources))
        raise Conflict(f"cannot {action_name} ticket {number}: it is {ticket.status}, not {allowed}")
    note = (note or "").strip() or None
    if action.needs_note and note is None:
        raise ValidationFailed({"note": [f"{action_name} 须填写说明 (a note is required)"]})
    source = ticket.status
    detail: dict[str, Any] = {"from": source}
    if action_name == "assign":
        ticket.assignee = _assignee(session, ticket, username)
        detail["assignee"] = ticket.assignee
        note = f"{ticket.assignee}：{note}" if note else ticket.assignee
    if action_name == "reopen" and source == TicketStatus.CLOSED.value:
        _reopening(session, ticket, today=today, working_days=working_days)
    if action.target is None:
        _event(ticket, actor.name, action.event, source, note=note)
    else:
        _move(ticket, actor.name, action.event, action.target, note=note)
    detail["to"] = ticket.status
    audit.record(
        session, actor=actor.name, action=f"ticket.{action_name}", object_type="ticket", object_id=number,
        detail=detail,
    )  # fmt: skip
    session.flush()
    return ticket


def assign(
    session: Session, actor: Principal, number: str, username: str, *, note: str | None = None
) -> Ticket:
    """Assign the ticket to ``username``, an active user of the owning department (指派)."""
    return act(session, actor, number, "assign", username=username, note=note)


def start(session: Session, actor: Principal, number: str, *, note: str | None = None) -> Ticket:
    """待处理 → 整改中: the department starts fixing the problem at source."""
    return act(session, actor, number, "start", note=note)


def mark_fixed(session: Session, actor: Principal, number: str, *, note: str) -> Ticket:
    """→ 已整改待复核: the department says it fixed the problem; the next run re-checks it."""
    return act(session, actor, number, "fix", note=note)


def close(session: Session, actor: Principal, number: str, *, reason: str) -> Ticket:
    """→ 已关闭 by an operator without a clean re-check (accepted as is, 不予整改), with the reason."""
    return act(session, actor, number, "close", note=reason)


def reopen(
    session: Session, actor: Principal, number: str, *, reason: str, today: date | None = None
) -> Ticket:
    """→ 待处理 by an operator (a rejected fix, or a closed ticket that was not done), with the reason."""
    return act(session, actor, number, "reopen", note=reason, today=today)


def comment(session: Session, actor: Principal, number: str, *, note: str) -> Ticket:
    """A note on the ticket's timeline; its status does not change."""
    return act(session, actor, number, "comment", note=note)


def _assignee(session: Session, ticket: Ticket, username: str | None) -> str:
    name = (username or "").strip()
    user = session.scalar(sa.select(User).where(User.username == name)) if name else None
    if user is None or not user.active or user.organisation_id != ticket.organisation_id:
        department = ticket.organisation.name
        raise ValidationFailed(
            {"username": [f"assign to an active user of {department}; {name!r} is not one"]}
        )
    return user.username


def _reopening(session: Session, ticket: Ticket, *, today: date | None, working_days: int | None) -> None:
    """A closed ticket reopens with a new deadline, unless its problem already has a newer ticket."""
    newer = session.scalar(
        sa.select(Ticket.number).where(
            Ticket.mount_id == ticket.mount_id,
            Ticket.rule_id == ticket.rule_id,
            Ticket.column == ticket.column,
            Ticket.status.in_([s.value for s in NOT_CLOSED]),
        )
    )
    if newer is not None:
        raise Conflict(f"ticket {newer} already tracks this problem; reopen is not needed", value=newer)
    days = TICKET_WORKING_DAYS if working_days is None else working_days
    ticket.due_date = load_calendar().add_working_days(today or city_today(), days)


def assignable_users(session: Session, ticket: Ticket) -> list[dict[str, str]]:
    """The active users of the owning department (whom a ticket may be assigned to)."""
    found = session.scalars(
        sa.select(User)
        .where(User.organisation_id == ticket.organisation_id, User.active.is_(True))
        .order_by(User.username)
    )
    return [{"username": u.username, "display_name": u.display_name} for u in found]


# --- reading ------------------------------------------------------------------------------------


@dataclass
class TicketPage:
    total: int
    page: int
    per_page: int
    tickets: list[Ticket]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def get_ticket(session: Session, actor: Principal, number: str) -> Ticket:
    """Ticket ``number`` if ``actor`` may see it, else :class:`NotFound`."""
    ticket = session.scalar(sa.select(Ticket).where(Ticket.number == number))
    if ticket is None or not may_see(actor, ticket):
        raise NotFound(f"no ticket {number}", value=number)
    return ticket


def list_tickets(
    session: Session,
    actor: Principal,
    *,
    organisation: str | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    mount: str | None = None,
    today: date | None = None,
    page: int = 1,
    per_page: int = 50,
) -> TicketPage:
    """The tickets ``actor`` may see, filtered; unresolved first by deadline, then closed ones.

    ``organisation`` is a code (GA), ``status`` one of open / in_progress / fixed / closed (or
    ``unresolved`` for the first three), ``overdue`` true for tickets past their deadline.
    """
    query = sa.select(Ticket).where(_visible(actor))
    query = _filtered(session, query, organisation=organisation, status=status, mount=mount)
    if overdue is not None:
        late = _overdue_clause(today or city_today())
        query = query.where(late if overdue else sa.not_(late))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    closed_last = sa.case((Ticket.status == TicketStatus.CLOSED.value, 1), else_=0)
    rows = session.scalars(
        query.order_by(closed_last, Ticket.due_date, Ticket.number)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    return TicketPage(total=total, page=max(page, 1), per_page=per_page, tickets=list(rows))


def _visible(actor: Principal) -> sa.ColumnElement[bool]:
    """The tickets ``actor`` may see, as a condition: all, their organisation's, or none."""
    if actor.has(Role.OPERATOR, Role.SECURITY):
        return sa.true()
    return Ticket.organisation_id == (actor.organisation_id or -1)  # deny by default


def _filtered(
    session: Session,
    query: sa.Select[Any],
    *,
    organisation: str | None,
    status: str | None,
    mount: str | None,
) -> sa.Select[Any]:
    if organisation:
        org_id = session.scalar(sa.select(Organisation.id).where(Organisation.code == organisation))
        query = query.where(Ticket.organisation_id == (org_id or -1))
    if status == "unresolved":
        query = query.where(Ticket.status.in_([s.value for s in NOT_CLOSED]))
    elif status:
        if status not in {s.value for s in TicketStatus}:
            valid = ", ".join([*(s.value for s in TicketStatus), "unresolved"])
            raise ValidationFailed({"status": [f"unknown status {status!r}; use {valid}"]})
        query = query.where(Ticket.status == status)
    if mount:
        query = query.where(Ticket.mount_id.in_(sa.select(Mount.id).where(Mount.name == mount)))
    return query


def _overdue_clause(today: date) -> sa.ColumnElement[bool]:
    return sa.and_(Ticket.status != TicketStatus.CLOSED.value, Ticket.due_date < today)


def overdue(ticket: Ticket, today: date | None = None) -> bool:
    """Past its deadline and not closed (the deadline day itself is still in time)."""
    return ticket.status != TicketStatus.CLOSED.value and (today or city_today()) > ticket.due_date


def status_label(status: str, lang: str = "zh-CN") -> str:
    """待处理 / Open …"""
    try:
        zh, en = STATUS_LABELS[TicketStatus(status)]
    except ValueError:
        return status
    return zh if lang == "zh-CN" else en


def ticket_document(ticket: Ticket, today: date | None = None, *, events: bool = False) -> dict[str, Any]:
    """A ticket as JSON: who owns it, the problem, its status and deadline (and its timeline)."""
    today = today or city_today()
    document: dict[str, Any] = {
        "number": ticket.number,
        "title": ticket.title,
        "description": ticket.description,
        "status": ticket.status,
        "status_label": status_label(ticket.status),
        "status_label_en": status_label(ticket.status, "en"),
        "organisation": ticket.organisation.code,
        "organisation_name": ticket.organisation.name,
        "mount": ticket.mount.name,
        "entry": ticket.entry.code,
        "entry_name": ticket.entry.name,
        "rule_id": ticket.rule_id,
        "column": ticket.column,
        "dimension": ticket.dimension,
        "assignee": ticket.assignee,
        "failed": ticket.failed,
        "checked": ticket.checked,
        "first_run_id": ticket.first_run_id,
        "last_run_id": ticket.last_run_id,
        "opened_at": ticket.opened_at,
        "due_date": ticket.due_date,
        "closed_at": ticket.closed_at,
        "updated_at": ticket.updated_at,
    } | deadline_document(ticket, today)
    if events:
        document["events"] = [event_document(e) for e in ticket.events]
    return document


def deadline_document(ticket: Ticket, today: date) -> dict[str, Any]:
    """Whether the ticket is overdue, by how many days, or how many working days are left."""
    late = overdue(ticket, today)
    calendar = load_calendar()
    left = None
    if ticket.status != TicketStatus.CLOSED.value and not late and calendar.covers(today):
        left = (
            calendar.working_days_between(today, ticket.due_date)
            if calendar.covers(ticket.due_date)
            else None
        )
    late_working = None
    if late and calendar.covers(today) and calendar.covers(ticket.due_date):
        late_working = calendar.working_days_between(ticket.due_date, today)
    return {
        "overdue": late,
        "overdue_days": (today - ticket.due_date).days if late else 0,
        "overdue_working_days": late_working if late else 0,
        "working_days_left": left,
    }


def event_document(event: TicketEvent) -> dict[str, Any]:
    return {
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "run_id": event.run_id,
        "failed": event.failed,
        "note": event.note,
    }


def ticket_counts(
    session: Session, *, organisation_id: int | None = None, today: date | None = None
) -> dict[str, Any]:
    """Counts for the monthly report and the department page (all organisations by default).

    ``open``: tickets not closed (待处理 + 整改中 + 已整改待复核); ``overdue``: of those, past
    their deadline; ``opened_month`` / ``closed_month``: opened / closed in ``today``'s city month,
    ``closed_month_on_time`` of which by their deadline; ``by_status``: every status.
    """
    today = today or city_today()
    scope = sa.true() if organisation_id is None else Ticket.organisation_id == organisation_id
    by_status = {s.value: 0 for s in TicketStatus}
    for status, count in session.execute(
        sa.select(Ticket.status, sa.func.count()).where(scope).group_by(Ticket.status)
    ):
        by_status[status] = int(count)
    late = session.scalar(sa.select(sa.func.count()).where(scope, _overdue_clause(today))) or 0
    start, end = month_bounds(f"{today:%Y-%m}")
    opened = session.scalar(
        sa.select(sa.func.count()).where(scope, Ticket.opened_at >= start, Ticket.opened_at < end)
    )
    closed = session.execute(
        sa.select(Ticket.closed_at, Ticket.due_date).where(
            scope, Ticket.closed_at >= start, Ticket.closed_at < end
        )
    ).all()
    on_time = sum(1 for at, due in closed if at is not None and at.astimezone(CITY_TIMEZONE).date() <= due)
    return {
        "month": f"{today:%Y-%m}",
        "open": sum(by_status[s.value] for s in NOT_CLOSED),
        "overdue": int(late),
        "opened_month": int(opened or 0),
        "closed_month": len(closed),
        "closed_month_on_time": on_time,
        "by_status": by_status,
    }


def open_by_organisation(session: Session, *, today: date | None = None) -> dict[int, tuple[int, int]]:
    """Per organisation id: (tickets not closed, of which overdue) — one query for every department."""
    today = today or city_today()
    not_closed = sa.func.count().filter(Ticket.status != TicketStatus.CLOSED.value)
    late = sa.func.count().filter(_overdue_clause(today))
    query = sa.select(Ticket.organisation_id, not_closed, late).group_by(Ticket.organisation_id)
    return {int(org): (int(n or 0), int(k or 0)) for org, n, k in session.execute(query)}


def visible_counts(session: Session, actor: Principal, *, today: date | None = None) -> dict[str, Any]:
    """:func:`ticket_counts` over the tickets ``actor`` may see (all, or their organisation's)."""
    if actor.has(Role.OPERATOR, Role.SECURITY):
        return ticket_counts(session, today=today)
    return ticket_counts(session, organisation_id=actor.organisation_id or -1, today=today)


def ticket_organisations(session: Session, actor: Principal) -> list[dict[str, Any]]:
    """The organisations whose tickets ``actor`` may see and that have any, with their unresolved count."""
    unresolved = sa.func.count().filter(Ticket.status.in_([s.value for s in NOT_CLOSED]))
    query = (
        sa.select(Organisation.code, Organisation.name, sa.func.count(), unresolved)
        .join(Ticket, Ticket.organisation_id == Organisation.id)
        .where(_visible(actor))
        .group_by(Organisation.code, Organisation.name)
        .order_by(Organisation.code)
    )
    return [
        {"code": code, "name": name, "tickets": int(total), "unresolved": int(open_ or 0)}
        for code, name, total, open_ in session.execute(query)
    ]


def organisation_summary(
    session: Session, actor: Principal, organisation_code: str, *, today: date | None = None, limit: int = 20
) -> dict[str, Any] | None:
    """The department page's section: counts and its unresolved tickets, overdue first.

    ``None`` when ``actor`` may not see the organisation's tickets (the page shows no section).
    """
    org = session.scalar(sa.select(Organisation).where(Organisation.code == organisation_code))
    if org is None or not may_see_organisation(actor, org.id):
        return None
    today = today or city_today()
    found = list_tickets(
        session, actor, organisation=organisation_code, status="unresolved", today=today, per_page=limit
    )
    documents = [ticket_document(t, today) for t in found.tickets]
    documents.sort(key=lambda d: (not d["overdue"], d["due_date"], d["number"]))
    return {
        "counts": ticket_counts(session, organisation_id=org.id, today=today),
        "tickets": documents,
        "total": found.total,
    }
