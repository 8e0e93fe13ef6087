"""Fixtures of the cleansing tests: running a plan on DuckDB over a small raw table, a small city."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from gongshu.city import CityResult, generate_city
from gongshu.cleanse import CleansePlan, ColumnBinding, plan_table

ROW = "_row"
CITY_PERSONS = 3_000
CITY_SEED = 11


def raw_table(columns: dict[str, Sequence[str | None]]) -> pa.Table:
    """A raw table of VARCHAR columns with ``_row`` numbering the rows."""
    table = pa.table({name: pa.array(list(values), pa.string()) for name, values in columns.items()})
    return table.append_column(ROW, pa.array(range(table.num_rows), pa.int64()))


def run(plan: CleansePlan, table: pa.Table) -> list[dict[str, Any]]:
    """``plan.checked`` over ``table`` on DuckDB: one dict per row (outputs, derived, flags), in row order."""
    con = duckdb.connect()
    con.register("raw", table)
    rows = con.execute(plan.sql(plan.checked("raw", keep=[ROW]))).to_arrow_table().to_pylist()
    return sorted(rows, key=lambda r: int(r[ROW]))


def run_one(binding: ColumnBinding, values: Sequence[str | None]) -> list[dict[str, Any]]:
    """Standardise one column of raw ``values`` (named as the binding's source)."""
    assert binding.source is not None
    return run(plan_table([binding], infer=False), raw_table({binding.source: values}))


def failed(row: dict[str, Any], severity: str | None = None, plan: CleansePlan | None = None) -> set[str]:
    """The flags that are TRUE in a row of :func:`run`, as ``column__RULE`` names."""
    flags = {k for k, v in row.items() if v is True and "__" in k and k.rsplit("__", 1)[1].isupper()}
    if severity and plan:
        wanted = {f"{c.column}__{c.rule_id}" for c in plan.checks if c.severity == severity}
        flags &= wanted
    return flags


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> CityResult:
    """A small synthetic city (3,000 persons) generated once per session."""
    out: Path = tmp_path_factory.mktemp("cleanse-city")
    return generate_city(out, persons=CITY_PERSONS, seed=CITY_SEED)
