"""Exactly one call-log record per answered call, also when the running service is killed (kill -9).

The real service (uvicorn, the fast path) serves verification calls from concurrent clients; at a
random moment it is sent SIGKILL. Every call that got its answer must have exactly one record in the
call log, no request id may appear twice, and the chain must verify after the crash.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import threading
import time

import pytest

from gongshu.platform import Platform
from gongshu.share.bench import free_port, start_server
from gongshu.share.calllog import CallLog
from tests.share.conftest import grant_for, people, token_for


@pytest.mark.slow
def test_answered_calls_survive_a_kill_of_the_service(share_platform: Platform) -> None:
    code = grant_for(
        share_platform, method="接口", scenario="崩溃一致性", rate_per_second=100_000, daily_quota=10_000_000
    )
    token = token_for(share_platform, "d310101_consumer_t")
    persons = people(share_platform, district="310101", n=20)
    data_dir = share_platform.settings.data_dir
    port = free_port()
    server = start_server(data_dir, port)
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while not stop.is_set():
            id_number, name, _ = rng.choice(persons)
            body = json.dumps({"values": {"id_number": id_number, "name": name}}, ensure_ascii=False)
            try:
                connection.request(
                    "POST",
                    f"/api/v1/share/grants/{code}/verify",
                    body=body.encode(),
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                )
                answer = connection.getresponse()
                document = json.loads(answer.read())
            except (OSError, http.client.HTTPException, ValueError):
                return  # the server died mid-call: this call was not answered
            if answer.status == 200:
                with lock:
                    answered.append(document["request_id"])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(random.uniform(1.5, 3.0))
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=30)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answered) > 20, "the service answered too few calls before the kill"
    log = CallLog(data_dir / "share" / "calls.sqlite")
    try:
        assert log.verify().ok
        stored = [c.record.request_id for c in log.calls(grant=code, limit=10_000)]
    finally:
        log.close()
    assert len(stored) == len(set(stored)), "a request id was recorded twice"
    missing = set(answered) - set(stored)
    assert not missing, f"{len(missing)} answered calls have no record"
