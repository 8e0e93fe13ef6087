"""Parquet files: every column cast to text by DuckDB (nested values as JSON text).

``source_types`` are the file's own (declared) types, e.g. ``BIGINT``, ``DATE``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from gongshu.collect.connectors.errors import SourceFailed
from gongshu.collect.connectors.filebase import Context, FileInput, FileOutcome, target_literal
from gongshu.collect.connectors.output import unique_names
from gongshu.collect.sqlbits import ident

_NESTED = ("STRUCT", "MAP", "UNION")


def inspect(ctx: Context, path: Path, name: str) -> FileInput:
    try:
        described = ctx.con.execute(
            "DESCRIBE SELECT * FROM read_parquet($path)", {"path": str(path)}
        ).fetchall()
    except duckdb.Error as error:
        raise SourceFailed(
            f"{name} 不是可读的 Parquet 文件 / {name} is not a readable Parquet file: {error}"
        ) from None
    names = [str(row[0]) for row in described]
    columns, renamed = unique_names(names)
    types = {c: str(row[1]) for c, row in zip(columns, described, strict=True)}
    mapping = dict(zip(columns, names, strict=True))
    return FileInput(path, name, "parquet", columns, mapping, renamed, types=types)


def _text(column: str, declared: str) -> str:
    if declared.startswith(_NESTED) or declared.endswith("]"):
        return f"CAST(to_json({ident(column)}) AS VARCHAR)"
    return f"CAST({ident(column)} AS VARCHAR)"


def write(ctx: Context, item: FileInput, columns: list[str]) -> FileOutcome:
    parts = []
    for column in columns:
        source = item.mapping.get(column)
        expr = _text(source, item.types[column]) if source is not None else "CAST(NULL AS VARCHAR)"
        parts.append(f"{expr} AS {ident(column)}")
    target = ctx.out.next_file()
    try:
        row = ctx.con.execute(  # identifiers quoted by sqlglot, values bound
            f"COPY (SELECT {', '.join(parts)}, $batch AS _batch_id, $source AS _source "  # noqa: S608
            "FROM read_parquet($path)) "
            f"TO {target_literal(target)} (FORMAT parquet)",
            {"batch": ctx.batch_id, "source": item.name, "path": str(item.path)},
        ).fetchone()
    except duckdb.Error as error:
        raise SourceFailed(f"{item.name} 无法读取 / {item.name} cannot be read: {error}") from None
    return FileOutcome([target], int(row[0]) if row else 0, [], [], item.types)
