"""The lake: tables in zones, schema evolution, DuckDB-written batches committed idempotently, time travel."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from lake_support import commit, write

from gongshu.config import load_settings
from gongshu.errors import Conflict, NotFound, ValidationFailed
from gongshu.lake import Lake, SchemaChange, SchemaConflict, TableRef, Zone, open_lake

POPULATION = TableRef(Zone.RAW, "ga_population")

#: One row of every type the pipeline writes, as DuckDB writes them.
ALL_TYPES = """
SELECT * FROM (VALUES
    ('310101199001011234', '张三', 1::BIGINT, 30::INTEGER, DATE '1990-01-01',
     TIMESTAMP '2026-11-21 08:30:00.123456', TIMESTAMPTZ '2026-11-21 08:30:00+08', 1.5::DOUBLE,
     12345.67::DECIMAL(18,2), true),
    ('31010119900101567X', '李四·阿卜杜', 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS t(id_number, name, seq, age, birth_date, updated_at, seen_at, score, income, alive)
"""


def test_table_refs_are_validated() -> None:
    ref = TableRef.parse("standard.ga_population")
    assert ref == TableRef(Zone.STANDARD, "ga_population") and str(ref) == "standard.ga_population"
    assert [zone.label for zone in Zone] == ["原始库", "标准库", "问题数据"]
    for bad in ["ga_population", "lake.ga_population", "raw.GA", "raw.1x", "raw.a-b", "raw." + "a" * 64]:
        with pytest.raises(ValidationFailed):
            TableRef.parse(bad)


def test_create_then_evolve_by_name(lake: Lake) -> None:
    assert not lake.exists(POPULATION) and lake.tables() == []
    created = lake.ensure_table(POPULATION, pa.schema([("id_number", pa.string()), ("age", pa.int32())]))
    assert created == [SchemaChange("added", "id_number", "string"), SchemaChange("added", "age", "int")]
    assert lake.ensure_table(POPULATION, pa.schema([("age", pa.int32())])) == []  # a subset: nothing
    changes = lake.ensure_table(POPULATION, pa.schema([("age", pa.int64()), ("地址", pa.string())]))
    assert changes == [SchemaChange("widened", "age", "long", "int"), SchemaChange("added", "地址", "string")]
    assert str(changes[0]) == "widened age int → long"
    schema = lake.schema(POPULATION)
    assert schema.names == ["id_number", "age", "地址"] and schema.field("age").type == pa.int64()
    assert all(field.nullable for field in schema)  # emptiness is a quality rule, not a constraint
    with pytest.raises(SchemaConflict, match="id_number: string -> long"):
        lake.ensure_table(POPULATION, pa.schema([("id_number", pa.int64())]))
    assert lake.tables() == [POPULATION] and lake.tables(Zone.STANDARD) == []
    assert [c.duckdb_type for c in lake.columns(POPULATION)] == ["VARCHAR", "BIGINT", "VARCHAR"]


def test_bad_schemas_are_refused_with_every_problem(lake: Lake) -> None:
    schema = pa.schema(
        [("a.b", pa.string()), ("Name", pa.string()), ("name", pa.string()), ("n", pa.uint64())]
    )
    with pytest.raises(ValidationFailed) as raised:
        lake.ensure_table(POPULATION, schema)
    problems = " ".join(raised.value.problems["schema"])
    assert "'a.b'" in problems and "differ only in case" in problems and "BIGINT" in problems
    for unsupported in [pa.timestamp("ns"), pa.null()]:
        with pytest.raises(ValidationFailed, match=r"not supported|unsupported type"):
            lake.ensure_table(POPULATION, pa.schema([("t", unsupported)]))
    assert not lake.exists(POPULATION)


def test_duckdb_written_files_read_back_exactly(lake: Lake, con: duckdb.DuckDBPyConnection) -> None:
    info = commit(lake, POPULATION, "b1", ALL_TYPES, **{"gongshu.source": "ga"})
    assert (info.batch_id, info.added_records, info.added_files, info.total_records) == ("b1", 2, 1, 2)
    assert info.summary["gongshu.source"] == "ga" and info.operation == "append"
    assert info.committed_at.tzinfo is UTC
    # through Arrow: DuckDB's fetchall() would need pytz for TIMESTAMPTZ values
    expected = con.sql(ALL_TYPES).order("seq").to_arrow_table().to_pylist()
    assert lake.relation(con, POPULATION).order("seq").to_arrow_table().to_pylist() == expected
    assert expected[0]["income"] == Decimal("12345.67") and expected[1]["name"] == "李四·阿卜杜"
    [path] = lake.files(POPULATION)
    assert path.endswith("raw/ga_population/data/batch=b1/part-0.parquet") and Path(path).is_file()
    types = dict(
        zip(lake.relation(con, POPULATION).columns, lake.relation(con, POPULATION).types, strict=True)
    )
    assert str(types["income"]) == "DECIMAL(18,2)" and str(types["seen_at"]) == "TIMESTAMP WITH TIME ZONE"


def test_a_batch_commits_once_however_often_it_is_retried(lake: Lake, con: duckdb.DuckDBPyConnection) -> None:
    first = commit(lake, POPULATION, "b1", "SELECT range AS id FROM range(5)")
    again = lake.commit_files(POPULATION, lake.batch_files(POPULATION, "b1"), batch_id="b1")
    assert again == first and len(lake.history(POPULATION)) == 1
    assert lake.relation(con, POPULATION).count("*").fetchone() == (5,)
    assert lake.committed_batch(POPULATION, "b1") == first
    assert lake.committed_batch(POPULATION, "b2") is None
    assert lake.committed_batch(TableRef(Zone.RAW, "missing"), "b1") is None


def test_an_empty_batch_is_still_one_snapshot(lake: Lake, con: duckdb.DuckDBPyConnection) -> None:
    commit(lake, POPULATION, "b1", "SELECT range AS id FROM range(3)")
    empty = lake.commit_files(POPULATION, [], batch_id="b2")
    assert (empty.batch_id, empty.added_records, empty.added_files, empty.total_records) == ("b2", 0, 0, 3)
    assert lake.commit_files(POPULATION, [], batch_id="b2") == empty
    assert lake.committed_batch(POPULATION, "b2") == empty
    assert [s.batch_id for s in lake.history(POPULATION)] == ["b1", "b2"]
    assert lake.relation(con, POPULATION).count("*").fetchone() == (3,)


def test_history_and_time_travel(lake: Lake, con: duckdb.DuckDBPyConnection) -> None:
    lake.ensure_table(POPULATION, pa.schema([("id", pa.int64())]))
    assert lake.snapshot_at(POPULATION) is None and lake.history(POPULATION) == []
    assert lake.relation(con, POPULATION).fetchall() == []
    assert lake.snapshot_at(POPULATION, as_of=datetime.now(UTC)) is None  # empty table: nothing yet
    first = commit(lake, POPULATION, "b1", "SELECT 1::BIGINT AS id")
    time.sleep(0.01)
    second = commit(lake, POPULATION, "b2", "SELECT 2::BIGINT AS id, '浦东' AS district")
    time.sleep(0.01)
    third = commit(lake, POPULATION, "b3", "SELECT 3::BIGINT AS id, '黄浦' AS district")

    history = lake.history(POPULATION)
    assert [s.snapshot_id for s in history] == [first.snapshot_id, second.snapshot_id, third.snapshot_id]
    assert history[1].parent_id == first.snapshot_id and [s.total_records for s in history] == [1, 2, 3]
    assert lake.snapshot_at(POPULATION) == third

    between = first.committed_at + (second.committed_at - first.committed_at) / 2
    assert lake.snapshot_at(POPULATION, as_of=between) == first
    assert lake.snapshot_at(POPULATION, as_of=second.committed_at) == second
    at_first = lake.relation(con, POPULATION, as_of=between)
    assert at_first.columns == ["id"] and at_first.fetchall() == [(1,)]  # the schema of that snapshot
    at_second = lake.relation(con, POPULATION, snapshot_id=second.snapshot_id).order("id").fetchall()
    assert at_second == [(1, None), (2, "浦东")]  # the column added later is NULL in older files
    assert lake.files(POPULATION, snapshot_id=first.snapshot_id) == lake.files(POPULATION, as_of=between)
    assert len(lake.files(POPULATION)) == 3
    lake.ensure_table(POPULATION, pa.schema([("checked", pa.bool_())]))  # no commit since
    assert lake.relation(con, POPULATION).columns == ["id", "district", "checked"]
    assert lake.relation(con, POPULATION, snapshot_id=third.snapshot_id).columns == ["id", "district"]

    with pytest.raises(NotFound, match="no snapshot yet at"):
        lake.snapshot_at(POPULATION, as_of=first.committed_at - timedelta(seconds=1))
    with pytest.raises(NotFound, match="has no snapshot 42"):
        lake.relation(con, POPULATION, snapshot_id=42)
    with pytest.raises(ValidationFailed, match="time zone"):
        lake.snapshot_at(POPULATION, as_of=datetime(2026, 1, 1))  # naive on purpose
    with pytest.raises(ValidationFailed, match="not both"):
        lake.snapshot_at(POPULATION, snapshot_id=first.snapshot_id, as_of=between)


def test_files_that_do_not_fit_are_refused(lake: Lake, tmp_path: Path) -> None:
    commit(lake, POPULATION, "b1", "SELECT 1::BIGINT AS id, 'a' AS name")
    stray = tmp_path / "elsewhere.parquet"
    duckdb.sql("SELECT 2::BIGINT AS id").write_parquet(str(stray))
    with pytest.raises(ValidationFailed, match="outside the batch directory"):
        lake.commit_files(POPULATION, [stray], batch_id="b2")
    with pytest.raises(ValidationFailed, match="is not a file"):
        lake.commit_files(POPULATION, [lake.data_dir(POPULATION, "b2") / "nope.parquet"], batch_id="b2")
    extra = write(lake, POPULATION, "b2", "SELECT 2::BIGINT AS id, 'x' AS nickname")
    with pytest.raises(SchemaConflict, match="no column nickname"):
        lake.commit_files(POPULATION, [extra], batch_id="b2")
    narrowing = write(lake, POPULATION, "b3", "SELECT 'three' AS id")
    with pytest.raises(SchemaConflict, match="id is string in the files but long in the table"):
        lake.commit_files(POPULATION, [narrowing], batch_id="b3")
    garbage = lake.data_dir(POPULATION, "b4") / "part-0.parquet"
    garbage.write_bytes(b"not parquet at all")
    with pytest.raises(ValidationFailed, match="not readable Parquet"):
        lake.commit_files(POPULATION, [garbage], batch_id="b4")
    with pytest.raises(ValidationFailed, match="written by Iceberg or gongshu"):
        lake.commit_files(POPULATION, [], batch_id="b5", properties={"added-records": "9"})
    with pytest.raises(ValidationFailed, match="invalid batch id"):
        lake.data_dir(POPULATION, "../b6")
    with pytest.raises(NotFound, match=r"no lake table raw\.missing"):
        lake.commit_files(TableRef(Zone.RAW, "missing"), [], batch_id="b1")
    assert [s.batch_id for s in lake.history(POPULATION)] == ["b1"]


def test_a_narrower_file_type_is_read_as_the_table_type(lake: Lake, con: duckdb.DuckDBPyConnection) -> None:
    commit(lake, POPULATION, "b1", "SELECT 1::BIGINT AS id")
    small = write(lake, POPULATION, "b2", "SELECT 2::INTEGER AS id")  # int fits a long column
    lake.commit_files(POPULATION, [small], batch_id="b2")
    relation = lake.relation(con, POPULATION)
    assert [str(t) for t in relation.types] == ["BIGINT"] and sorted(relation.fetchall()) == [(1,), (2,)]


def test_relation_quotes_names_and_picks_columns(lake: Lake, con: duckdb.DuckDBPyConnection) -> None:
    odd = TableRef(Zone.STANDARD, "odd_names")
    commit(lake, odd, "b1", """SELECT 1 AS "a ""quoted"" name", '甲' AS "姓名", 'x' AS "select" """)
    relation = lake.relation(con, odd, columns=["select", 'a "quoted" name'])
    assert relation.columns == ["select", 'a "quoted" name'] and relation.fetchall() == [("x", 1)]
    lake.view(con, odd, "odd view", columns=["姓名"])
    assert con.sql('SELECT * FROM "odd view"').fetchall() == [("甲",)]
    with pytest.raises(ValidationFailed, match="no column 'nope'"):
        lake.relation(con, odd, columns=["nope"])


def test_a_file_with_hive_style_path_gets_no_extra_column(lake: Lake, con: duckdb.DuckDBPyConnection) -> None:
    # batch=<id>/ looks like a Hive partition; DuckDB must not add a "batch" column from it
    commit(lake, POPULATION, "b1", "SELECT 1 AS batch_no")
    assert lake.relation(con, POPULATION).columns == ["batch_no"]


def test_discard_and_drop(lake: Lake) -> None:
    commit(lake, POPULATION, "b1", "SELECT 1 AS id")
    write(lake, POPULATION, "b2", "SELECT 2 AS id")
    lake.discard_batch(POPULATION, "b2")
    assert lake.batch_files(POPULATION, "b2") == []
    with pytest.raises(Conflict, match="is committed"):
        lake.discard_batch(POPULATION, "b1")
    location = Path(lake.files(POPULATION)[0]).parents[2]
    lake.drop_table(POPULATION, purge=True)
    assert not lake.exists(POPULATION) and not location.exists()
    with pytest.raises(NotFound):
        lake.history(POPULATION)


def test_open_lake_keeps_the_catalog_in_the_metadata_database(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    with open_lake(settings) as lake:
        assert lake.warehouse == (tmp_path / "lake").resolve()
        commit(lake, POPULATION, "b1", "SELECT 1 AS id")
    engine = sa.create_engine(settings.metadata_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select table_namespace, table_name from iceberg_tables")).all()
    engine.dispose()
    assert rows == [("raw", "ga_population")]
    metadata = list((tmp_path / "lake" / "raw" / "ga_population" / "metadata").glob("*.metadata.json"))
    assert metadata, "table metadata lives beside the data files"


def test_spark_style_plain_parquet_reading_sees_the_committed_files(
    lake: Lake, con: duckdb.DuckDBPyConnection
) -> None:
    # What another engine reading a snapshot's files as Parquet gets: the same rows, no field ids
    # needed. Readers that infer Hive partitions from paths see batch=<id> as a column.
    commit(lake, POPULATION, "b1", "SELECT range AS id, 'n' || range AS name FROM range(4)")
    plain = pq.read_table(lake.files(POPULATION), partitioning=None)
    assert plain.num_rows == 4 and plain.column_names == ["id", "name"]
    assert pq.read_table(lake.files(POPULATION)).column("batch").to_pylist() == ["b1"] * 4
