"""Small, safe SQL-building helpers for the pipeline's DuckDB statements.

Department-supplied names (source columns, 信息项) and values never reach SQL by string pasting:
identifiers are quoted and literals rendered by sqlglot.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlglot import exp


def ident(name: str) -> str:
    """A quoted DuckDB identifier: ``ident('a"b') == '"a""b"'``."""
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def lit(value: str | int | float | None) -> str:
    """A DuckDB literal for ``value`` (strings escaped by sqlglot)."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return exp.Literal.string(value).sql("duckdb")
    return exp.Literal.number(value).sql("duckdb")


def idents(names: Iterable[str]) -> str:
    return ", ".join(ident(n) for n in names)


def parquet_list(files: Iterable[Path | str]) -> str:
    """``['a.parquet', 'b.parquet']`` as a DuckDB list literal."""
    return "[" + ", ".join(lit(str(f)) for f in files) + "]"
