"""Child processes of the call log tests: appenders the parent runs, kills or races.

``python -m tests.share.calllog_child PATH`` appends calls from 32 concurrent asyncio tasks until it
is killed, printing each request id only after its ``append_async`` returned (it is then durable).
:func:`append_many` is the target of the two-process test.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gongshu.share.calllog import CallLog, CallRecord, subject_hash

KEY = b"call-log-test-subject-key-000000"


def call(request_id: str, *, at: datetime | None = None, **changes: Any) -> CallRecord:
    """A verification call with ``changes`` applied."""
    record = CallRecord(
        at=at or datetime.now(UTC),
        request_id=request_id,
        actor="token:12",
        consumer="D310101",
        grant="SQ-000123",
        scenario="社区事务受理身份核验",
        resource="101001001/000001",
        api="verify",
        fields=("id_number", "name"),
        rows=1,
        result="match",
        status=200,
        latency_us=180,
        subjects=(subject_hash(KEY, request_id),),
    )
    return replace(record, **changes)


def append_many(path: str, prefix: str, count: int) -> None:
    """Append ``count`` calls with request ids ``<prefix>-<n>`` from two threads and an event loop."""
    import threading

    log = CallLog(Path(path))

    def blocking(start: int) -> None:
        for n in range(start, count // 2, 2):
            log.append(call(f"{prefix}-{n:06x}"))

    threads = [threading.Thread(target=blocking, args=(s,)) for s in (0, 1)]
    for thread in threads:
        thread.start()

    async def concurrent() -> None:
        await asyncio.gather(*(log.append_async(call(f"{prefix}-{n:06x}")) for n in range(count // 2, count)))

    asyncio.run(concurrent())
    for thread in threads:
        thread.join()
    log.close()


async def _forever(path: Path) -> None:
    log = CallLog(path)
    out = sys.stdout

    async def worker() -> None:
        while True:
            request_id = uuid.uuid4().hex
            await log.append_async(call(request_id))
            out.write(request_id + "\n")  # one short write: atomic on a pipe
            out.flush()

    await asyncio.gather(*(worker() for _ in range(32)))


if __name__ == "__main__":
    asyncio.run(_forever(Path(sys.argv[1])))
