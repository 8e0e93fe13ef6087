"""The platform's exchange: the call log, wired to the main audit trail, and the citizens' subject key.

Every channel (the APIs, lake SQL, landing, district return) records its calls through
:func:`call_log` so there is one log per data directory, anchored into the hash-chained audit
trail (a ``share.calls.anchor`` event holds the log's head), and hashes citizens' ID numbers with
one key (:func:`subject_key`, derived from the platform secret: an ID number never appears in the
log, and the hashes cannot be recomputed without the secret).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

from gongshu.config import Settings
from gongshu.platform import Platform
from gongshu.security import audit
from gongshu.share.calllog import CallLog, subject_hash

_logs: dict[Path, CallLog] = {}
_lock = threading.Lock()


def subject_key(settings: Settings) -> bytes:
    """The HMAC key of citizens' subject hashes, derived from the platform secret."""
    return hashlib.sha256(b"gongshu.share.subject\0" + settings.resolve_secret().encode()).digest()


def subject_of(settings: Settings, id_number: str) -> str:
    """The call log's subject hash of one 公民身份号码."""
    return subject_hash(subject_key(settings), id_number)


def call_log(platform: Platform) -> CallLog:
    """The data directory's call log (one per process), anchored into the main audit trail."""
    path = (platform.settings.data_dir / "share" / "calls.sqlite").resolve()
    with _lock:
        log = _logs.get(path)
        if log is None:
            log = CallLog(path, anchor=_anchor_into(platform))
            _logs[path] = log
        return log


def close_call_logs() -> None:
    """Flush and close every open call log (tests, shutdown)."""
    with _lock:
        logs = list(_logs.values())
        _logs.clear()
    for log in logs:
        log.close()


def _anchor_into(platform: Platform) -> Callable[[int, str], None]:
    def anchor(seq: int, digest: str) -> None:
        with platform.store.session() as session:
            audit.record(
                session,
                actor="system",
                action="share.calls.anchor",
                object_type="call_log",
                object_id=str(seq),
                detail={"seq": seq, "digest": digest},
            )

    return anchor
