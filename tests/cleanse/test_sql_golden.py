"""The generated SQL of one binding, per dialect, against golden files (snapshot test).

A deliberate change to the compiler updates the files: ``GONGSHU_UPDATE_GOLDEN=1 pytest tests/cleanse``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gongshu.cleanse import ColumnBinding, plan_table

GOLDEN = Path(__file__).parent / "golden"
BINDING = ColumnBinding("birth_date", "出生日期", "DE0104", "D", required=True)


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_generated_sql_matches_the_golden_file(dialect: str) -> None:
    plan = plan_table([BINDING])
    text = plan.sql(plan.checked("raw", keep=["_row"]), dialect) + "\n"
    path = GOLDEN / f"birth_date.{dialect}.sql"
    if os.environ.get("GONGSHU_UPDATE_GOLDEN") == "1":
        path.write_bytes(text.encode("utf-8"))
    # bytes, not text: DuckDB literals keep raw tab / CR / LF characters that newline translation changes
    assert path.read_bytes().decode("utf-8") == text, (
        f"{path.name} differs: GONGSHU_UPDATE_GOLDEN=1 to accept"
    )
