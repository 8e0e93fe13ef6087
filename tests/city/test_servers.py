"""PostgreSQL and MariaDB targets hold exactly what the SQLite files hold."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from gongshu.city import TargetUnavailable, generate_city


def _sqlite_rows(path: Path, table: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    rows = conn.execute(f'select * from "{table}" order by rowid').fetchall()
    conn.close()
    return rows


def _server_rows(url: str, table: str, key: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(f"select * from {table}"))]
    engine.dispose()
    return rows


@pytest.mark.postgres
def test_postgres_population_matches_sqlite(tmp_path: Path, postgres_url: str) -> None:
    local = generate_city(tmp_path / "a", persons=800, seed=5, only=["GA"])
    remote = generate_city(tmp_path / "b", persons=800, seed=5, only=["GA"], pg_url=postgres_url)
    info = remote.sources[0]
    assert info.kind == "postgresql" and "@" in info.location
    expected = _sqlite_rows(tmp_path / "a" / local.sources[0].location, "population")
    got = _server_rows(postgres_url, "population", "record_id")
    assert sorted(map(repr, got)) == sorted(map(repr, expected))
    assert not (tmp_path / "b" / "ga_population.sqlite").exists()


@pytest.mark.mariadb
def test_mariadb_enterprise_matches_sqlite(tmp_path: Path, mariadb_url: str) -> None:
    local = generate_city(tmp_path / "a", persons=1500, seed=5, only=["SCJG"])
    remote = generate_city(tmp_path / "b", persons=1500, seed=5, only=["SCJG"], mysql_url=mariadb_url)
    assert remote.sources[0].kind == "mysql"
    expected = _sqlite_rows(tmp_path / "a" / local.sources[0].location, "enterprise")
    got = _server_rows(mariadb_url, "enterprise", "reg_no")
    assert sorted(map(repr, got)) == sorted(map(repr, expected))


def test_unreachable_server(tmp_path: Path) -> None:
    with pytest.raises(TargetUnavailable) as caught:
        generate_city(
            tmp_path, persons=10, only=["GA"], pg_url="postgresql+psycopg://nobody:secret@127.0.0.1:1/none"
        )
    assert "secret" not in caught.value.message
