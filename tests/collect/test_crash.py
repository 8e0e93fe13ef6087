"""Crash injection: a load killed anywhere (kill -9) leaves nothing partial; the next run completes it.

Each case runs `gongshu collect run` in a child process, kills it — at a named point of the pipeline
(``GONGSHU_CRASH_AT``) or after a random delay with SIGKILL — then runs it again and checks the
zones hold exactly what an uninterrupted run of the same input holds: zero lost, zero duplicated.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from gongshu.city import write_person_csv
from gongshu.city.catalogue import catalogue_documents
from gongshu.collect import batches, mounts
from gongshu.collect.bench import POPULATION_ENTRY, population_csv_mount
from gongshu.collect.pipeline import CRASH_POINTS, run_mount
from gongshu.demo import publish_entry
from gongshu.engine import connect
from gongshu.lake import TableRef, Zone, open_lake
from gongshu.orgs.roles import SYSTEM
from tests.collect.pipeline_support import Setup

ROWS = 60_000


@pytest.fixture(scope="module")
def people_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("drop") / "people.csv"
    write_person_csv(path, rows=ROWS, seed=7)
    return path


def make(data_dir: Path, csv_path: Path) -> Setup:
    """A platform with 公安's population entry and the shipped population mount reading ``csv_path``."""
    setup = Setup(data_dir)
    document = next(d for d in catalogue_documents() if d["code"] == POPULATION_ENTRY)
    with setup.platform.store.session() as session:
        publish_entry(session, document)
        mounts.create_mount(
            session, SYSTEM, mounts.parse_mount_spec(population_csv_mount("people", csv_path))
        )
    return setup


def zones(setup: Setup, batch_id: str | None = None) -> dict[str, tuple[int, int]]:
    """(rows, distinct raw positions) per zone, of one batch when ``batch_id`` is given."""
    lake = open_lake(setup.platform.settings)
    con = connect()
    counts = {}
    for zone in Zone:
        ref = TableRef(zone, "people")
        if not lake.exists(ref):
            counts[zone.value] = (0, 0)
            continue
        lake.view(con, ref, "all_rows")
        relation = con.table("all_rows")
        if batch_id is not None:
            relation = relation.filter(
                duckdb.ColumnExpression("_batch_id") == duckdb.ConstantExpression(batch_id)
            )
        relation.create_view("t", replace=True)
        if zone is Zone.RAW:
            row = con.execute("SELECT count(*), count(*) FROM t").fetchone()
        else:
            row = con.execute("SELECT count(*), count(DISTINCT _row) FROM t").fetchone()
        assert row is not None
        counts[zone.value] = (int(row[0]), int(row[1]))
    return counts


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, people_csv: Path) -> dict[str, tuple[int, int]]:
    setup = make(tmp_path_factory.mktemp("reference"), people_csv)
    result = run_mount(setup.platform, SYSTEM, "people")
    assert result.balanced and result.rows_quarantined > 0
    return zones(setup, result.batch_id)


def collect(data_dir: Path, crash_at: str | None = None) -> subprocess.Popen[bytes]:
    env = dict(os.environ, GONGSHU_DATA_DIR=str(data_dir))
    env.pop("GONGSHU_CRASH_AT", None)
    if crash_at:
        env["GONGSHU_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [sys.executable, "-m", "gongshu.cli.main", "collect", "run", "people"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def check_completed(setup: Setup, reference: dict[str, tuple[int, int]], crashed_ids: set[str]) -> None:
    finish = collect(setup.data_dir)
    output = finish.communicate(timeout=300)[0].decode()
    assert finish.returncode == 0, output
    with setup.platform.store.session() as session:
        found, _ = batches.list_batches(session, setup.people["operator"], mount="people")
        committed = sorted((b for b in found if b.state == "committed"), key=lambda b: b.seq)
        assert not [b for b in found if b.state == "running"]
        assert committed and all(b.balanced for b in committed)
        first = committed[0]
        if crashed_ids:
            assert len(committed) == 1 and first.id in crashed_ids, "the rerun completes the crashed batch"
        # a kill that came after the load had committed leaves a finished batch: the rerun is a
        # new batch of the same file, which changes nothing in the standard zone
        assert all(b.rows_inserted == b.rows_updated == b.rows_deleted == 0 for b in committed[1:])
        first_id = first.id
    assert zones(setup, first_id) == reference


@pytest.mark.slow
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_at_each_point_is_completed_by_the_next_run(
    tmp_path: Path, people_csv: Path, reference: dict[str, tuple[int, int]], point: str
) -> None:
    setup = make(tmp_path / "data", people_csv)
    crashed = collect(setup.data_dir, crash_at=point)
    crashed.communicate(timeout=300)
    assert crashed.returncode == 137
    with setup.platform.store.session() as session:
        running = [b.id for b in batches.list_batches(session, setup.people["operator"], mount="people")[0]]
    check_completed(setup, reference, set(running))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_random_kill_9_loses_and_duplicates_nothing(
    tmp_path: Path, people_csv: Path, reference: dict[str, tuple[int, int]], seed: int
) -> None:
    setup = make(tmp_path / "data", people_csv)
    victim = collect(setup.data_dir)
    time.sleep(random.Random(seed).uniform(0.5, 6.0))
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=60)
    check_completed(setup, reference, set())
