"""An acknowledged call survives ``kill -9`` of its process: exactly once, and the chain verifies."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from gongshu.share.calllog import CallLog

ROOT = Path(__file__).resolve().parents[2]


def _read_lines(stream: object, into: list[str], first: threading.Event) -> None:
    for line in stream:  # type: ignore[attr-defined]
        if line.endswith("\n"):  # a torn last line was never fully acknowledged to us
            into.append(line.strip())
            first.set()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_acknowledged_calls_survive_kill_9(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "calls.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.share.calllog_child", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    acknowledged: list[str] = []
    first = threading.Event()
    reader = threading.Thread(target=_read_lines, args=(child.stdout, acknowledged, first))
    reader.start()
    try:
        assert first.wait(60), "the child never acknowledged a call"
        time.sleep(random.Random(seed).uniform(0.3, 1.0))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        reader.join(30)
    assert child.returncode == -signal.SIGKILL and acknowledged

    log = CallLog(path)
    result = log.verify()
    assert result.ok, result
    with sqlite3.connect(path) as conn:
        stored = Counter(row[0] for row in conn.execute("SELECT request_id FROM calls_view"))
    assert max(stored.values()) == 1  # no call twice
    missing = set(acknowledged) - set(stored)
    assert not missing, f"{len(missing)} acknowledged calls were lost"
    assert result.checked == sum(stored.values()) == log.count() >= len(acknowledged)
    assert sum(r.calls for r in log.usage()) == log.count()  # metering equals the log after a crash
