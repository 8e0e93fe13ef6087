"""One error root for the whole of gongshu.

Every error a user can cause is a :class:`GongshuError` that says what was wrong, the bad value
and how to fix it. Exceptions map to HTTP statuses (``service/errors.py``) and CLI exit codes
(``cli/main.py``) in one place each; user errors never print a traceback.

Errors also say whether retrying can help (the ``transient`` flag), in the manner of dlt's
terminal / transient split: a down source database is transient, a malformed catalogue entry is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar


class GongshuError(Exception):
    """Root of every error gongshu raises on purpose.

    ``code`` is a stable machine-readable identifier, ``message`` is for people (English; the web
    layer translates by ``code`` where a translation exists), ``hint`` says how to fix it.
    """

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400
    exit_code: ClassVar[int] = 1
    transient: ClassVar[bool] = False

    def __init__(self, message: str, *, hint: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.value = value

    def to_dict(self) -> dict[str, Any]:
        """The error as the JSON body the API returns."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        return body


class ConfigError(GongshuError):
    """The configuration is missing, malformed or unsafe (e.g. a default secret outside demo mode)."""

    code = "config"
    exit_code = 3


class NotFound(GongshuError):
    """The named object does not exist (or the caller may not know that it does)."""

    code = "not_found"
    http_status = 404
    exit_code = 4


class Conflict(GongshuError):
    """The request clashes with the current state (duplicate code, wrong lifecycle state...)."""

    code = "conflict"
    http_status = 409
    exit_code = 5


class ValidationFailed(GongshuError):
    """Input failed validation; ``problems`` holds every problem at once, keyed by field.

    Example::

        ValidationFailed({"code": ["资源代码 must match ..."], "items[2].grade": ["..."]})
    """

    code = "validation"
    http_status = 422
    exit_code = 2

    def __init__(self, problems: Mapping[str, Sequence[str]], *, hint: str | None = None) -> None:
        self.problems = {field: list(messages) for field, messages in problems.items()}
        count = sum(len(m) for m in self.problems.values())
        lines = [f"{field}: {msg}" for field, msgs in self.problems.items() for msg in msgs]
        super().__init__(f"{count} problem(s): " + "; ".join(lines), hint=hint)

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["problems"] = self.problems
        return body

    @classmethod
    def from_issues(cls, issues: Iterable[Mapping[str, Any]], *, skip: int = 0) -> ValidationFailed:
        """Problems from pydantic's ``error.errors()``, keyed like ``items[2].grade``.

        ``skip`` drops leading location parts (FastAPI prefixes ``body`` / ``query``).
        """
        problems: dict[str, list[str]] = {}
        for issue in issues:
            field = field_path(tuple(issue["loc"])[skip:]) or "document"
            problems.setdefault(field, []).append(str(issue["msg"]))
        return cls(problems)


def field_path(loc: Sequence[int | str]) -> str:
    """A pydantic location as a field path: ``("items", 2, "grade")`` → ``items[2].grade``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


class AuthenticationFailed(GongshuError):
    """No valid credential: wrong password, unknown / revoked / expired token."""

    code = "unauthenticated"
    http_status = 401
    exit_code = 6


class PermissionDenied(GongshuError):
    """The caller is known but not granted this action (deny unless granted)."""

    code = "forbidden"
    http_status = 403
    exit_code = 7


class SourceUnavailable(GongshuError):
    """An external system (a department database, a service) did not answer; retrying may help."""

    code = "source_unavailable"
    http_status = 503
    exit_code = 8
    transient = True


class SchemaDrift(Conflict):
    """A source's columns changed against its mount (模式漂移) and the mount's policy is ``stop``."""

    code = "schema_drift"

    def __init__(
        self, message: str, *, changes: Sequence[Mapping[str, Any]], hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.changes = [dict(c) for c in changes]

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["changes"] = self.changes
        return body
