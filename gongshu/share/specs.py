"""What a consumer writes when it files a demand, and the vocabularies of the exchange.

A demand names one resource (资源代码), one application scenario (应用场景: name, purpose, legal
basis), the 信息项 it needs (field minimisation: nothing more is ever delivered), the rows
(``all``, its own district, or declared conditions), the period, quotas and the share method
(接口 / 库表 / 文件). The platform checks it automatically before anyone reviews it.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gongshu.catalogue.specs import ShareMethod


class RowScope(StrEnum):
    ALL = "all"  # 全部
    DISTRICT = "district"  # 本区 (属地)
    CONDITION = "condition"  # 按条件


class DemandStatus(StrEnum):
    PROVIDER_REVIEW = "provider_review"  # 待提供方审核
    PLATFORM_REVIEW = "platform_review"  # 待平台审核
    GRANTED = "granted"  # 已授权
    REFUSED = "refused"  # 已驳回 / 不予共享
    WITHDRAWN = "withdrawn"  # 已撤回


class GrantStatus(StrEnum):
    ACTIVE = "active"  # 有效
    SUSPENDED = "suspended"  # 暂停
    REVOKED = "revoked"  # 已撤销


class Api(StrEnum):
    VERIFY = "verify"  # 核验
    QUERY = "query"  # 查询
    LANDING = "landing"  # 落地
    SQL = "sql"  # 湖上 SQL
    RETURN = "return"  # 属地返还


DEMAND_STATUS_LABELS: dict[str, tuple[str, str]] = {
    DemandStatus.PROVIDER_REVIEW: ("待提供方审核", "Provider review"),
    DemandStatus.PLATFORM_REVIEW: ("待平台审核", "Platform review"),
    DemandStatus.GRANTED: ("已授权", "Granted"),
    DemandStatus.REFUSED: ("已驳回", "Refused"),
    DemandStatus.WITHDRAWN: ("已撤回", "Withdrawn"),
}
GRANT_STATUS_LABELS: dict[str, tuple[str, str]] = {
    GrantStatus.ACTIVE: ("有效", "Active"),
    GrantStatus.SUSPENDED: ("暂停", "Suspended"),
    GrantStatus.REVOKED: ("已撤销", "Revoked"),
}
SCOPE_LABELS: dict[str, tuple[str, str]] = {
    RowScope.ALL: ("全部数据", "All rows"),
    RowScope.DISTRICT: ("本区数据（属地）", "Own district's rows"),
    RowScope.CONDITION: ("按声明条件", "Rows matching declared conditions"),
}
#: Which APIs each share method opens.
METHOD_APIS: dict[str, frozenset[Api]] = {
    ShareMethod.API: frozenset({Api.VERIFY, Api.QUERY}),
    ShareMethod.TABLE: frozenset({Api.LANDING, Api.SQL, Api.RETURN, Api.QUERY}),
    ShareMethod.FILE: frozenset({Api.LANDING, Api.RETURN}),
}

CONDITION_OPS = ("eq", "ne", "in", "gte", "lte", "prefix")


class Condition(BaseModel):
    """One declared row condition: ``column op value`` (values are bound, never pasted into SQL)."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(min_length=1, max_length=63, description="信息项 name")
    op: str = Field(description="eq / ne / in / gte / lte / prefix")
    value: str | int | float | list[str | int | float] = Field(description="a value, or a list for in")

    @field_validator("op")
    @classmethod
    def _known_op(cls, value: str) -> str:
        if value not in CONDITION_OPS:
            raise ValueError(f"unknown operator {value!r}; use one of {', '.join(CONDITION_OPS)}")
        return value

    @model_validator(mode="after")
    def _list_only_for_in(self) -> Condition:
        if (self.op == "in") != isinstance(self.value, list):
            raise ValueError("the operator in takes a list of values; the others take one value")
        if isinstance(self.value, list) and not 1 <= len(self.value) <= 1000:
            raise ValueError("in takes 1 to 1,000 values")
        return self


