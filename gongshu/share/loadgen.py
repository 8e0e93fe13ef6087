"""A small closed-loop HTTP/1.1 load generator for the benchmarks (keep-alive, pre-built requests).

``connections`` concurrent connections each send a request, wait for its whole answer, record the
latency and send the next, until ``seconds`` have passed. Requests are built before the clock
starts and taken round-robin, so the generator spends its time on sockets, not on formatting.
It runs in its own process (:func:`run_load`), so its CPU is not the server's.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any


def http_request(
    method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """One HTTP/1.1 keep-alive request as bytes."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method == "POST":
        lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def run_load(port: int, requests: Sequence[bytes], seconds: float, connections: int) -> dict[str, Any]:
    """Drive ``requests`` against 127.0.0.1:``port``; latencies (ms), statuses and answer kinds."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # the stdlib loop works, a little slower
        pass
    return asyncio.run(_drive(port, requests, seconds, connections))


async def _drive(port: int, requests: Sequence[bytes], seconds: float, connections: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    answers: Counter[str] = Counter()
    position = [0]
    started = time.perf_counter()
    deadline = started + seconds

    async def connection(offset: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        clock = time.perf_counter
        try:
            while True:
                now = clock()
                if now >= deadline:
                    return
                i = position[0]
                position[0] = i + 1
                writer.write(requests[(i + offset) % len(requests)])
                head = await reader.readuntil(b"\r\n\r\n")
                length = _content_length(head)
                body = await reader.readexactly(length) if length else b""
                latencies.append(clock() - now)
                statuses[int(head[9:12])] += 1
                answers[_answer(body)] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection(i * 7919) for i in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    n = len(latencies)

    def pct(p: float) -> float:
        return round(latencies[min(n - 1, int(n * p))] * 1000, 3) if n else 0.0

    return {
        "requests": n,
        "seconds": round(elapsed, 3),
        "rps": round(n / elapsed, 1) if elapsed else 0.0,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 3) if n else 0.0,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "answers": dict(answers),
    }


def _content_length(head: bytes) -> int:
    lower = head.lower()
    at = lower.find(b"content-length:")
    if at < 0:
        return 0
    end = lower.find(b"\r\n", at)
    return int(lower[at + 15 : end])


def _answer(body: bytes) -> str:
    for kind in (b'"match"', b'"mismatch"', b'"no_record"', b'"ok"'):
        if kind in body:
            return kind.decode().strip('"')
    at = body.find(b'"code":"')
    if at >= 0:
        return body[at + 8 : body.find(b'"', at + 8)].decode()
    return "other"
