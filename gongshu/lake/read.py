"""Reading a snapshot with DuckDB: exactly its Parquet files, projected to its schema.

Files written before a column was added do not have it; DuckDB's ``union_by_name`` fills it with
NULL when some file has it, and the projection adds it as a typed NULL when none does. Every column
is cast to the snapshot's type, so a widened column (int → long) reads the same from old and new
files. Names are quoted by sqlglot; file paths are passed as values, never pasted into SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
from pyiceberg.schema import Schema
from sqlglot import exp

from gongshu.errors import ValidationFailed


def snapshot_relation(
    con: duckdb.DuckDBPyConnection, schema: Schema, files: Sequence[str], *, columns: Sequence[str] | None
) -> duckdb.DuckDBPyRelation:
    """A relation over ``files`` with exactly the columns of ``schema`` (or the ``columns`` chosen).

    Raises:
        ValidationFailed: a chosen column is not in the schema.
    """
    types = duckdb_types(con, schema)
    wanted = _chosen(list(types), columns)
    if not files:
        casts = [_typed_null(name, types[name]) for name in wanted]
        return con.sql(exp.select(*casts).limit(0).sql("duckdb"))
    base = con.read_parquet(list(files), union_by_name=True, hive_partitioning=False)
    present = set(base.columns)
    projection = [
        _cast(exp.column(name, quoted=True), name, types[name])
        if name in present
        else _typed_null(name, types[name])
        for name in wanted
    ]
    return base.project(", ".join(expression.sql("duckdb") for expression in projection))


def duckdb_types(con: duckdb.DuckDBPyConnection, schema: Schema) -> dict[str, str]:
    """Each column's DuckDB type, as DuckDB names it (``DECIMAL(18,2)``, ``TIMESTAMP WITH TIME ZONE``)."""
    # DuckDB's own Arrow import decides the types, so nested and UUID columns map as it reads them.
    empty: Any = schema.as_arrow().empty_table()
    relation = con.from_arrow(empty)
    return {name: str(type_) for name, type_ in zip(relation.columns, relation.types, strict=True)}


def _chosen(names: list[str], columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return names
    unknown = [column for column in columns if column not in names]
    if unknown:
        raise ValidationFailed(
            {"columns": [f"no column {column!r}; the columns are {', '.join(names)}" for column in unknown]}
        )
    return list(dict.fromkeys(columns))


def _cast(value: exp.Expression, name: str, duckdb_type: str) -> exp.Expression:
    cast = exp.Cast(this=value, to=exp.DataType.build(duckdb_type, dialect="duckdb"))
    return exp.Alias(this=cast, alias=exp.to_identifier(name, quoted=True))


def _typed_null(name: str, duckdb_type: str) -> exp.Expression:
    return _cast(exp.null(), name, duckdb_type)
