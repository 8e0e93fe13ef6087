"""Errors of the sharing exchange: every refusal says which rule refused, with a stable code.

Refusals of a call are :class:`ShareDenied` (403) with a code per reason, so a consumer's system can
tell a frozen interface (confirm the monthly letter) from a revoked grant (file a new demand).
An unknown grant and another consumer's grant get the same answer, so grant codes cannot be probed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from gongshu.errors import GongshuError


class ShareDenied(GongshuError):
    """A sharing call the grant does not allow (deny unless granted)."""

    code: ClassVar[str] = "forbidden"
    http_status = 403
    exit_code = 7

    def __init__(self, reason: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["code"] = self.reason
        return body


class QuotaExceeded(GongshuError):
    """The grant's rate limit or daily quota is used up: retry after ``retry_after`` seconds."""

    code: ClassVar[str] = "quota_exceeded"
    http_status = 429
    exit_code = 8
    transient = True

    def __init__(self, reason: str, message: str, *, retry_after: int) -> None:
        super().__init__(message, hint=f"retry after {retry_after} s")
        self.reason = reason
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["code"] = self.reason
        body["retry_after"] = self.retry_after
        return body


#: Every refusal code a call can get, with its Chinese and English meaning (docs and pages).
DENIAL_REASONS: dict[str, tuple[str, str]] = {
    "forbidden": ("无此授权", "No such grant for this consumer"),
    "grant_expired": ("授权已过期", "The grant has expired"),
    "grant_not_yet_valid": ("授权尚未生效", "The grant is not valid yet"),
    "grant_suspended": ("授权已暂停", "The grant is suspended"),
    "grant_revoked": ("授权已撤销", "The grant is revoked"),
    "grant_frozen": (
        "接口已冻结：上月确认函未确认",
        "Frozen: the monthly confirmation letter is unconfirmed",
    ),
    "method_not_granted": ("授权不含此共享方式", "The grant does not include this share method"),
    "fields_not_granted": ("请求了未授权的信息项", "Fields outside the grant were requested"),
    "scenario_mismatch": ("应用场景与授权不符", "The scenario is not the grant's"),
    "rows_not_granted": ("请求了授权范围外的数据", "Rows outside the grant were requested"),
    "rate_limited": ("调用过于频繁", "Too many calls per second"),
    "quota_exceeded": ("当日调用配额已用尽", "The daily call quota is used up"),
}
