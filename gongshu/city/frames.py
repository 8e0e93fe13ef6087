"""Frames: one chunk of one source table under construction, with its ground truth.

A department module turns the true :class:`~gongshu.city.population.World` into frames; the
planter (:mod:`gongshu.city.noise`) alters their cells and records every change; writers append
the frames to the source files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    """One column of a source table: identifier, Chinese label, header used in the file."""

    name: str
    label: str
    header: str = ""
    number: bool = False
    date: bool = False

    @property
    def title(self) -> str:
        return self.header or self.name


@dataclass(frozen=True)
class TableSpec:
    """A source table: owning department, source name, physical form and columns."""

    department: str
    department_name: str
    source: str
    table: str
    kind: str  # sqlite | csv | xlsx | json | ndjson (sqlite may be redirected to a server)
    file: str
    encoding: str
    key: str
    columns: tuple[Column, ...]
    title: str = ""

    @property
    def source_id(self) -> str:
        return f"{self.department}.{self.source}"


@dataclass
class Identity:
    """Which true entity a record refers to, in one role (subject, mother, owner ...)."""

    role: str
    entity_type: str  # person | enterprise | address
    entity_id: pa.Array


@dataclass
class Frame:
    """The rows of one table generated for one chunk."""

    spec: TableSpec
    columns: dict[str, pa.Array]
    identities: list[Identity] = field(default_factory=list)
    planted: list[dict[str, pa.Array]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.columns[self.spec.key])

    def table(self) -> pa.Table:
        """The frame as a pyarrow table in the spec's column order (identifiers as names)."""
        return pa.table({c.name: self.columns[c.name] for c in self.spec.columns})
