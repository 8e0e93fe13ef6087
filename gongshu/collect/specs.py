"""The mount spec (挂载规格): how a department's source feeds a published catalogue entry, as data.

A steward writes it as YAML (CLI), JSON (API) or through the form on the resource page; nothing
about a source is hard-coded. Example (``docs/collect.md`` has the full reference)::

    name: ga_population                  # lake table name in every zone
    entry: 101001001/000001              # the published catalogue entry it feeds
    source: {kind: sql, url: "sqlite:///city/ga_population.sqlite", table: population,
             mode: incremental, cursor: update_time}
    columns:                             # 信息项 name → source column (or {source, required})
      record_id: record_id
      id_number: {source: id_number, required: true}
    key: [record_id]
    deletes: {mode: soft, column: status, values: ["2"]}
    drift: stop                          # or evolve
    schedule: auto                       # from the entry's 更新周期; or manual, or an interval like 6h
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gongshu.collect.connectors.specs import SourceSpec

TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")  # + "__resolved" stays within the lake's 63
_INTERVAL = re.compile(r"^(\d+)\s*([mhd])$")


class DriftPolicy(StrEnum):
    """What a batch does when the source's columns no longer match the mount (模式漂移策略)."""

    STOP = "stop"  # fail the batch with a clear error; nothing is committed
    EVOLVE = "evolve"  # carry on: the raw zone gains the new columns, the change is reported


class DeleteMode(StrEnum):
    NONE = "none"  # rows are never deleted at the source (or deletes are not collected)
    SOFT = "soft"  # a column marks deleted rows (e.g. 人员状态 = 2 死亡注销)
    SNAPSHOT = "snapshot"  # full loads only: keys missing from the new snapshot are deleted


class ColumnMap(BaseModel):
    """One 信息项's source: the source column that feeds it and whether it must have a value."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(description="source column name (None: the source has no such column)")
    required: bool = Field(default=False, description="blocking 必填 check")
    rules: list[str] | None = Field(default=None, description="explicit standardisation rule ids")


class DeletePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: DeleteMode = DeleteMode.NONE
    column: str | None = Field(default=None, description="soft delete: the 信息项 that marks deletion")
    values: list[str] = Field(default_factory=list, description="soft delete: values meaning deleted")

    @model_validator(mode="after")
    def _soft_needs_column(self) -> DeletePolicy:
        if self.mode is DeleteMode.SOFT and (not self.column or not self.values):
            raise ValueError("soft deletes need `column` and `values`")
        return self


class ReferenceSpec(BaseModel):
    """A cross-department reference the audit checks: ``column`` must exist in ``mount``.``target``."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(description="信息项 of this mount holding the reference")
    mount: str = Field(description="the mount whose standard table is the register, e.g. ga_population")
    target: str = Field(description="信息项 of that mount the value must match")
    label: str | None = Field(default=None, description="the register's name, e.g. 公安实有人口库")
    pattern: str | None = Field(
        default=None,
        description="only values matching this regular expression are looked up (the register's scope)",
    )


class AuditSpec(BaseModel):
    """What the quality audit (稽核) needs to know beyond the catalogue: references, CRS, event time."""

    model_config = ConfigDict(extra="forbid")

    references: list[ReferenceSpec] = Field(default_factory=list)
    crs: str | None = Field(
        default=None, description="coordinate reference system of the coordinates, e.g. EPSG:4490 (CGCS2000)"
    )
    event_time: str | None = Field(
        default=None, description="信息项 with each record's business time, for collection latency (归集时效)"
    )


class MountSpec(BaseModel):
    """A declarative mount (挂载): source + column mapping + key + cursor + schedule + drift policy."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="lake table name (raw/standard/quarantine zones), e.g. ga_population")
    entry: str = Field(description="资源代码 of the published catalogue entry this source feeds")
    title: str | None = Field(default=None, description="a human name for the source (default: entry name)")
    source: SourceSpec
    columns: dict[str, ColumnMap] = Field(description="信息项 name → source column")
    key: list[str] = Field(
        default_factory=list, description="primary key 信息项 (duplicates are quarantined)"
    )
    deletes: DeletePolicy = Field(default_factory=DeletePolicy)
    drift: DriftPolicy = DriftPolicy.STOP
    schedule: str = Field(
        default="auto", description="auto (from 更新周期) / manual / an interval: 30m, 6h, 1d"
    )
    audit: AuditSpec = Field(default_factory=AuditSpec)

    @field_validator("name")
    @classmethod
    def _table_name(cls, value: str) -> str:
        if not TABLE_NAME.match(value) or "__" in value:
            raise ValueError("use lower-case letters, digits and single _ (start with a letter, ≤ 50 chars)")
        return value

    @field_validator("columns", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """``id_number: 公民身份号码`` is short for ``id_number: {source: 公民身份号码}``."""
        if isinstance(value, dict):
            return {k: ({"source": v} if v is None or isinstance(v, str) else v) for k, v in value.items()}
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if value in ("auto", "manual") or _INTERVAL.match(value.strip()):
            return value.strip()
        raise ValueError("use auto, manual or an interval such as 30m, 6h, 1d")

    @model_validator(mode="after")
    def _consistent(self) -> MountSpec:
        missing = [k for k in self.key if k not in self.columns]
        if missing:
            raise ValueError(f"key columns {missing} are not in `columns`")
        if self.deletes.mode is DeleteMode.SOFT and self.deletes.column not in self.columns:
            raise ValueError(f"soft-delete column {self.deletes.column!r} is not in `columns`")
        mode = getattr(self.source, "mode", "full")
        if self.deletes.mode is DeleteMode.SNAPSHOT and mode != "full":
            raise ValueError("snapshot deletes need a full load (source.mode: full)")
        if self.deletes.mode is DeleteMode.SNAPSHOT and not self.key:
            raise ValueError("snapshot deletes need a primary key")
        return self

    def source_columns(self) -> dict[str, str]:
        """信息项 name → source column, for the mapped columns only."""
        return {name: c.source for name, c in self.columns.items() if c.source is not None}


def schedule_interval(spec_schedule: str, update_cycle: str) -> timedelta | None:
    """How often a mount runs: explicit, or derived from the entry's 更新周期; None = manual only."""
    if spec_schedule == "manual":
        return None
    match = _INTERVAL.match(spec_schedule)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return {"m": timedelta(minutes=amount), "h": timedelta(hours=amount), "d": timedelta(days=amount)}[
            unit
        ]
    return UPDATE_CYCLE_INTERVALS.get(update_cycle)


#: 更新周期 → collection interval. 实时 sources are collected every 15 minutes in batch mode.
UPDATE_CYCLE_INTERVALS: dict[str, timedelta | None] = {
    "实时": timedelta(minutes=15),
    "每日": timedelta(days=1),
    "每周": timedelta(weeks=1),
    "每月": timedelta(days=30),
    "每季度": timedelta(days=91),
    "每年": timedelta(days=365),
    "不定期": None,
}

BatchState = Literal["running", "committed", "failed"]
