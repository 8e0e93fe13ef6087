"""`gongshu audit verify` also checks the sharing call log against its anchors; `gongshu audit calls`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from gongshu.cli import output
from gongshu.cli.audit_cmd import AuditChainBroken, audit_app
from gongshu.config import Settings
from gongshu.platform import Platform, open_platform
from gongshu.security import audit
from gongshu.share.calllog import ANCHOR_ACTION, CallLog, call_log_anchors, call_log_path
from tests.share.calllog_child import call

START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 01:00 on 21 November in Shanghai


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps tables at the test runner's 80 columns; widen so cells stay on one line."""
    monkeypatch.setattr(output.console, "width", 200)


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    opened = open_platform(Settings(data_dir=tmp_path), migrate=True)
    yield opened
    opened.close()


def anchor_into(platform: Platform) -> Callable[[int, str], None]:
    """The exchange's wiring: each anchor is an event of the main audit trail."""

    def anchor(seq: int, digest: str) -> None:
        with platform.store.session() as session:
            audit.record(
                session,
                actor="system",
                action=ANCHOR_ACTION,
                object_type="call_log",
                object_id=str(seq),
                detail={"seq": seq, "digest": digest},
            )

    return anchor


@pytest.fixture
def calls(platform: Platform) -> Path:
    """A call log of 12 calls by two consumers, anchored into the trail after every group."""
    log = CallLog(call_log_path(platform.settings), anchor_every_s=0, anchor=anchor_into(platform))
    for n in range(12):
        consumer, grant = ("D310101", "SQ-000123") if n % 3 else ("D310104", "SQ-000200")
        log.append(
            call(
                f"req{n:02d}",
                at=START + timedelta(seconds=n),
                consumer=consumer,
                grant=grant,
                latency_us=1500,
            )
        )
    log.close()
    return log.path


def invoke(platform: Platform, *args: str) -> Result:
    return CliRunner().invoke(audit_app, [*args, "--data-dir", str(platform.settings.data_dir)])


def test_verify_checks_the_call_log_against_its_anchors(platform: Platform, calls: Path) -> None:
    with platform.store.session() as session:
        anchors = call_log_anchors(session)
    assert anchors[-1][0] == 12 and len(anchors) == 12
    result = invoke(platform, "verify")
    assert result.exit_code == 0, result.output
    assert "audit chain intact: 12 events verified" in result.output
    assert "call log intact: 12 calls verified" in result.output


def test_verify_without_a_call_log_checks_the_trail_only(platform: Platform) -> None:
    result = invoke(platform, "verify")
    assert result.exit_code == 0 and "audit chain intact" in result.output
    assert "call log" not in result.output and not call_log_path(platform.settings).exists()


def test_an_altered_call_fails_verification(platform: Platform, calls: Path) -> None:
    with sqlite3.connect(calls) as conn:
        conn.execute("UPDATE calls SET record = json_set(record, '$[9]', 5) WHERE seq = 7")
    result = invoke(platform, "verify")
    assert isinstance(result.exception, AuditChainBroken) and result.exception.exit_code == 9
    assert result.exception.message == "call log broken at call 7: content was altered"
    assert "audit chain intact" in result.output  # the main trail itself is fine


def test_a_truncated_call_log_is_caught_by_the_anchors(platform: Platform, calls: Path) -> None:
    with sqlite3.connect(calls) as conn:  # remove the last calls and rewind the head to match
        tenth = conn.execute("SELECT digest FROM calls WHERE seq = 10").fetchone()[0]
        conn.execute("DELETE FROM calls WHERE seq > 10")
        conn.execute("UPDATE call_head SET seq = 10, digest = ?", (tenth,))
    result = invoke(platform, "verify")
    assert isinstance(result.exception, AuditChainBroken)
    assert result.exception.message.startswith("call log broken at call 11: calls up to 12 were anchored")


def test_calls_lists_the_newest_first(platform: Platform, calls: Path) -> None:
    table = invoke(platform, "calls", "--limit", "3")
    assert table.exit_code == 0, table.output
    assert "共享调用" in table.output and "2026-11-21 01:00:11" in table.output and "1.5" in table.output
    assert "2026-11-21 01:00:08" not in table.output
    listed = json.loads(invoke(platform, "calls", "--json", "--consumer", "D310104").stdout)
    assert [c["seq"] for c in listed] == [10, 7, 4, 1]
    assert listed[0] == {
        "seq": 10,
        "at": "2026-11-21T01:00:09.000+08:00",
        "request_id": "req09",
        "actor": "token:12",
        "consumer": "D310104",
        "grant": "SQ-000200",
        "scenario": "社区事务受理身份核验",
        "resource": "101001001/000001",
        "api": "verify",
        "fields": ["id_number", "name"],
        "result": "match",
        "status": 200,
        "rows": 1,
        "latency_ms": 1.5,
    }
    by_grant = json.loads(invoke(platform, "calls", "--json", "--grant", "SQ-000123", "--limit", "2").stdout)
    assert [c["request_id"] for c in by_grant] == ["req11", "req10"]


def test_calls_without_a_log_lists_nothing(platform: Platform) -> None:
    assert json.loads(invoke(platform, "calls", "--json").stdout) == []
    assert not call_log_path(platform.settings).exists()
