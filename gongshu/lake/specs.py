"""The lake's vocabulary: zones (分区), table references, snapshots and schema changes.

These are plain values: they name things in the lake and describe what happened to them, and they
never touch the catalog themselves (see :mod:`gongshu.lake.lake` for that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from gongshu.errors import ValidationFailed

#: Table names: lower-case ASCII, digits and underscores, starting with a letter (a DuckDB, Spark
#: and file-system safe identifier that never needs quoting).
TABLE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

#: Batch ids name a directory (``batch=<id>``) and travel in snapshot summaries.
BATCH_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

#: The snapshot summary key that carries the batch id (归集批次号) of a commit.
BATCH_ID_PROPERTY = "gongshu.batch-id"


class Zone(StrEnum):
    """A zone (分区) of the lake; each is an Iceberg namespace."""

    RAW = "raw"
    STANDARD = "standard"
    QUARANTINE = "quarantine"

    @property
    def label(self) -> str:
        """The Chinese name shown to people: 原始库, 标准库, 问题数据."""
        return _ZONE_LABELS[self]

    @classmethod
    def parse(cls, value: str) -> Zone:
        """The zone named ``value``.

        Raises:
            ValidationFailed: ``value`` is not a zone.
        """
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(f"{zone.value} ({zone.label})" for zone in cls)
            raise ValidationFailed({"zone": [f"unknown zone {value!r}; the zones are {known}"]}) from None


_ZONE_LABELS = {Zone.RAW: "原始库", Zone.STANDARD: "标准库", Zone.QUARANTINE: "问题数据"}


@dataclass(frozen=True, order=True)
class TableRef:
    """A lake table: a zone and a name, written ``zone.name``.

    Example::

        ref = TableRef.parse("raw.ga_population")
        assert ref == TableRef(Zone.RAW, "ga_population") and str(ref) == "raw.ga_population"
    """

    zone: Zone
    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", Zone.parse(str(self.zone)))
        if not TABLE_NAME_PATTERN.fullmatch(self.name):
            raise ValidationFailed(
                {
                    "table": [
                        f"invalid lake table name {self.name!r}: use 1-63 lower-case letters, digits and "
                        "underscores, starting with a letter (e.g. ga_population)"
                    ]
                }
            )

    def __str__(self) -> str:
        return f"{self.zone.value}.{self.name}"

    @property
    def identifier(self) -> tuple[str, str]:
        """The Iceberg identifier: (namespace, table)."""
        return (self.zone.value, self.name)

    @classmethod
    def parse(cls, text: str) -> TableRef:
        """A reference from ``zone.name`` text, as typed on the command line.

        Raises:
            ValidationFailed: not of the form ``zone.name``, an unknown zone or an invalid name.
        """
        zone, dot, name = text.strip().partition(".")
        if not dot:
            raise ValidationFailed(
                {"table": [f"{text!r} is not a lake table: write zone.name, e.g. raw.ga_population"]}
            )
        return cls(Zone.parse(zone), name)


@dataclass(frozen=True)
class SnapshotInfo:
    """One committed snapshot (快照) of a lake table; a collect or cleanse batch makes exactly one.

    ``committed_at`` is timezone-aware UTC (millisecond precision, as Iceberg stores it);
    ``summary`` is the whole Iceberg snapshot summary, including ``gongshu.*`` properties.
    """

    snapshot_id: int
    parent_id: int | None
    committed_at: datetime
    operation: str
    batch_id: str | None
    added_records: int
    added_files: int
    total_records: int
    summary: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Column:
    """One column of a lake table: its name, Iceberg type, DuckDB type and Iceberg field id."""

    name: str
    type: str
    duckdb_type: str
    field_id: int


@dataclass(frozen=True)
class SchemaChange:
    """One change :meth:`Lake.ensure_table` made to a table's schema (模式演进).

    ``kind`` is ``added`` (a new optional column) or ``widened`` (a type Iceberg may promote:
    int → long, float → double, a wider decimal). Types are Iceberg type names.
    """

    kind: Literal["added", "widened"]
    column: str
    type: str
    previous_type: str | None = None

    def __str__(self) -> str:
        if self.kind == "added":
            return f"added {self.column} {self.type}"
        return f"widened {self.column} {self.previous_type} → {self.type}"


def validate_batch_id(batch_id: str) -> str:
    """Return ``batch_id`` if it can name a batch directory and a snapshot.

    Raises:
        ValidationFailed: empty, too long, or holding characters other than letters, digits, ``_.-``.
    """
    if not BATCH_ID_PATTERN.fullmatch(batch_id):
        raise ValidationFailed(
            {
                "batch_id": [
                    f"invalid batch id {batch_id!r}: use 1-128 letters, digits, '_', '.' or '-', "
                    "starting with a letter or digit"
                ]
            }
        )
    return batch_id
