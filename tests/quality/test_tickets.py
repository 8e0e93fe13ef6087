"""Problem tickets: opened by an audit run, re-checked by the next, moved by people; SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.cli.main import app
from gongshu.config import Settings
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.models import User
from gongshu.orgs.roles import Principal
from gongshu.platform import open_platform
from gongshu.quality import tickets
from gongshu.quality.models import Ticket
from gongshu.security import audit
from gongshu.security.models import AuditEvent
from gongshu.store.base import city_today
from tests.helpers import ENTRY, add_user, entry_doc, seed_basics
from tests.quality.ticket_support import (
    DATE_RANGE,
    DISTRIBUTION,
    ID_CHECK,
    REQUIRED,
    audit_run,
    publish_and_mount,
    sync,
)

D = date.fromisoformat
MOUNT = "ga_people"
FRIDAY = D("2024-09-27")  # five working days later, across 国庆节 (Sunday 09-29 works): 2024-10-10


@pytest.fixture
def people(session: Session) -> dict[str, Principal]:
    people = seed_basics(session)
    people["ga_clerk"] = add_user(session, "ga_clerk", org="GA", roles=["consumer"])
    people["ga_reviewer"] = add_user(session, "ga_reviewer", org="GA", roles=["reviewer"])
    people["security"] = add_user(session, "sec_officer", org="DSJ", roles=["security"])
    add_user(session, "ga_gone", org="GA", roles=["consumer"])
    session.scalars(sa.select(User).where(User.username == "ga_gone")).one().active = False
    publish_and_mount(session, entry_doc(), MOUNT, str(ENTRY["code"]))
    return people


def ticket(session: Session, number: str) -> Ticket:
    return session.scalars(sa.select(Ticket).where(Ticket.number == number)).one()


def events(found: Ticket) -> list[tuple[str, str | None, str]]:
    return [(e.action, e.from_status, e.to_status) for e in found.events]


def test_failing_rules_open_tickets_due_in_five_working_days(
    session: Session, people: dict[str, Principal]
) -> None:
    synced = sync(session, MOUNT, {ID_CHECK: 120, REQUIRED: 0, DATE_RANGE: 3, DISTRIBUTION: 50}, today=FRIDAY)
    assert synced.opened == ["QT-202409-00001", "QT-202409-00002"]
    assert (synced.updated, synced.closed, synced.reopened) == ([], [], [])
    first = ticket(session, "QT-202409-00001")
    assert first.title == "公民身份号码：身份证号校验位错误（120 条）"
    assert (first.rule_id, first.column, first.dimension) == ("ID_CHECK", "id_number", "accuracy")
    assert (first.failed, first.checked, first.status) == (120, 1000, "open")
    assert first.organisation.code == "GA" and first.mount.name == MOUNT
    assert first.entry.code == ENTRY["code"]
    assert first.first_run_id == first.last_run_id
    assert first.due_date == D("2024-10-10")
    assert events(first) == [("opened", None, "open")] and first.events[0].failed == 120
    warning = ticket(session, "QT-202409-00002")
    assert (
        warning.rule_id == "DATE_RANGE" and warning.title == "出生日期超出合理范围（3 条）"
    )  # the label is not repeated
    # numbers run on within the month and start again the next month
    later = sync(session, MOUNT, {REQUIRED: 7}, today=D("2024-09-30"))
    assert later.opened == ["QT-202409-00003"]
    october = sync(session, MOUNT, {REQUIRED: 7, DATE_RANGE: 0}, today=D("2024-10-08"))
    assert october.opened == [] and october.closed == ["QT-202409-00002"]


def test_the_loop_open_recheck_fixed_reopened_verified(
    session: Session, people: dict[str, Principal]
) -> None:
    steward = people["ga_steward"]
    number = sync(session, MOUNT, {ID_CHECK: 120}, today=FRIDAY).opened[0]

    rechecked = sync(session, MOUNT, {ID_CHECK: 80}, today=D("2024-09-30"))
    assert (rechecked.opened, rechecked.updated, rechecked.reopened) == ([], [number], [])
    found = ticket(session, number)
    assert (found.failed, found.status) == (80, "open") and "（80 条）" in found.title
    assert found.last_run_id != found.first_run_id

    tickets.start(session, steward, number)
    tickets.mark_fixed(session, steward, number, note="已在源系统重新校验并更正身份证号")
    assert found.status == "fixed"

    still_failing = sync(session, MOUNT, {ID_CHECK: 5}, today=D("2024-10-08"))
    assert still_failing.updated == [number] and still_failing.reopened == [number]
    assert found.status == "open" and found.failed == 5
    assert found.due_date == D("2024-10-10")  # a fix that did not hold does not move the deadline

    tickets.mark_fixed(session, steward, number, note="补录遗漏的记录")
    clean = sync(session, MOUNT, {ID_CHECK: 0}, today=D("2024-10-09"))
    assert clean.closed == [number] and clean.updated == [] and clean.opened == []
    assert found.status == "closed" and found.closed_at is not None and found.failed == 0
    assert events(found) == [
        ("opened", None, "open"),
        ("rechecked", "open", "open"),
        ("started", "open", "in_progress"),
        ("fixed", "in_progress", "fixed"),
        ("rechecked", "fixed", "fixed"),
        ("reopened", "fixed", "open"),
        ("fixed", "open", "fixed"),
        ("verified", "fixed", "closed"),
    ]
    assert (
        found.events[-1].actor == "system" and found.events[-1].note and "复核通过" in found.events[-1].note
    )

    # the same problem coming back later is a new ticket
    again = sync(session, MOUNT, {ID_CHECK: 2}, today=D("2024-10-09"))
    assert len(again.opened) == 1 and again.opened[0] != number


def test_rules_the_run_did_not_check_leave_their_tickets_alone(
    session: Session, people: dict[str, Principal]
) -> None:
    number = sync(session, MOUNT, {ID_CHECK: 120}, today=FRIDAY).opened[0]
    before = ticket(session, number).last_run_id
    other = sync(session, MOUNT, {REQUIRED: 0, DISTRIBUTION: 9}, today=D("2024-09-30"))
    assert (other.opened, other.updated, other.closed) == ([], [], [])
    assert ticket(session, number).last_run_id == before and ticket(session, number).status == "open"


def test_results_of_a_run_attached_after_it_was_loaded_are_seen(
    session: Session, people: dict[str, Principal]
) -> None:
    run = audit_run(session, MOUNT, {ID_CHECK: 4})
    session.flush()
    assert tickets.sync_run(session, run, actor="system", today=FRIDAY, working_days=1).opened
    assert ticket(session, "QT-202409-00001").due_date == D("2024-09-29")  # the working Sunday


def test_deadlines_count_working_days_across_the_spring_festival(
    session: Session, people: dict[str, Principal]
) -> None:
    number = sync(session, MOUNT, {ID_CHECK: 1}, today=D("2025-01-24")).opened[0]
    # 01-26 (Sunday, 调休上班), 01-27, then 春节 01-28..02-04, then 02-05, 02-06, 02-07
    assert ticket(session, number).due_date == D("2025-02-07")
    quick = tickets.sync_run(
        session,
        audit_run(session, MOUNT, {REQUIRED: 1}),
        actor="system",
        today=D("2025-01-27"),
        working_days=1,
    )
    assert ticket(session, quick.opened[0]).due_date == D("2025-02-05")


def test_overdue_flags_and_working_days_left(session: Session, people: dict[str, Principal]) -> None:
    number = sync(session, MOUNT, {ID_CHECK: 120}, today=FRIDAY).opened[0]
    found = ticket(session, number)
    assert not tickets.overdue(found, D("2024-10-10"))  # the deadline day is still in time
    assert tickets.overdue(found, D("2024-10-11"))
    in_time = tickets.ticket_document(found, D("2024-09-30"))
    assert in_time["overdue"] is False and in_time["working_days_left"] == 3  # 10-08, 10-09, 10-10
    late = tickets.ticket_document(found, D("2024-10-14"))
    assert late["overdue"] is True and late["overdue_days"] == 4
    assert late["overdue_working_days"] == 3  # 10-11, Saturday 10-12 (调休上班), 10-14
    assert late["status_label"] == "待处理" and late["status_label_en"] == "Open"
    assert late["organisation"] == "GA" and "events" not in late
    assert [e["action"] for e in tickets.ticket_document(found, events=True)["events"]] == ["opened"]

    operator = people["operator"]
    assert tickets.list_tickets(session, operator, overdue=True, today=D("2024-10-14")).total == 1
    assert tickets.list_tickets(session, operator, overdue=True, today=D("2024-10-10")).total == 0
    assert tickets.list_tickets(session, operator, overdue=False, today=D("2024-10-10")).total == 1
    counts = tickets.ticket_counts(session, today=D("2024-10-14"))
    assert (counts["open"], counts["overdue"]) == (1, 1)
    tickets.close(session, operator, number, reason="历史数据，源系统已停用，不予整改")
    assert not tickets.overdue(found, D("2024-10-14"))  # closed tickets are never overdue
    assert tickets.ticket_document(found, D("2024-10-14"))["working_days_left"] is None
    now = tickets.ticket_counts(session, organisation_id=found.organisation_id, today=city_today())
    assert now["open"] == 0 and now["closed_month"] == 1 and now["opened_month"] == 1
    assert now["closed_month_on_time"] == 0  # closed after its deadline
    assert now["by_status"] == {"open": 0, "in_progress": 0, "fixed": 0, "closed": 1}


def test_who_sees_tickets(session: Session, people: dict[str, Principal]) -> None:
    number = sync(session, MOUNT, {ID_CHECK: 120, REQUIRED: 3}, today=FRIDAY).opened[0]
    for who in ("operator", "security", "ga_steward", "ga_clerk", "ga_reviewer"):
        assert tickets.get_ticket(session, people[who], number).number == number
        assert tickets.list_tickets(session, people[who]).total == 2, who
    for who in ("mz_steward", "consumer", "citizen"):
        with pytest.raises(NotFound):
            tickets.get_ticket(session, people[who], number)
        assert tickets.list_tickets(session, people[who]).total == 0, who
        assert tickets.list_tickets(session, people[who], organisation="GA").total == 0, who
    operator = people["operator"]
    assert tickets.list_tickets(session, operator, organisation="MZ").total == 0
    assert tickets.list_tickets(session, operator, mount=MOUNT, status="open").total == 2
    assert (
        tickets.list_tickets(session, operator, status="unresolved", per_page=1).tickets[0].number == number
    )
    with pytest.raises(ValidationFailed):
        tickets.list_tickets(session, operator, status="done")
    assert tickets.organisation_summary(session, people["mz_steward"], "GA") is None
    summary = tickets.organisation_summary(session, people["ga_clerk"], "GA", today=D("2024-10-14"))
    assert summary is not None and summary["counts"]["overdue"] == 2
    assert [t["number"] for t in summary["tickets"]] == [number, "QT-202409-00002"]


def test_who_may_do_what(session: Session, people: dict[str, Principal]) -> None:
    number = sync(session, MOUNT, {ID_CHECK: 120}, today=FRIDAY).opened[0]
    steward, clerk, operator = people["ga_steward"], people["ga_clerk"], people["operator"]
    found = ticket(session, number)
    assert tickets.allowed_actions(clerk, found) == ["comment"]
    assert tickets.allowed_actions(steward, found) == ["assign", "start", "fix", "comment"]
    assert tickets.allowed_actions(operator, found) == ["assign", "start", "fix", "close", "comment"]
    assert tickets.allowed_actions(people["mz_steward"], found) == []

    with pytest.raises(NotFound):  # another department's steward does not even see it
        tickets.assign(session, people["mz_steward"], number, "mz_steward")
    with pytest.raises(PermissionDenied):
        tickets.assign(session, clerk, number, "ga_clerk")
    for wrong in ("mz_steward", "ga_gone", "nobody", ""):
        with pytest.raises(ValidationFailed) as caught:
            tickets.assign(session, steward, number, wrong)
        assert "username" in caught.value.problems
    with pytest.raises(PermissionDenied):
        tickets.start(session, clerk, number)  # not (yet) the assignee

    tickets.assign(session, steward, number, "ga_clerk", note="请核对后在源系统更正")
    assert found.assignee == "ga_clerk"
    assert tickets.allowed_actions(clerk, found) == ["start", "fix", "comment"]
    with pytest.raises(PermissionDenied):
        tickets.start(session, people["ga_reviewer"], number)
    tickets.start(session, clerk, number)
    with pytest.raises(Conflict):
        tickets.start(session, clerk, number)  # already in progress
    with pytest.raises(ValidationFailed) as caught:
        tickets.mark_fixed(session, clerk, number, note="  ")
    assert "note" in caught.value.problems
    tickets.comment(session, people["security"], number, note="涉及核心数据，请尽快整改")

    with pytest.raises(PermissionDenied):
        tickets.close(session, steward, number, reason="不需要")
    with pytest.raises(ValidationFailed):
        tickets.close(session, operator, number, reason="")
    with pytest.raises(PermissionDenied):
        tickets.reopen(session, steward, number, reason="x")
    tickets.close(session, operator, number, reason="部门说明为历史存量数据，经研究不予整改")
    assert found.status == "closed" and found.closed_at is not None
    for action in (
        lambda: tickets.start(session, clerk, number),
        lambda: tickets.assign(session, steward, number, "ga_clerk"),
    ):
        with pytest.raises(Conflict):
            action()
    tickets.comment(session, clerk, number, note="已知悉")  # comments are allowed on closed tickets

    tickets.reopen(session, operator, number, reason="复查发现仍有新增错误", today=D("2024-10-14"))
    assert found.status == "open" and found.closed_at is None
    assert found.due_date == D("2024-10-21")  # a new deadline: 10-15..18 and 10-21
    assert [e.action for e in found.events] == [
        "opened", "assigned", "started", "commented", "closed", "commented", "reopened",
    ]  # fmt: skip
    assigned = found.events[1]
    assert assigned.actor == steward.name and assigned.note == "ga_clerk：请核对后在源系统更正"
    with pytest.raises(ValidationFailed):
        tickets.act(session, operator, number, "archive")


def test_reopening_a_closed_ticket_whose_problem_has_a_newer_one_conflicts(
    session: Session, people: dict[str, Principal]
) -> None:
    operator = people["operator"]
    first = sync(session, MOUNT, {ID_CHECK: 1}, today=FRIDAY).opened[0]
    sync(session, MOUNT, {ID_CHECK: 0}, today=D("2024-09-30"))
    second = sync(session, MOUNT, {ID_CHECK: 2}, today=D("2024-10-08")).opened[0]
    with pytest.raises(Conflict) as caught:
        tickets.reopen(session, operator, first, reason="x")
    assert second in caught.value.message


def test_every_change_is_audited_without_notes_or_personal_data(
    session: Session, people: dict[str, Principal]
) -> None:
    number = sync(session, MOUNT, {ID_CHECK: 120, DATE_RANGE: 3}, today=FRIDAY).opened[0]
    tickets.assign(session, people["ga_steward"], number, "ga_clerk")
    tickets.mark_fixed(session, people["ga_clerk"], number, note="更正了张三的身份证号")
    sync(session, MOUNT, {ID_CHECK: 0, DATE_RANGE: 1}, today=D("2024-09-30"))
    found = list(
        session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action.like("ticket.%")).order_by(AuditEvent.seq)
        )
    )
    assert [(e.action, e.actor) for e in found] == [
        ("ticket.sync", "system"),
        ("ticket.assign", "user:ga_steward"),
        ("ticket.fix", "user:ga_clerk"),
        ("ticket.sync", "system"),
    ]
    assert found[0].object_type == "audit_run"
    assert found[0].detail == {"mount": MOUNT, "opened": 2, "updated": 0, "closed": 0, "reopened": 0}
    assert found[3].detail == {"mount": MOUNT, "opened": 0, "updated": 1, "closed": 1, "reopened": 0}
    assert found[1].object_id == number and found[1].detail == {
        "from": "open",
        "to": "open",
        "assignee": "ga_clerk",
    }
    assert found[2].detail == {"from": "open", "to": "fixed"}
    assert all("张三" not in str(e.detail) for e in found)
    session.flush()
    assert audit.verify(session).ok


def test_the_ticket_commands(tmp_path: Path) -> None:
    platform = open_platform(Settings(data_dir=tmp_path), migrate=True)
    with platform.store.session() as session:
        seed_basics(session)
        publish_and_mount(session, entry_doc(), MOUNT, str(ENTRY["code"]))
        late = sync(session, MOUNT, {ID_CHECK: 120}, today=FRIDAY).opened[0]
        fresh = sync(session, MOUNT, {REQUIRED: 3}, today=city_today()).opened[0]
    platform.close()
    runner = CliRunner()

    def invoke(*args: str, refused: type[Exception] | None = None) -> str:
        result = runner.invoke(app, [*args, "--data-dir", str(tmp_path)])
        if refused is not None:  # ``gongshu`` (cli.main.run) prints it and exits with its code
            assert isinstance(result.exception, refused), result.output
        else:
            assert result.exit_code == 0, result.output
        return result.output

    listed = json.loads(invoke("ticket", "list", "--json"))
    assert [t["number"] for t in listed["tickets"]] == [late, fresh] and listed["total"] == 2
    overdue = json.loads(invoke("ticket", "list", "--overdue", "--org", "GA", "--json"))
    assert [t["number"] for t in overdue["tickets"]] == [late]
    table = invoke("ticket", "list")
    assert "问题工单 tickets 2/2" in table  # a table of 80 columns wraps the rest
    invoke("ticket", "assign", late, "ga_steward")
    invoke("ticket", "start", late, "--note", "已联系厂商")
    invoke("ticket", "fix", late, refused=ValidationFailed)  # a note is required
    assert "整改中" in invoke("ticket", "show", late)
    assert "已整改待复核" in invoke("ticket", "fix", late, "--note", "已更正")
    invoke("ticket", "comment", late, "--note", "运营方已知悉")
    invoke("ticket", "close", late, "--note", "不予整改：历史数据")
    invoke("ticket", "start", late, refused=Conflict)  # closed
    shown = json.loads(invoke("ticket", "show", late, "--json"))
    assert shown["status"] == "closed" and shown["assignee"] == "ga_steward"
    assert [e["action"] for e in shown["events"]] == [
        "opened",
        "assigned",
        "started",
        "fixed",
        "commented",
        "closed",
    ]
    assert all(e["actor"].startswith("cli:") for e in shown["events"][1:])
    invoke("ticket", "show", "QT-209901-00001", refused=NotFound)
