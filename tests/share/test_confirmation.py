"""Monthly confirmation letters (确认函) and freezing (冻结), on a private copy of the demo city.

Grants are made the real way (:func:`grant_for`) and then moved in time by editing their validity in
the store, so a grant can be in force in a past month; freezing is driven by a simulated ``today``.
Each test uses its own consuming departments, as the module shares one platform.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from gongshu.cli.share_confirm_cmd import confirm_app
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.roles import SYSTEM, Principal, Role
from gongshu.platform import Platform
from gongshu.quality.calendar import current_month, shift_month
from gongshu.quality.pdf import PdfUnavailable, find_chromium
from gongshu.security.models import AuditEvent
from gongshu.share import confirmation, grants
from gongshu.share.calllog import CallRecord
from gongshu.share.confirmation import CONTENT_FIELDS, LetterContent
from gongshu.share.exchange import call_log
from gongshu.share.models import Confirmation, Grant
from gongshu.store.base import CITY_TIMEZONE, city_today
from tests.share.conftest import ENTERPRISES, ensure_user, grant_for

#: The month before this one: its letters exist now and are due at the end of this month.
LAST = shift_month(current_month(), -1)
#: Two months back: its letters are past their due date today.
EARLIER = shift_month(current_month(), -2)


def first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def at(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), CITY_TIMEZONE)


def company_grant(platform: Platform, consumer: str, scenario: str = "企业信息核验") -> str:
    """A grant of 市场主体登记信息 (无条件共享: granted at once) by API."""
    return grant_for(
        platform, consumer=consumer, entry=ENTERPRISES, fields=["uscc", "ent_name"], row_scope="all",
        method="接口", scenario=scenario,
    )  # fmt: skip


def place(platform: Platform, code: str, valid_from: date, expires: date) -> None:
    """Move a grant in time: valid from the start of ``valid_from`` to the start of ``expires``."""
    with platform.store.session() as session:
        grant = session.scalars(sa.select(Grant).where(Grant.code == code)).one()
        grant.valid_from, grant.expires_at = at(valid_from), at(expires)


def grant_row(platform: Platform, code: str) -> Grant:
    with platform.store.session() as session:
        grant = session.scalars(sa.select(Grant).where(Grant.code == code)).one()
        session.expunge(grant)
        return grant


def letter_of(
    platform: Platform, actor: Principal, consumer: str, month: str, *, today: date | None = None
) -> LetterContent:
    with platform.store.session() as session:
        return confirmation.letter(session, actor, consumer, month, log=call_log(platform), today=today)


def prepare(platform: Platform, month: str, today: date | None = None) -> list[str]:
    with platform.store.session() as session:
        created = confirmation.prepare_letters(session, month, today=today or city_today())
        return [c.consumer.code for c in created]


def events(platform: Platform, action: str, object_id: str) -> list[AuditEvent]:
    with platform.store.session() as session:
        found = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.object_id == object_id)
            .order_by(AuditEvent.seq)
        ).all()
        session.expunge_all()
        return list(found)


def consumer_user(platform: Platform, consumer: str) -> Principal:
    return ensure_user(platform, f"{consumer.lower()}_consumer_t", consumer, [Role.CONSUMER])


def test_a_months_letter_lists_the_demands_whose_grant_was_in_force_in_it(share_platform: Platform) -> None:
    start = first_day(LAST)
    held = company_grant(share_platform, "D310104", "企业信息核验")
    place(share_platform, held, start - timedelta(days=20), city_today() + timedelta(days=60))
    ended_before = company_grant(share_platform, "D310104", "年报核验")
    place(share_platform, ended_before, start - timedelta(days=60), start)  # expired as LAST began
    ended_in = company_grant(share_platform, "D310104", "招投标核验")
    place(share_platform, ended_in, start - timedelta(days=60), start + timedelta(days=10))
    later = company_grant(share_platform, "D310104", "新设企业服务")  # valid from today: not in LAST

    assert "D310104" in prepare(share_platform, LAST)
    content = letter_of(share_platform, SYSTEM, "D310104", LAST)
    listed = {d.grant: d for d in content.demands}
    assert set(listed) == {held, ended_in}
    assert (listed[held].status, listed[ended_in].status) == ("in_force", "expired")
    assert later not in listed and ended_before not in listed
    assert content.due == first_day(shift_month(LAST, 2)) - timedelta(days=1)
    assert content.status == "pending" and content.letter_digest is None

    # a grant revoked during a month is in that month's letter (revoked), not in the next month's
    revoked, kept = (company_grant(share_platform, "D310105", s) for s in ("户籍核验", "社保核验"))
    with share_platform.store.session() as session:
        grants.change_status(session, SYSTEM, revoked, "revoke", reason="场景终止")
    this_month, next_month = current_month(), shift_month(current_month(), 1)
    prepare(share_platform, this_month, today=first_day(next_month))
    prepare(share_platform, next_month, today=first_day(shift_month(next_month, 1)))
    now = {d.grant: d.status for d in letter_of(share_platform, SYSTEM, "D310105", this_month).demands}
    assert now == {revoked: "revoked", kept: "in_force"}
    after = letter_of(share_platform, SYSTEM, "D310105", next_month).demands
    assert [d.grant for d in after] == [kept]


def test_prepare_is_idempotent_and_refuses_a_month_that_has_not_ended(share_platform: Platform) -> None:
    held = company_grant(share_platform, "D310115-MZ")
    place(share_platform, held, first_day(LAST), city_today() + timedelta(days=30))
    assert "D310115-MZ" in prepare(share_platform, LAST)
    assert prepare(share_platform, LAST) == []
    with share_platform.store.session() as session:
        rows = session.scalars(
            sa.select(Confirmation).where(Confirmation.month == LAST)
        ).all()  # one letter per consumer and month
        assert len({r.consumer_id for r in rows}) == len(rows)
    assert len(events(share_platform, "share.confirmation.prepare", f"D310115-MZ/{LAST}")) == 1

    with pytest.raises(Conflict, match="has not ended"):
        prepare(share_platform, current_month())
    with pytest.raises(Conflict):
        prepare(share_platform, LAST, today=first_day(current_month()) - timedelta(days=1))
    with pytest.raises(ValidationFailed):
        prepare(share_platform, "2026-13")
    with share_platform.store.session() as session, pytest.raises(PermissionDenied):
        confirmation.prepare_letters(
            session, LAST, today=city_today(), actor=consumer_user(share_platform, "D310115-MZ")
        )


def test_the_consumer_confirms_its_letter_and_no_other_organisation_can(share_platform: Platform) -> None:
    held = company_grant(share_platform, "D310106")
    place(share_platform, held, first_day(LAST), city_today() + timedelta(days=30))
    prepare(share_platform, LAST)
    clerk = consumer_user(share_platform, "D310106")
    stranger = consumer_user(share_platform, "D310107")
    security = ensure_user(share_platform, "security_t", "DSJ", [Role.SECURITY])
    log = call_log(share_platform)

    with share_platform.store.session() as session:
        assert {s.consumer for s in confirmation.letters(session, clerk)} == {"D310106"}
        assert "D310106" not in {s.consumer for s in confirmation.letters(session, stranger)}
        assert "D310106" in {s.consumer for s in confirmation.letters(session, security)}
    with pytest.raises(NotFound):
        letter_of(share_platform, stranger, "D310106", LAST)
    with share_platform.store.session() as session, pytest.raises(NotFound):
        confirmation.confirm(session, stranger, "D310106", LAST, log=log)
    assert letter_of(share_platform, security, "D310106", LAST).can_confirm is False
    with share_platform.store.session() as session, pytest.raises(PermissionDenied):
        confirmation.confirm(session, security, "D310106", LAST, log=log)

    before = letter_of(share_platform, clerk, "D310106", LAST)
    assert before.can_confirm and before.status == "pending"
    with share_platform.store.session() as session:
        done = confirmation.confirm(session, clerk, "D310106", LAST, log=log)
    assert done.letter.status == "confirmed" and done.letter.confirmed_by == clerk.name
    canonical = json.dumps(
        before.model_dump(mode="json", include=set(CONTENT_FIELDS)),
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )  # fmt: skip
    assert done.letter.letter_digest == hashlib.sha256(canonical.encode()).hexdigest() == before.digest
    with share_platform.store.session() as session, pytest.raises(Conflict):
        confirmation.confirm(session, clerk, "D310106", LAST, log=log)
    (event,) = events(share_platform, "share.confirmation.confirm", f"D310106/{LAST}")
    assert event.actor == clerk.name and event.detail["digest"] == before.digest
    with share_platform.store.session() as session:
        assert confirmation.letters(session, clerk, status="pending") == []


def test_an_overdue_letter_freezes_its_grants_the_day_after_due_and_confirming_unfreezes(
    share_platform: Platform,
) -> None:
    held = company_grant(share_platform, "D310109")
    place(share_platform, held, first_day(LAST), city_today() + timedelta(days=90))
    newer = company_grant(share_platform, "D310109", "新设企业服务")  # not in LAST's letter
    prepare(share_platform, LAST)
    due = letter_of(share_platform, SYSTEM, "D310109", LAST).due
    touched = grant_row(share_platform, held).updated_at

    def freeze(today: date) -> list[confirmation.Frozen]:
        with share_platform.store.session() as session:
            return [
                f
                for f in confirmation.freeze_overdue(session, SYSTEM, today=today)
                if f.consumer == "D310109"
            ]

    assert freeze(due) == []
    assert grant_row(share_platform, held).frozen_at is None
    expected = confirmation.Frozen(held, _demand(share_platform, held), "D310109", LAST)
    assert freeze(due + timedelta(days=1)) == [expected]
    frozen = grant_row(share_platform, held)
    assert frozen.frozen_at is not None and frozen.updated_at > touched
    assert grants.effective_state(frozen) == "frozen"
    assert grant_row(share_platform, newer).frozen_at is None
    assert freeze(due + timedelta(days=2)) == []  # idempotent
    (event,) = events(share_platform, "share.grant.freeze", held)
    assert event.detail["month"] == LAST and event.detail["consumer"] == "D310109"

    clerk = consumer_user(share_platform, "D310109")
    late = due + timedelta(days=1)
    with share_platform.store.session() as session:
        (summary,) = confirmation.letters(session, clerk, today=late)
        assert summary.overdue and summary.frozen == 1
        assert confirmation.frozen_grants(session, clerk) == [held]
    assert letter_of(share_platform, clerk, "D310109", LAST, today=late).frozen == [held]
    with share_platform.store.session() as session:
        done = confirmation.confirm(session, clerk, "D310109", LAST, log=call_log(share_platform), today=late)
    assert done.unfrozen == [held]
    thawed = grant_row(share_platform, held)
    assert thawed.frozen_at is None and thawed.updated_at > frozen.updated_at
    assert grants.effective_state(thawed) == "active"
    (event,) = events(share_platform, "share.grant.unfreeze", held)
    assert event.detail["month"] == LAST and event.actor == clerk.name


def _demand(platform: Platform, grant: str) -> str:
    with platform.store.session() as session:
        return session.scalars(sa.select(Grant).where(Grant.code == grant)).one().demand.code


def test_a_grant_stays_frozen_while_another_overdue_month_is_unconfirmed(share_platform: Platform) -> None:
    held = company_grant(share_platform, "D310110")
    place(share_platform, held, first_day(EARLIER), city_today() + timedelta(days=90))
    prepare(share_platform, EARLIER)
    prepare(share_platform, LAST)
    late = first_day(shift_month(current_month(), 1))  # both letters are past due
    with share_platform.store.session() as session:
        frozen = [f for f in confirmation.freeze_overdue(session, SYSTEM, today=late) if f.grant == held]
    assert [f.month for f in frozen] == [EARLIER]  # frozen once, by the earlier month
    clerk = consumer_user(share_platform, "D310110")
    log = call_log(share_platform)
    with share_platform.store.session() as session:
        assert confirmation.confirm(session, clerk, "D310110", LAST, log=log, today=late).unfrozen == []
    assert grant_row(share_platform, held).frozen_at is not None
    with share_platform.store.session() as session:
        assert confirmation.confirm(session, clerk, "D310110", EARLIER, log=log, today=late).unfrozen == [
            held
        ]
    assert grant_row(share_platform, held).frozen_at is None


def record(consumer: str, grant: str, scenario: str, api: str, result: str, moment: datetime) -> CallRecord:
    served = result in confirmation.SERVED_RESULTS
    return CallRecord(
        at=moment, request_id=uuid.uuid4().hex, actor="token:1", consumer=consumer, grant=grant,
        scenario=scenario, resource=ENTERPRISES, api=api, fields=("uscc",), rows=1 if served else 0,
        result=result, status=200 if served else 403, latency_us=900, subjects=(),
    )  # fmt: skip


def test_the_letters_calls_equal_the_call_logs_usage_for_the_month(share_platform: Platform) -> None:
    start, end = first_day(LAST), first_day(current_month())
    check = company_grant(share_platform, "D310112", "企业信息核验")
    land = grant_for(share_platform, consumer="D310112", method="库表", scenario="社区人口服务")
    for code in (check, land):
        place(share_platform, code, start - timedelta(days=3), city_today() + timedelta(days=60))
    prepare(share_platform, LAST)
    inside, last_moment = at(start + timedelta(days=4), 10), at(end) - timedelta(seconds=1)
    calls = [
        *(record("D310112", check, "企业信息核验", "verify", "match", inside) for _ in range(3)),
        record("D310112", check, "企业信息核验", "verify", "grant_frozen", inside),
        *(record("D310112", check, "企业信息核验", "query", "ok", at(start)) for _ in range(2)),
        *(record("D310112", land, "社区人口服务", "landing", "ok", last_moment) for _ in range(4)),
        record("D310112", "", "未登记场景", "query", "forbidden", inside),
        # outside the month, or another consumer's: not in the letter
        record("D310112", check, "企业信息核验", "verify", "match", at(start) - timedelta(seconds=1)),
        record("D310112", check, "企业信息核验", "verify", "match", at(end)),
        record("D310113", "", "企业信息核验", "verify", "match", inside),
    ]  # fmt: skip
    log = call_log(share_platform)
    for call in calls:
        log.append(call)

    content = letter_of(share_platform, SYSTEM, "D310112", LAST)
    by_grant = {d.grant: d for d in content.demands}
    assert by_grant[check].calls == {"query": 2, "verify": 4}
    assert (by_grant[check].total, by_grant[check].refused) == (6, 1)
    assert by_grant[land].calls == {"landing": 4} and by_grant[land].refused == 0
    usage: Counter[str] = Counter()
    for row in log.usage(since=start, until=end - timedelta(days=1), consumer="D310112"):
        usage[row.api] += row.calls
    assert {api: n for api, n in content.calls.items() if n} == dict(usage)
    assert content.total_calls == sum(usage.values()) == 11
    assert (content.refused_calls, content.other_calls) == (2, 1)
    html = confirmation.letter_html(content)
    assert "《共享数据使用确认函》" in html and "上海市大数据中心" in html and by_grant[land].code in html
    assert "Confirmation of shared data use" in confirmation.letter_html(content, "en")


def chromium_or_skip() -> None:
    try:
        find_chromium()
    except PdfUnavailable as error:
        if os.environ.get("GONGSHU_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{error.message}; GONGSHU_REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(f"{error.message} ({error.hint})")


@pytest.mark.browser
def test_the_letter_prints_to_a_real_pdf(share_platform: Platform) -> None:
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    chromium_or_skip()
    held = company_grant(share_platform, "D310113")
    place(share_platform, held, first_day(LAST), city_today() + timedelta(days=30))
    prepare(share_platform, LAST)
    content = letter_of(share_platform, SYSTEM, "D310113", LAST)
    for lang, title in (("zh-CN", "共享数据使用确认函"), ("en", "Confirmation of shared data use")):
        pdf = confirmation.letter_pdf(content, lang)
        assert pdf.startswith(b"%PDF")
        document = pdfium.PdfDocument(pdf)
        try:
            assert len(document) >= 1
            text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
        finally:
            document.close()
        assert title in text, text[:300]
        assert _demand(share_platform, held) in text and content.digest in "".join(text.split())


def test_the_daily_job_and_the_cli(share_platform: Platform, tmp_path: Path) -> None:
    held = company_grant(share_platform, "D310114")
    place(share_platform, held, first_day(EARLIER), city_today() + timedelta(days=60))
    prepare(share_platform, EARLIER)  # due at the end of last month: overdue today
    run = confirmation.run_monthly(share_platform, today=city_today())
    assert run.month == LAST and "D310114" in run.prepared
    assert [f.month for f in run.frozen if f.grant == held] == [EARLIER]
    again = confirmation.run_monthly(share_platform, today=city_today())
    assert "D310114" not in again.prepared and not [f for f in again.frozen if f.grant == held]

    cli = CliRunner()
    data_dir = ["--data-dir", str(share_platform.settings.data_dir)]
    listed = cli.invoke(confirm_app, ["list", "--consumer", "D310114", "--json", *data_dir])
    assert listed.exit_code == 0, listed.output
    assert {(s["month"], s["status"]) for s in json.loads(listed.output)} == {
        (EARLIER, "pending"), (LAST, "pending")
    }  # fmt: skip
    shown = cli.invoke(confirm_app, ["show", "D310114", EARLIER, "--json", *data_dir])
    assert json.loads(shown.output)["frozen"] == [held]
    user = consumer_user(share_platform, "D310114").username or ""
    done = cli.invoke(confirm_app, ["confirm", "D310114", EARLIER, "--as", user, *data_dir])
    assert done.exit_code == 0, done.output
    assert "confirmed" in done.output and held in done.output
    frozen = cli.invoke(confirm_app, ["freeze", "--today", city_today().isoformat(), *data_dir])
    assert frozen.exit_code == 0 and held not in frozen.output
