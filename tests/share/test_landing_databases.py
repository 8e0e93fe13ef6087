"""Landing and district return (属地返还) into real PostgreSQL and MariaDB, reconciled on every run.

The same library against both databases on 127.0.0.1 (skipped without them, failed under
``GONGSHU_REQUIRE_SERVICES=1``): the upsert dialects, the ``_gongshu_landing`` checkpoint in the
rows' transaction, a crash after the target committed, and reconciliation that reports a target
someone changed — a value, a deleted row, an extra row — until a full re-delivery repairs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from gongshu.cli.share_delivery_cmd import delivery_app
from gongshu.orgs.roles import SYSTEM
from gongshu.platform import Platform
from gongshu.share import landing, returns
from tests.share.conftest import POPULATION, grant_for, principal
from tests.share.test_landing import (
    HUANGPU,
    change_population,
    current_rows,
    expected_landing,
    remount_population,
)


class Killed(BaseException):
    """Stands for ``kill -9`` in-process (test_landing kills a real child process at the same point)."""


def kill(point: str) -> None:
    if point == "landing_after_target_commit":
        raise Killed(point)


DISTRICTS = {"310101": "D310101", "310104": "D310104", "310105": "D310105"}


@pytest.fixture(scope="module")
def platform(share_platform: Platform) -> Platform:
    """The copy with its own population mount and district grants to three district data centres."""
    remount_population(share_platform)
    for organisation in DISTRICTS.values():
        grant_for(share_platform, consumer=organisation)
    return share_platform


@pytest.fixture(params=["postgresql", "mariadb"])
def database(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(kind, URL of a fresh empty database) for each backend."""
    fixture = "postgres_url" if request.param == "postgresql" else "mariadb_url"
    yield request.param, request.getfixturevalue(fixture)


def table_rows(url: str, table: str) -> dict[str, dict[str, Any]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(sa.table(table, *(sa.column(c) for c in columns(engine, table))))
        ).mappings()
        found = {row["_key_record_id"]: dict(row) for row in rows}
    engine.dispose()
    return found


def columns(engine: sa.Engine, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(engine).get_columns(table)]


def bookkeeping(url: str) -> list[tuple[Any, ...]]:
    """The target's own record of what it holds: table, delivery, grant, checkpoint."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        query = (
            "SELECT table_name, delivery_id, grant_code, checkpoint FROM _gongshu_landing ORDER BY table_name"
        )
        found = [tuple(row) for row in conn.execute(sa.text(query))]
    engine.dispose()
    return found


def execute(url: str, statement: str, **values: Any) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text(statement), values)
    engine.dispose()


def test_a_landing_lands_incrementally_and_survives_a_crash(
    platform: Platform, database: tuple[str, str]
) -> None:
    kind, url = database
    consumer = principal(platform, "d310101_consumer_t")
    grant = grant_for(platform, scenario=f"社区人口服务（{kind}）")
    with platform.store.session() as session:
        delivery = landing.create_delivery(
            session, consumer, grant, kind=kind, target=url, table="population"
        ).id
    first = landing.run_delivery(platform, consumer, delivery)
    assert first.reconciled and first.rows_upserted == len(current_rows(platform, HUANGPU))
    assert table_rows(url, "population") == expected_landing(platform, HUANGPU)

    changed = sorted(current_rows(platform, HUANGPU))[7]
    change_population(platform, {changed: {"name": "上官增量"}})
    second = landing.run_delivery(platform, consumer, delivery)
    assert (second.from_seq, second.rows_upserted, second.rows_deleted, second.reconciled) == (
        first.to_seq, 1, 0, True
    )  # fmt: skip

    change_population(platform, {changed: {"name": "上官崩溃"}})
    with pytest.MonkeyPatch.context() as patch, pytest.raises(Killed):
        patch.setattr(
            landing, "_crash_point", kill
        )  # the rows and their checkpoint committed; the store did not
        landing.run_delivery(platform, consumer, delivery)
    assert bookkeeping(url) == [("population", delivery, grant, second.to_seq + 1)]
    resumed = landing.run_delivery(platform, consumer, delivery)
    assert resumed.detail["checkpoint"] == {"store": second.to_seq, "target": second.to_seq + 1}
    assert (resumed.from_seq, resumed.rows_upserted, resumed.reconciled) == (second.to_seq + 1, 0, True)
    assert table_rows(url, "population") == expected_landing(platform, HUANGPU)


def test_district_return_reconciles_and_reports_a_tampered_target(
    platform: Platform, database: tuple[str, str]
) -> None:
    kind, url = database
    targets = {district: (kind, url) for district in DISTRICTS}
    results = returns.district_return(platform, SYSTEM, POPULATION, targets=targets)
    assert [(r.district, r.state, r.reconciled) for r in results] == [(d, "done", True) for d in DISTRICTS]
    tables = {r.district: str(r.table) for r in results}
    for result in results:
        assert table_rows(url, tables[result.district]) == expected_landing(platform, result.district)
        assert result.source_rows == result.target_rows == len(current_rows(platform, result.district)) > 0

    huangpu, xuhui, changning = (sorted(table_rows(url, tables[d])) for d in DISTRICTS)
    execute(url, f"UPDATE {tables['310101']} SET sex_code = '9' WHERE _key_record_id = :k", k=huangpu[0])
    execute(url, f"DELETE FROM {tables['310104']} WHERE _key_record_id = :k", k=xuhui[0])
    execute(url, f"INSERT INTO {tables['310105']} (_key_record_id, record_id) VALUES ('RK9', 'RK9')")

    again = {r.district: r for r in returns.district_return(platform, SYSTEM, POPULATION, targets=targets)}
    assert {d: (r.state, r.reconciled) for d, r in again.items()} == {d: ("done", False) for d in DISTRICTS}
    differences = {d: r.detail["difference"] for d, r in again.items()}
    assert differences["310101"] | {"examples": None} == {
        "missing": 0,
        "extra": 0,
        "changed": 1,
        "examples": None,
    }
    assert differences["310101"]["examples"]["changed"] == [huangpu[0]]
    assert (differences["310104"]["missing"], differences["310104"]["examples"]["missing"]) == (1, [xuhui[0]])
    assert (differences["310105"]["extra"], differences["310105"]["examples"]["extra"]) == (1, ["RK9"])
    assert again["310104"].target_rows == (again["310104"].source_rows or 0) - 1 and changning

    cli = CliRunner().invoke(
        delivery_app, ["run", str(again["310101"].delivery), "--data-dir", str(platform.settings.data_dir)]
    )
    assert cli.exit_code == landing.NOT_RECONCILED_EXIT, cli.output  # the difference is reported, not fixed

    repaired = returns.district_return(platform, SYSTEM, POPULATION, targets=targets, full=True)
    assert [(r.state, r.reconciled) for r in repaired] == [("done", True)] * len(DISTRICTS)
    assert table_rows(url, tables["310105"]) == expected_landing(platform, "310105")
