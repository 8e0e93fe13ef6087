"""Source specs (数据源规格): what a connector reads, as data (``docs/connectors.md``).

A mount's ``source:`` is one of three kinds, told apart by ``kind``::

    source: {kind: sql, url: "postgresql+psycopg://reader:${GA_PG_PASSWORD}@10.1.2.3:5432/ga",
             table: population, schema: public, mode: incremental, cursor: update_time}
    source: {kind: file, path: /data/dropzone/mz, pattern: "婚姻登记_*.csv", encoding: auto}
    source: {kind: http, url: "https://api.example.gov.cn/v1/addresses", records_path: data.items,
             pagination: {style: page, page_param: pageNo, size_param: pageSize, size: 500}}

Passwords in SQL URLs and HTTP header values may be written ``${ENV_NAME}``: they are resolved
from the environment at run time (:mod:`gongshu.collect.connectors.envvars`), never stored resolved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from gongshu.errors import ValidationFailed

__all__ = [
    "FileSource",
    "HttpSource",
    "Pagination",
    "SourceSpec",
    "SqlSource",
    "parse_source",
]


class SqlSource(BaseModel):
    """One table (or view) of a department's database: SQLite, PostgreSQL, MySQL/MariaDB."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: Literal["sql"]
    url: str = Field(
        description="SQLAlchemy-style URL: sqlite:///path, postgresql+psycopg://user:${ENV}@host:port/db, "
        "mysql+pymysql://user:${ENV}@host:port/db; a password written ${ENV_NAME} comes from the environment"
    )
    table: str = Field(min_length=1, description="table or view name, exactly as the source spells it")
    schema_: str | None = Field(
        default=None,
        alias="schema",
        description="PostgreSQL schema / MySQL database (default: the connection's current one)",
    )
    columns: list[str] | None = Field(default=None, description="columns to collect (default: all, in order)")
    mode: Literal["full", "incremental"] = Field(
        default="full", description="full snapshot or rows after the cursor"
    )
    cursor: str | None = Field(
        default=None,
        validate_default=True,
        description="incremental: the column whose value only grows (update time, id)",
    )
    timeout_s: float = Field(
        default=30, gt=0, description="seconds to wait for connecting and for each answer of the source"
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
        if scheme not in ("sqlite", "postgresql", "postgres", "mysql", "mariadb"):
            raise ValueError("数据库类型不支持 / unsupported database: use sqlite, postgresql or mysql URLs")
        return url

    @field_validator("columns")
    @classmethod
    def _columns_unique(cls, columns: list[str] | None) -> list[str] | None:
        if columns is not None:
            if not columns:
                raise ValueError("列清单为空 / columns must not be empty (omit it to collect all)")
            if len(set(columns)) != len(columns):
                raise ValueError("列重复 / columns are listed twice")
        return columns

    @field_validator("cursor")
    @classmethod
    def _cursor_rules(cls, cursor: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("mode") == "incremental" and not cursor:
            raise ValueError("增量采集需要 cursor / incremental mode needs `cursor` (an ever-growing column)")
        columns = info.data.get("columns")
        if cursor and columns is not None and cursor not in columns:
            raise ValueError("cursor 必须在 columns 中 / `cursor` must be one of `columns`")
        return cursor

    @property
    def public_url(self) -> str:
        """The URL with any password replaced by ``***`` (for messages and logs)."""
        from gongshu.collect.connectors.envvars import mask_url

        return mask_url(self.url)


class FileSource(BaseModel):
    """Files delivered to a drop zone (文件交换区): CSV, XLSX, JSON, NDJSON, Parquet."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["file"]
    path: str = Field(description="a directory (drop zone: every file matching `pattern`) or one file")
    pattern: str = Field(default="*", description="glob of file names inside the directory (sorted by name)")
    format: Literal["auto", "csv", "xlsx", "json", "ndjson", "parquet"] = Field(
        default="auto", description="auto: by extension (.csv .txt .tsv .xlsx .json .ndjson .jsonl .parquet)"
    )
    encoding: Literal["auto", "utf-8", "utf-8-sig", "gb18030"] = Field(
        default="auto", description="CSV text encoding; auto: BOM, else UTF-8 if valid, else GB18030"
    )
    delimiter: str = Field(default=",", description="CSV field delimiter (one character)")
    sheets: str | None = Field(default=None, description="XLSX: glob of sheet names (default: all sheets)")
    json_path: str | None = Field(
        default=None, description="JSON document: dotted path to the records array, e.g. data.items"
    )
    max_field_bytes: int = Field(
        default=1_000_000,
        ge=1_024,
        le=32 << 20,
        description="longest accepted CSV record in bytes; longer ones are rejected",
    )

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, delimiter: str) -> str:
        if len(delimiter) != 1 or delimiter in ('"', "\n", "\r"):
            raise ValueError(
                "分隔符须为一个字符 / the delimiter must be one character other than quote or newline"
            )
        return delimiter

    @field_validator("pattern")
    @classmethod
    def _no_directories(cls, pattern: str) -> str:
        if "/" in pattern or "\\" in pattern or not pattern:
            raise ValueError("pattern 只匹配文件名 / the pattern matches file names inside `path`, not paths")
        return pattern


class Pagination(BaseModel):
    """How an HTTP API pages its records (分页方式)."""

    model_config = ConfigDict(extra="forbid")

    style: Literal["page", "offset", "cursor", "next_link", "none"] = Field(
        default="none",
        description="page: page number; offset: record offset; cursor: token from the body; "
        "next_link: next URL from the body (or the Link header); none: one request",
    )
    page_param: str = Field(
        default="page", description="query parameter of the page number / offset / cursor"
    )
    size_param: str = Field(default="size", description="query parameter of the page size")
    size: int = Field(default=1000, ge=1, description="records asked for per page")
    start: int | None = Field(
        default=None, ge=0, description="first page number (default 1) or first offset (default 0)"
    )
    next_path: str | None = Field(
        default=None, validate_default=True, description="cursor / next_link: dotted path in the body"
    )
    total_path: str | None = Field(default=None, description="dotted path of the total record count, if any")

    @field_validator("next_path")
    @classmethod
    def _cursor_needs_path(cls, next_path: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("style") == "cursor" and not next_path:
            raise ValueError("cursor 分页需要 next_path / cursor pagination needs `next_path`")
        return next_path


class HttpSource(BaseModel):
    """A paginated JSON API (接口)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["http"]
    url: str = Field(description="the first page's URL (http or https)")
    records_path: str | None = Field(
        default=None, description="dotted path to the records array in each page (default: detected)"
    )
    pagination: Pagination = Field(default_factory=Pagination)
    headers: dict[str, str] = Field(
        default_factory=dict, description="request headers; values may use ${ENV}"
    )
    timeout_s: float = Field(default=30, gt=0, description="seconds to wait for each answer")
    max_pages: int = Field(default=100_000, ge=1, description="more pages than this is an error")
    max_page_bytes: int = Field(default=50_000_000, ge=1_024, description="a larger page is an error")

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError("须为 http(s) 地址 / the URL must start with http:// or https://")
        return url


SourceSpec = Annotated[SqlSource | FileSource | HttpSource, Field(discriminator="kind")]
"""Any source spec; ``kind`` says which."""

_ADAPTER: TypeAdapter[SqlSource | FileSource | HttpSource] = TypeAdapter(SourceSpec)


def parse_source(data: Any) -> SqlSource | FileSource | HttpSource:
    """Validate a source spec document (a dict from YAML or JSON); every problem at once.

    Example::

        >>> parse_source({"kind": "file", "path": "/drop/mz", "pattern": "*.csv"}).encoding
        'auto'
    """
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as error:
        raise ValidationFailed.from_issues(untagged(error.errors(), at=())) from None


SOURCE_KINDS = ("sql", "file", "http")


def untagged(issues: Iterable[Mapping[str, Any]], *, at: tuple[str, ...]) -> list[dict[str, Any]]:
    """Pydantic's issues with the source union's tag dropped from their location.

    pydantic names the union member a problem belongs to (``("sql", "url")``, or under a mount
    ``("source", "file", "format")``); people wrote ``url`` and ``source.format``. ``at`` is where
    the source sits in the document.
    """
    result = []
    for issue in issues:
        loc = tuple(issue["loc"])
        if loc[: len(at)] == at and len(loc) > len(at) and loc[len(at)] in SOURCE_KINDS:
            loc = loc[: len(at)] + loc[len(at) + 1 :]
        result.append({**issue, "loc": loc})
    return result
