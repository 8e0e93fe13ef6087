"""The fast path: verification calls and the bare health check answered without the web framework.

A verification is the exchange's hottest call (tens of millions a month in a city), and the
framework's routing, dependency injection and validation cost more than the verification itself.
This ASGI layer sits in front of the app and answers two paths directly:

- ``POST /api/v1/share/grants/{code}/verify`` — the same :meth:`Exchange.verify` the documented
  route calls, with the same request shape, answers and refusals;
- ``GET /healthz`` — the bare liveness answer (the benchmark's baseline).

Everything else goes to the app unchanged. Request bodies are capped at :data:`MAX_BODY` bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from gongshu.errors import GongshuError, ValidationFailed
from gongshu.share.runtime import Answer, Exchange

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 16 * 1024
_VERIFY = re.compile(r"^/api/v1/share/grants/([A-Za-z0-9_-]{1,20})/verify$")
_HEALTH_BODY = b'{"status":"ok"}'
_JSON = (b"content-type", b"application/json")


class FastPath:
    """ASGI middleware answering verification and the bare health check before the app."""

    def __init__(self, app: ASGIApp, exchange: Callable[[], Exchange]) -> None:
        self.app = app
        self.exchange = exchange

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == "/healthz" and scope["method"] == "GET":
                await _send(send, 200, _HEALTH_BODY)
                return
            if scope["method"] == "POST" and path.startswith("/api/v1/share/grants/"):
                matched = _VERIFY.match(path)
                if matched:
                    answer = await self._verify(scope, receive, matched.group(1))
                    await _send(
                        send, answer.status, json.dumps(answer.body, ensure_ascii=False).encode(), answer
                    )
                    return
        await self.app(scope, receive, send)

    async def _verify(self, scope: Scope, receive: Receive, code: str) -> Answer:
        try:
            body = await _read_body(receive)
            values, scenario = _parse(body)
            exchange = self.exchange()
            caller = exchange.caller(_bearer(scope))
        except GongshuError as error:
            return Answer(error.http_status, {"error": error.to_dict()})
        return await exchange.verify(caller, code, values, scenario)


async def _send(send: Send, status: int, body: bytes, answer: Answer | None = None) -> None:
    headers = [_JSON, (b"content-length", str(len(body)).encode())]
    if answer is not None:
        headers.extend((k.lower().encode(), v.encode()) for k, v in answer.headers.items())
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class PayloadTooLarge(GongshuError):
    code = "payload_too_large"
    http_status = 413


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(f"the request body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _parse(body: bytes) -> tuple[dict[str, str], str | None]:
    """The verification request (the shape of :class:`gongshu.share.specs.VerifyRequest`)."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed({"document": ["请求体须为 JSON the body must be JSON"]}) from None
    if not isinstance(document, dict) or set(document) - {"values", "scenario"}:
        raise ValidationFailed(
            {"document": ["只接受 values 与 scenario only values and scenario are accepted"]}
        )
    values = document.get("values")
    if (
        not isinstance(values, dict)
        or len(values) < 2
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
    ):
        raise ValidationFailed(
            {"values": ["须为至少两个信息项的文本值 at least two 信息项 with text values"]}
        )
    scenario = document.get("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise ValidationFailed({"scenario": ["须为文本 must be text"]})
    return values, scenario


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, secret = value.decode("latin-1").partition(" ")
            return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None
    return None
