"""The catalogue entry spec (资源目录) and its vocabularies, as data.

See ``docs/catalogue-spec.md`` for the YAML form. The spec model is deliberately lenient about
values (strings where the domain has enumerations) so that :func:`gongshu.catalogue.validation.
validate_entry` can report every problem at once, keyed by field, in the words of the domain.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_CODE_PATTERN = r"^[1-3]\d{2}\d{3}(\d{3})?/\d{6}$"
"""Pattern of 资源代码: 前段码 (类 1 digit, 项 2, 目 3, optional 细目 3) "/" 后段码 (6-digit 顺序码)."""


class ShareType(StrEnum):
    UNCONDITIONAL = "无条件共享"
    CONDITIONAL = "有条件共享"
    NOT_SHARED = "不予共享"


class OpenType(StrEnum):
    UNCONDITIONAL = "无条件开放"
    CONDITIONAL = "有条件开放"
    NOT_OPEN = "不予开放"


class ShareMethod(StrEnum):
    API = "接口"
    TABLE = "库表"
    FILE = "文件"


class UpdateCycle(StrEnum):
    REALTIME = "实时"
    DAILY = "每日"
    WEEKLY = "每周"
    MONTHLY = "每月"
    QUARTERLY = "每季度"
    YEARLY = "每年"
    IRREGULAR = "不定期"


class Theme(StrEnum):
    """数据领域 of the open catalogue (the twelve domains of Shanghai's open-data portal)."""

    ECONOMY = "经济建设"
    ENVIRONMENT = "资源环境"
    EDUCATION = "教育科技"
    TRANSPORT = "道路交通"
    SOCIETY = "社会发展"
    SAFETY = "公共安全"
    CULTURE = "文化休闲"
    HEALTH = "卫生健康"
    LIVELIHOOD = "民生服务"
    ORGANISATIONS = "机构团体"
    URBAN = "城市建设"
    CREDIT = "信用服务"


#: 数据领域 → the EU data theme (http://publications.europa.eu/resource/authority/data-theme/…) of DCAT-AP.
THEME_EU: dict[Theme, str] = {
    Theme.ECONOMY: "ECON",
    Theme.ENVIRONMENT: "ENVI",
    Theme.EDUCATION: "EDUC",
    Theme.TRANSPORT: "TRAN",
    Theme.SOCIETY: "SOCI",
    Theme.SAFETY: "JUST",
    Theme.CULTURE: "EDUC",
    Theme.HEALTH: "HEAL",
    Theme.LIVELIHOOD: "SOCI",
    Theme.ORGANISATIONS: "GOVE",
    Theme.URBAN: "REGI",
    Theme.CREDIT: "ECON",
}


class ResourceFormat(StrEnum):
    DATABASE = "数据库"
    SPREADSHEET = "电子表格"
    DOCUMENT = "电子文件"
    SELF_DESCRIBING = "自描述格式"
    API = "接口"
    IMAGE = "图形图像"
    STREAM = "流媒体"
    OTHER = "其他"


class Grade(StrEnum):
    """Security grades of GB/T 43697-2024, lowest first."""

    GENERAL = "一般"
    IMPORTANT = "重要"
    CORE = "核心"


GRADE_ORDER = {Grade.GENERAL: 0, Grade.IMPORTANT: 1, Grade.CORE: 2}

#: Data item types of the national catalogue guide.
ITEM_TYPES = {"C": "字符型", "N": "数值型", "D": "日期型", "T": "日期时间型", "L": "逻辑型", "B": "二进制型"}


class Status(StrEnum):
    """Lifecycle of an entry: draft → submitted → published → mounted → revoked."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    MOUNTED = "mounted"
    REVOKED = "revoked"


STATUS_LABELS = {
    Status.DRAFT: ("草稿", "Draft"),
    Status.SUBMITTED: ("待审核", "Submitted"),
    Status.PUBLISHED: ("已发布", "Published"),
    Status.MOUNTED: ("已挂载", "Mounted"),
    Status.REVOKED: ("已撤销", "Revoked"),
}


class ItemSpec(BaseModel):
    """A data item (信息项)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="column identifier, e.g. id_number")
    label: str = Field(description="Chinese label, e.g. 公民身份号码")
    type: str = Field(description="C 字符型 / N 数值型 / D 日期型 / T 日期时间型 / L 逻辑型 / B 二进制型")
    length: int | None = None
    element: str = Field(description="数据元 code")
    grade: str = Field(default=Grade.GENERAL.value, description="一般 / 重要 / 核心")


class EntrySpec(BaseModel):
    """A catalogue entry as a department declares it (YAML via CLI, JSON via the API)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="资源代码")
    name: str = Field(description="资源名称")
    provider: str = Field(description="提供方代码 (organisation code)")
    district: str | None = Field(default=None, description="数据所属区划 (GB/T 2260)")
    summary: str = Field(default="", description="摘要")
    format: str = Field(description="格式")
    format_detail: str | None = None
    share_type: str = Field(description="共享类型")
    share_condition: str | None = Field(default=None, description="共享条件")
    share_basis: str | None = Field(default=None, description="不予共享依据")
    share_methods: list[str] = Field(default_factory=list, description="共享方式")
    open_type: str = Field(description="开放属性")
    open_condition: str | None = Field(default=None, description="开放条件")
    open_basis: str | None = Field(default=None, description="不予开放依据")
    update_cycle: str = Field(description="更新周期")
    theme: str | None = Field(default=None, description="数据领域 (open catalogue domain)")
    publish_date: date | None = Field(default=None, description="发布日期")
    related_codes: list[str] = Field(default_factory=list, description="关联资源代码")
    tags: list[str] = Field(default_factory=list)
    items: list[ItemSpec] = Field(default_factory=list, description="信息项")


class ItemPublic(BaseModel):
    name: str
    label: str
    type: str
    length: int | None
    element: str
    element_name: str
    grade: str


class EntryPublic(BaseModel):
    """An entry as the API returns it."""

    id: int
    code: str
    name: str
    provider: str
    provider_name: str
    district: str
    district_name: str
    district_name_en: str
    summary: str
    format: str
    format_detail: str | None
    share_type: str
    share_condition: str | None
    share_basis: str | None
    share_methods: list[str]
    open_type: str
    open_condition: str | None
    open_basis: str | None
    update_cycle: str
    theme: str | None
    publish_date: date | None
    related_codes: list[str]
    tags: list[str]
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    items: list[ItemPublic]


class VersionPublic(BaseModel):
    version: int
    status: str
    change: str
    note: str | None
    actor: str
    at: datetime
    document: dict[str, Any]


class Transition(BaseModel):
    """A lifecycle action with an optional note (required for return and revoke)."""

    note: str | None = None
