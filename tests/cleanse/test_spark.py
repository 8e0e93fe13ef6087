"""Engine conformance: the same plan compiled for Spark SQL gives DuckDB's outputs and flags.

Runs pyspark in local mode (one core, no UI, no extra jars, loopback only). Skipped when Java or
pyspark is missing, except under ``GONGSHU_REQUIRE_SERVICES=1``, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from gongshu.city import CityResult
from gongshu.cleanse import CleansePlan, ColumnBinding, plan_table
from tests.cleanse.city_sources import city_sources
from tests.cleanse.conftest import ROW, raw_table, run
from tests.cleanse.test_standardise import CASES

pytestmark = pytest.mark.slow


def _unavailable(reason: str) -> None:
    if os.environ.get("GONGSHU_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}; GONGSHU_REQUIRE_SERVICES=1 forbids skipping")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _unavailable("Java is not installed (pyspark needs a JVM)")
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        _unavailable(f"pyspark is not installed ({error})")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("gongshu-cleanse-conformance")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    # wide plans can exceed Janino's 64 KB method limit; Spark then logs an ERROR and falls back
    # to interpreted evaluation of that stage, with the same results
    session.sparkContext.setLogLevel("FATAL")
    yield session
    session.stop()


def on_spark(spark: Any, plan: CleansePlan, table: pa.Table) -> list[dict[str, Any]]:
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    schema = StructType(
        [StructField(n, LongType() if n == ROW else StringType()) for n in table.column_names]
    )
    rows = [tuple(r[n] for n in table.column_names) for r in table.to_pylist()]
    spark.createDataFrame(rows, schema).createOrReplaceTempView("raw")
    result = [r.asDict() for r in spark.sql(plan.sql(plan.checked("raw", keep=[ROW]), "spark")).collect()]
    return sorted(result, key=lambda r: int(r[ROW]))


def assert_same(spark: Any, plan: CleansePlan, table: pa.Table) -> int:
    duck, sparked = run(plan, table), on_spark(spark, plan, table)
    assert len(duck) == len(sparked) == table.num_rows
    differences = [
        (d[ROW], key, d[key], s[key])
        for d, s in zip(duck, sparked, strict=True)
        for key in d
        if d[key] != s[key]
    ]
    assert differences == []
    return sum(1 for row in duck for key, value in row.items() if value is True)


def test_hand_made_cases_agree(spark: Any) -> None:
    """The cases of test_standardise: one column per distinct binding, its raw values as rows."""
    bindings: dict[ColumnBinding, list[str | None]] = {}
    for binding, raw, _expected, _rules in CASES:
        bindings.setdefault(binding, [None, ""]).append(raw)
    depth = max(len(v) for v in bindings.values())
    columns = {f"c{i}": [*v, *[None] * (depth - len(v))] for i, v in enumerate(bindings.values())}
    renamed = [
        ColumnBinding(f"c{i}", f"c{i}", b.element, b.type, b.length, rules=b.rules)
        for i, b in enumerate(bindings)
    ]
    assert assert_same(spark, plan_table(renamed, infer=False), raw_table(columns)) > 30


@pytest.mark.parametrize(
    "source_id", ["GA.population", "SCJG.enterprise", "GHZY.address", "JT.vehicle", "RS.insurance"]
)
def test_city_sources_agree(spark: Any, city: CityResult, source_id: str) -> None:
    source = next(s for s in city_sources(city) if s.id == source_id)
    plan = plan_table(source.bindings)
    assert assert_same(spark, plan, source.table.slice(0, 600)) > 0
