"""What the file readers share: the reading context, one input file, one file's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from gongshu.collect.connectors.output import RawOutput
from gongshu.collect.connectors.results import Reject
from gongshu.collect.connectors.specs import FileSource
from gongshu.collect.sqlbits import lit

#: how one of DuckDB's types reads in ``source_types`` for a value inferred from text
TEXT_TYPES = {"VARCHAR", "JSON", "NULL"}


@dataclass
class Context:
    """One extraction of a file source: the spec, the output, a DuckDB connection."""

    spec: FileSource
    out: RawOutput
    con: duckdb.DuckDBPyConnection
    batch_id: str


@dataclass
class FileInput:
    """A delivered file, inspected: its columns (raw-zone names) and how the reader names them."""

    path: Path
    name: str  # relative to the drop zone: the raw rows' ``_source``
    format: str
    columns: list[str]
    mapping: dict[str, str]  # raw-zone name → the reader's column (c0…, a JSON key, a Parquet column)
    notes: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)


@dataclass
class FileOutcome:
    """What writing one input produced."""

    files: list[Path]
    rows_written: int
    rejects: list[Reject]
    notes: list[str]
    types: dict[str, str]


def inferred(duckdb_type: str) -> str:
    """``source_types`` text for a type DuckDB inferred from text: ``VARCHAR`` or ``inferred:<type>``."""
    return "VARCHAR" if duckdb_type.upper() in TEXT_TYPES else f"inferred:{duckdb_type}"


def target_literal(path: Path) -> str:
    """A COPY target (DuckDB does not bind ``TO ?``): our own path, quoted as a literal anyway."""
    return lit(str(path))
