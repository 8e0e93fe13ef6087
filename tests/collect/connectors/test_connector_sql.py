"""SQL sources on SQLite and on the real PostgreSQL and MariaDB of 127.0.0.1.

Incremental extraction is checked end to end: a first full read, then inserts and updates with
later cursor values, then a read from the committed cursor that returns exactly the new and
changed rows; an integer cursor proves values compare in the column's type, not as text.
"""

from __future__ import annotations

import datetime as dt
import decimal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from gongshu.collect.connectors import SqlSource, extract, parse_source
from gongshu.errors import ConfigError, NotFound, SourceUnavailable, ValidationFailed
from tests.collect.connectors.support import Run, rows

T0 = dt.datetime(2025, 1, 1, 8, 0, 0)


def stamp(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours, microseconds=123456 if hours % 2 else 0)


class Db:
    """A database of one backend with the table ``人口`` (Chinese name, quoted everywhere)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url)
        self.meta = sa.MetaData()
        self.table = sa.Table(
            "人口",
            self.meta,
            sa.Column("id", sa.Integer),
            sa.Column("姓名", sa.String(50)),
            sa.Column("version", sa.Integer),
            sa.Column("amount", sa.Numeric(10, 2)),
            sa.Column("updated", sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")),
        )
        self.meta.create_all(self.engine)

    def insert(self, *records: tuple[int, str | None, int, str | None, dt.datetime | None]) -> None:
        keys = ("id", "姓名", "version", "amount", "updated")
        values = [
            dict(zip(keys, (i, n, v, decimal.Decimal(a) if a else None, u), strict=True))
            for i, n, v, a, u in records
        ]
        with self.engine.begin() as conn:
            conn.execute(self.table.insert(), values)

    def touch(self, record_id: int, when: dt.datetime, version: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                self.table.update().where(self.table.c.id == record_id).values(updated=when, version=version)
            )

    def execute(self, statement: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(statement))


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    elif request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = request.getfixturevalue("mariadb_url")
    database = Db(url)
    yield database
    database.engine.dispose()


def spec(db: Db, **extra: object) -> dict[str, object]:
    return {"kind": "sql", "url": db.url, "table": "人口", **extra}


def when(text: str | None) -> dt.datetime:
    assert text is not None
    return dt.datetime.fromisoformat(text)


def test_incremental_returns_exactly_the_new_and_changed_rows(db: Db, run: Run) -> None:
    db.insert(
        (1, "张三", 1, "10.50", stamp(1)),
        (2, "李四", 1, None, stamp(3)),
        (3, None, 1, "0.00", stamp(2)),
        (4, "无时间", 1, "1.00", None),
    )
    first = run(spec(db, mode="incremental", cursor="updated"))
    assert [r[0] for r in rows(first)] == ["4", "1", "3", "2"]  # ordered by the cursor, NULL first
    assert when(first.cursor_max) == stamp(3)
    assert first.columns == ["id", "姓名", "version", "amount", "updated"]
    by_id = {r[0]: r for r in rows(first)}
    assert by_id["1"][1:3] == ("张三", "1") and by_id["3"][1] is None and by_id["2"][3] is None
    assert decimal.Decimal(str(by_id["1"][3])) == decimal.Decimal("10.50")  # SQLite keeps 10.5 as REAL

    db.insert((5, "王五", 1, "5.00", stamp(5)), (6, "赵六", 1, "6.00", stamp(4)))
    db.touch(1, stamp(6), version=2)
    second = run(spec(db, mode="incremental", cursor="updated"), cursor=first.cursor_max)
    assert [(r[0], r[2]) for r in rows(second)] == [("6", "1"), ("5", "1"), ("1", "2")]
    assert when(second.cursor_max) == stamp(6)

    third = run(spec(db, mode="incremental", cursor="updated"), cursor=second.cursor_max)
    assert third.rows_read == 0 and third.cursor_max == second.cursor_max


def test_an_integer_cursor_compares_as_a_number(db: Db, run: Run) -> None:
    db.insert(*[(i, f"p{i}", i, None, None) for i in range(1, 13)])
    result = run(spec(db, mode="incremental", cursor="version", columns=["version", "id"]), cursor="9")
    assert rows(result) == [("10", "10"), ("11", "11"), ("12", "12")]  # as text, "10" < "9"
    assert result.cursor_max == "12"
    assert result.columns == ["version", "id"]


def test_full_mode_reads_everything_and_ignores_the_state(db: Db, run: Run) -> None:
    db.insert((1, "张三", 1, "1.00", stamp(1)), (2, "李四", 1, "2.00", stamp(2)))
    result = run(spec(db), cursor="2099-01-01 00:00:00")
    assert sorted(str(r[0]) for r in rows(result)) == ["1", "2"]
    assert result.cursor_max is None
    assert result.sources == ["人口"] and rows(result, meta=True)[0][-1] == "人口"
    assert result.fingerprint == run(spec(db)).fingerprint  # the same data, the same fingerprint
    assert set(result.source_types) == set(result.columns)


def test_unknown_tables_and_columns_are_clear_errors(db: Db, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        extract(parse_source(spec(db) | {"table": "nope"}), tmp_path / "a", batch_id="b")
    with pytest.raises(ValidationFailed) as error:
        extract(parse_source(spec(db, columns=["id", "ghost"], cursor="id")), tmp_path / "b", batch_id="b")
    assert "ghost" in error.value.problems["columns"][0]
    with pytest.raises(ValidationFailed) as error:
        extract(parse_source(spec(db, mode="incremental", cursor="gone")), tmp_path / "c", batch_id="b")
    assert list(error.value.problems) == ["cursor"]


def test_quoted_names_are_safe(run: Run, tmp_path: Path, postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text('CREATE SCHEMA "部门"'))
        conn.execute(sa.text('CREATE TABLE "部门"."we""ird; drop" ("a""b" text, "C" numeric, "c" text)'))
        conn.execute(
            sa.text(
                """INSERT INTO "部门"."we""ird; drop" VALUES ('x', 123456789012345678901234.5678, ''), """
                """(NULL, 'NaN', NULL)"""
            )
        )
    engine.dispose()
    result = run({"kind": "sql", "url": postgres_url, "schema": "部门", "table": 'we"ird; drop'})
    assert result.columns == ['a"b', "C", "c_2"]
    assert rows(result) == [("x", "123456789012345678901234.5678", ""), (None, "NaN", None)]
    assert result.source_types == {'a"b': "text", "C": "numeric", "c_2": "text"}
    assert result.sources == ['部门.we"ird; drop']


def test_postgres_renders_values_in_iso_and_utc(run: Run, postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("SET TimeZone = 'Asia/Shanghai'"))
        conn.execute(
            sa.text("CREATE TABLE t (d date, ts timestamptz, b boolean, arr int[], j jsonb, by bytea)")
        )
        conn.execute(
            sa.text(
                "INSERT INTO t VALUES ('2024-05-08', '2024-05-08 08:00:00+08', true, '{1,2}', "
                "'{\"k\": 1}', '\\x00ff')"
            )
        )
    engine.dispose()
    result = run({"kind": "sql", "url": postgres_url, "table": "t"})
    assert rows(result) == [("2024-05-08", "2024-05-08 00:00:00+00", "t", "{1,2}", '{"k": 1}', "\\x00ff")]


def test_mariadb_renders_values_as_the_server_does(run: Run, mariadb_url: str) -> None:
    engine = sa.create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (d date, f double, b bit(1), v varbinary(4), ok tinyint(1))"))
        conn.execute(sa.text("INSERT INTO t VALUES ('2024-05-08', 1e20, b'1', x'00ff', 1)"))
    engine.dispose()
    result = run({"kind": "sql", "url": mariadb_url, "table": "t"})
    assert rows(result) == [("2024-05-08", "1e20", "1", "\\x00ff", "1")]
    assert result.source_types == {
        "d": "date",
        "f": "double",
        "b": "bit(1)",
        "v": "varbinary(4)",
        "ok": "tinyint(1)",
    }


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://root@127.0.0.1:1/x", "mysql+pymysql://root@127.0.0.1:1/x"],
    ids=["postgresql", "mysql"],
)
def test_a_server_that_is_down_is_unavailable_quickly(tmp_path: Path, url: str) -> None:
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="cannot connect"):
        extract(
            parse_source({"kind": "sql", "url": url, "table": "t", "timeout_s": 3}), tmp_path, batch_id="b"
        )
    assert time.monotonic() - started < 3


def test_a_missing_sqlite_file_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match="does not exist"):
        extract(
            parse_source({"kind": "sql", "url": f"sqlite:///{tmp_path}/no.sqlite", "table": "t"}),
            tmp_path,
            batch_id="b",
        )


def test_a_slow_postgres_source_times_out(postgres_url: str, tmp_path: Path) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("CREATE VIEW slow AS SELECT g AS n, pg_sleep(2)::text AS z FROM generate_series(1, 3) g")
        )
    engine.dispose()
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match=r"did not answer within 0\.5 s"):
        extract(
            parse_source({"kind": "sql", "url": postgres_url, "table": "slow", "timeout_s": 0.5}),
            tmp_path,
            batch_id="b",
        )
    assert time.monotonic() - started < 2.5
    assert list(tmp_path.glob("*.parquet")) == []


def test_a_slow_mariadb_source_times_out(mariadb_url: str, tmp_path: Path) -> None:
    engine = sa.create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE base (n int)"))
        conn.execute(sa.text("INSERT INTO base VALUES (1), (2), (3)"))
        conn.execute(sa.text("CREATE VIEW slow AS SELECT n, SLEEP(2) AS z FROM base"))
    engine.dispose()
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match=r"did not answer within 0\.5 s"):
        extract(
            parse_source({"kind": "sql", "url": mariadb_url, "table": "slow", "timeout_s": 0.5}),
            tmp_path,
            batch_id="b",
        )
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://nobody_here:${GS_TEST_SECRET}@127.0.0.1:5432/postgres",
        "mysql+pymysql://nobody_here:${GS_TEST_SECRET}@127.0.0.1:3306/test",
    ],
    ids=["postgresql", "mariadb"],
)
def test_passwords_come_from_the_environment_and_never_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    source = parse_source({"kind": "sql", "url": url, "table": "t"})
    with pytest.raises(ConfigError, match="GS_TEST_SECRET"):
        extract(source, tmp_path, batch_id="b")
    monkeypatch.setenv("GS_TEST_SECRET", "s3cret-value")
    with pytest.raises(SourceUnavailable) as error:
        extract(source, tmp_path, batch_id="b")
    assert "s3cret-value" not in str(error.value) and "s3cret-value" not in repr(error.value)
    assert "***" in str(error.value)
    assert isinstance(source, SqlSource) and source.url == url  # the spec keeps the reference, not the value


def test_sqlite_blobs_and_legacy_gbk_text(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "legacy.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (name TEXT, photo BLOB, n INTEGER, x)")
    conn.execute(
        "INSERT INTO t VALUES (CAST(? AS TEXT), ?, 10, 2.5)", ("张三".encode("gb18030"), b"\x00\xff")
    )
    conn.execute("INSERT INTO t VALUES ('李四', NULL, NULL, 'text')")
    conn.commit()
    conn.close()
    result = run({"kind": "sql", "url": f"sqlite:///{path}", "table": "t"})
    assert rows(result) == [("张三", "\\x00ff", "10", "2.5"), ("李四", None, None, "text")]
    assert result.source_types == {"name": "TEXT", "photo": "BLOB", "n": "INTEGER", "x": "ANY"}
    assert any("decoded as GB18030" in note for note in result.notes)
