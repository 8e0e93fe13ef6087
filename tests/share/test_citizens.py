"""Who accessed my data (谁用了我的数据): binding a citizen's identity, their accesses, officers' lookups.

Calls are appended to the platform's real call log with the subjects of a known person (and of
someone else); the citizen sees exactly the answered calls that touched them, an officer's lookup
finds the same and is audited, everyone else is refused, and the ID number is stored nowhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from gongshu.city.ids import id_check_char
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.roles import Principal, Role
from gongshu.platform import Platform
from gongshu.security.models import AuditEvent
from gongshu.share import citizens
from gongshu.share.calllog import CallRecord
from gongshu.share.exchange import call_log, close_call_logs, subject_of
from gongshu.share.models import CitizenIdentity
from tests.helpers import add_user
from tests.share.conftest import POPULATION, ensure_user, principal

MINE = "110105194912310021"[:17]
MINE += id_check_char(MINE)
OTHER = "440305198807150016"[:17]
OTHER += id_check_char(OTHER)
WRONG = MINE[:17] + ("1" if MINE[17] == "0" else "0")


def record(
    subjects: tuple[str, ...], *, api: str = "verify", status: int = 200, minutes: int = 0
) -> CallRecord:
    result = {200: "match" if api == "verify" else "ok"}.get(status, "grant_suspended")
    return CallRecord(
        at=datetime.now(UTC) - timedelta(minutes=60 - minutes),
        request_id=uuid.uuid4().hex,
        actor="token:1",
        consumer="D310101",
        grant="SQ999999",
        scenario="社区人口服务",
        resource=POPULATION,
        api=api,
        fields=("id_number", "name"),
        rows=1,
        result=result,
        status=status,
        latency_us=850,
        subjects=subjects,
    )


@pytest.fixture(scope="module")
def calls(share_platform: Platform) -> Iterator[dict[str, int]]:
    """Sequence numbers of the calls appended: two answered ones about MINE, one refused, one about OTHER."""
    settings = share_platform.settings
    mine, other = subject_of(settings, MINE), subject_of(settings, OTHER)
    log = call_log(share_platform)
    seqs = {
        "verify": log.append(record((mine,), minutes=1)),
        "other_only": log.append(record((other,), minutes=2)),
        "query": log.append(record((other, mine), api="query", minutes=3)),
        "refused": log.append(record((mine,), status=403, minutes=4)),
    }
    yield seqs


@pytest.fixture(scope="module")
def people(share_platform: Platform) -> dict[str, Principal]:
    with share_platform.store.session() as session:
        citizen = add_user(session, "citizen_t", org=None, roles=["citizen"])
        unbound = add_user(session, "citizen_unbound_t", org=None, roles=["citizen"])
    return {
        "citizen": citizen,
        "unbound": unbound,
        "operator": ensure_user(share_platform, "operator_t", "DSJ", [Role.OPERATOR]),
        "security": ensure_user(share_platform, "security_t", "DSJ", [Role.SECURITY]),
        "consumer": ensure_user(share_platform, "d310101_consumer_t", "D310101", [Role.CONSUMER]),
    }


@pytest.fixture(scope="module")
def bound(share_platform: Platform, people: dict[str, Principal]) -> Principal:
    with share_platform.store.session() as session:
        citizens.bind_identity(
            session, people["operator"], "citizen_t", MINE.lower(), settings=share_platform.settings
        )
    return principal(share_platform, "citizen_t")


def test_a_citizen_sees_exactly_the_answered_calls_that_touched_them(
    share_platform: Platform, calls: dict[str, int], bound: Principal
) -> None:
    found = citizens.accesses_of(share_platform, bound)
    assert [a.seq for a in found] == [calls["query"], calls["verify"]]  # newest first, no refusal
    query = found[0]
    assert query.consumer == "D310101" and query.consumer_name == "上海市黄浦区大数据中心"
    assert query.resource == POPULATION and query.resource_name == "实有人口基本信息"
    assert query.api == "query" and query.api_label == "查询" and found[1].api_label == "核验"
    assert query.fields == ["id_number", "name"] and query.field_labels == ["公民身份号码", "姓名"]
    assert query.scenario == "社区人口服务" and query.rows == 1 and query.result == "ok"
    assert len(citizens.accesses_of(share_platform, bound, limit=1)) == 1


def test_a_citizen_may_not_look_anyone_up_and_needs_a_bound_identity(
    share_platform: Platform, people: dict[str, Principal], bound: Principal
) -> None:
    with pytest.raises(PermissionDenied):
        citizens.accesses_of(share_platform, bound, id_number=OTHER)
    with pytest.raises(NotFound, match="no verified identity"):
        citizens.accesses_of(share_platform, people["unbound"])


def test_an_officers_lookup_finds_the_same_and_is_audited(
    share_platform: Platform, calls: dict[str, int], people: dict[str, Principal], bound: Principal
) -> None:
    subject = subject_of(share_platform.settings, MINE)
    for officer in ("security", "operator"):
        found = citizens.accesses_of(share_platform, people[officer], id_number=f" {MINE.lower()} ")
        assert [a.seq for a in found] == [calls["query"], calls["verify"]]
    other = citizens.accesses_of(share_platform, people["security"], id_number=OTHER)
    assert [a.seq for a in other] == [calls["query"], calls["other_only"]]
    with share_platform.store.session() as session:
        events = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "share.citizen.lookup").order_by(AuditEvent.seq)
        ).all()
    assert [e.actor for e in events[-3:]] == ["user:security_t", "user:operator_t", "user:security_t"]
    assert events[-3].detail == {"subject": subject[:8]} and events[-3].object_id == subject[:8]


def test_everyone_else_is_refused_and_bad_numbers_are_problems(
    share_platform: Platform, people: dict[str, Principal], bound: Principal
) -> None:
    for id_number in (None, MINE):
        with pytest.raises(PermissionDenied):
            citizens.accesses_of(share_platform, people["consumer"], id_number=id_number)
    with pytest.raises(ValidationFailed) as failed:
        citizens.accesses_of(share_platform, people["security"], id_number=WRONG)
    assert list(failed.value.problems) == ["id_number"]
    with pytest.raises(ValidationFailed):  # an officer names the person; they have no identity of their own
        citizens.accesses_of(share_platform, people["security"])
    with pytest.raises(PermissionDenied), share_platform.store.session() as session:
        citizens.bind_identity(
            session, people["security"], "citizen_t", MINE, settings=share_platform.settings
        )
    with pytest.raises(ValidationFailed, match="citizen"), share_platform.store.session() as session:
        citizens.bind_identity(
            session, people["operator"], "d310101_consumer_t", MINE, settings=share_platform.settings
        )


def test_binding_again_replaces_the_identity_and_is_audited(
    share_platform: Platform, people: dict[str, Principal], bound: Principal
) -> None:
    settings = share_platform.settings
    with share_platform.store.session() as session:
        citizens.bind_identity(session, people["operator"], "citizen_unbound_t", OTHER, settings=settings)
        citizens.bind_identity(session, people["operator"], "citizen_unbound_t", MINE, settings=settings)
    with share_platform.store.session() as session:
        identity = session.get(CitizenIdentity, people["unbound"].user_id)
        assert identity is not None and identity.subject == subject_of(settings, MINE)
        binds = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "share.citizen.bind")).all()
    assert {e.detail["replaced"] for e in binds if e.object_id == "citizen_unbound_t"} == {False, True}
    assert all(set(e.detail) == {"replaced"} for e in binds)


def test_the_id_number_is_stored_nowhere(
    share_platform: Platform, calls: dict[str, int], bound: Principal
) -> None:
    citizens.accesses_of(share_platform, bound)
    close_call_logs()  # flush the writer; the files are read as they lie on disk
    data_dir = Path(share_platform.settings.data_dir)
    files = [*data_dir.glob("gongshu.db*"), *(data_dir / "share").glob("calls.sqlite*")]
    assert any(f.name == "gongshu.db" for f in files) and any(f.name == "calls.sqlite" for f in files)
    for path in files:
        content = path.read_bytes()
        for number in (MINE, OTHER):
            assert number.encode() not in content, path
            assert number.lower().encode() not in content, path


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_only_numbers_with_the_right_check_character_are_valid(body: str) -> None:
    right = id_check_char(body)
    assert citizens.valid_id_number(f" {body}{right.lower()} ") == body + right
    for wrong in "0123456789X":
        if wrong != right:
            with pytest.raises(ValidationFailed):
                citizens.valid_id_number(body + wrong)
    for malformed in (body, body + right + "1", body[:16] + "A" + right):
        with pytest.raises(ValidationFailed):
            citizens.valid_id_number(malformed)