class DemandCreate(BaseModel):
    """A demand as filed (共享需求申请)."""

    model_config = ConfigDict(extra="forbid")

    entry: str = Field(description="资源代码 of the resource")
    scenario: str = Field(min_length=2, max_length=100, description="应用场景名称")
    purpose: str = Field(min_length=4, max_length=2000, description="用途")
    legal_basis: str = Field(min_length=2, max_length=2000, description="依据 (法律法规、政策文件)")
    fields: list[str] = Field(min_length=1, description="requested 信息项 names")
    row_scope: RowScope = RowScope.ALL
    conditions: list[Condition] = Field(default_factory=list)
    method: ShareMethod = ShareMethod.API
    period_start: date | None = Field(default=None, description="first day (default: today)")
    period_end: date = Field(description="last day of use")
    daily_quota: int = Field(default=10_000, ge=1, le=100_000_000, description="calls per day")
    rate_per_second: int = Field(default=100, ge=1, le=100_000, description="calls per second")
    clear_text: bool = Field(default=False, description="ask for clear text of graded 信息项 (明文)")
    consumer: str | None = Field(default=None, description="consuming organisation (operators only)")

    @field_validator("fields")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each 信息项 once")
        return value

    @model_validator(mode="after")
    def _scope(self) -> DemandCreate:
        if self.row_scope is RowScope.CONDITION and not self.conditions:
            raise ValueError("row_scope condition needs at least one condition")
        if self.row_scope is not RowScope.CONDITION and self.conditions:
            raise ValueError("conditions are only for row_scope condition")
        return self


class Decision(BaseModel):
    """A reviewer's decision on a demand."""

    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: str = Field(default="", max_length=2000, description="required when refusing")


class DemandEventPublic(BaseModel):
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str
    note: str


class DemandPublic(BaseModel):
    code: str
    consumer: str
    consumer_name: str
    provider: str
    provider_name: str
    entry: str
    entry_name: str
    share_type: str
    method: str
    scenario: str
    purpose: str
    legal_basis: str
    fields: list[str]
    row_scope: str
    district_code: str | None
    conditions: list[dict[str, Any]]
    clear_text: bool
    period_start: date
    period_end: date
    daily_quota: int
    rate_per_second: int
    status: str
    status_label: str
    provider_due: date | None
    platform_due: date | None
    overdue: bool
    escalated_at: datetime | None
    reason: str | None
    created_by: str
    created_at: datetime
    decided_at: datetime | None
    grant: str | None
    events: list[DemandEventPublic] = Field(default_factory=list)


class GrantPublic(BaseModel):
    code: str
    demand: str
    consumer: str
    consumer_name: str
    provider: str
    entry: str
    entry_name: str
    scenario: str
    method: str
    fields: list[str]
    row_scope: str
    district_code: str | None
    conditions: list[dict[str, Any]]
    clear_text: bool
    daily_quota: int
    rate_per_second: int
    valid_from: datetime
    expires_at: datetime
    status: str
    status_label: str
    frozen: bool
    state: str  # the effective state: active / suspended / revoked / expired / frozen / not_yet_valid
    updated_at: datetime


class VerifyRequest(BaseModel):
    """A verification (核验): identifying values in, only 一致 / 不一致 / 无记录 out."""

    model_config = ConfigDict(extra="forbid")

    values: dict[str, str] = Field(
        description="the key 信息项 and the values to compare, e.g. {id_number, name}", min_length=2
    )
    scenario: str | None = Field(default=None, description="when given, must be the grant's scenario")


class VerifyAnswer(BaseModel):
    result: str = Field(description="match 一致 / mismatch 不一致 / no_record 无记录")
    label: str
    request_id: str


class QueryRequest(BaseModel):
    """A query (查询): rows of the granted slice matching filters, only the granted 信息项."""

    model_config = ConfigDict(extra="forbid")

    filters: dict[str, str | int | float] = Field(default_factory=dict, description="信息项 = value")
    fields: list[str] | None = Field(default=None, description="a subset of the granted 信息项")
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    scenario: str | None = None


class QueryAnswer(BaseModel):
    fields: list[str]
    rows: list[dict[str, Any]]
    total: int
    masked: list[str]
    request_id: str
