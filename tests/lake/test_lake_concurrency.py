"""Concurrent commits: threads and processes, one table and many, all land exactly once."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable

import duckdb
import pyarrow as pa
import pytest
from lake_support import commit_in_process, write

from gongshu.lake import Lake, TableRef, Zone

SHARED = TableRef(Zone.RAW, "shared")
THREADS, COMMITS = 4, 5


def _run_together(workers: list[Callable[[], None]]) -> None:
    """Start every worker at once; re-raise the first failure."""
    barrier = threading.Barrier(len(workers))
    failures: list[BaseException] = []

    def run(work: Callable[[], None]) -> None:
        barrier.wait()
        try:
            work()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if failures:
        raise failures[0]


def _committer(lake: Lake, ref: TableRef, worker: int) -> Callable[[], None]:
    def work() -> None:
        for number in range(COMMITS):
            start = worker * 1000 + number * 10
            batch = f"w{worker}-{number}"
            path = write(lake, ref, batch, f"SELECT range AS id FROM range({start}, {start + 10})")
            lake.commit_files(ref, [path], batch_id=batch)

    return work


def _assert_landed_once(lake: Lake, ref: TableRef, batches: set[str], rows: int) -> None:
    history = lake.history(ref)
    assert sorted(s.batch_id or "" for s in history) == sorted(batches)  # each batch exactly once
    with duckdb.connect() as con:
        relation = lake.relation(con, ref)
        assert relation.aggregate("count(*), count(DISTINCT id)").fetchone() == (rows, rows)
    assert history[-1].total_records == rows


def test_threads_commit_into_one_table_and_into_many(lake: Lake) -> None:
    schema = pa.schema([("id", pa.int64())])
    others = [TableRef(Zone.STANDARD, f"table_{n}") for n in range(THREADS)]
    for ref in [SHARED, *others]:
        lake.ensure_table(ref, schema)
    workers = [_committer(lake, SHARED, n) for n in range(THREADS)]
    workers += [_committer(lake, ref, n) for n, ref in enumerate(others)]
    _run_together(workers)
    every = {f"w{n}-{i}" for n in range(THREADS) for i in range(COMMITS)}
    _assert_landed_once(lake, SHARED, every, THREADS * COMMITS * 10)
    for n, ref in enumerate(others):
        _assert_landed_once(lake, ref, {f"w{n}-{i}" for i in range(COMMITS)}, COMMITS * 10)


def test_one_batch_committed_by_many_threads_at_once_lands_once(lake: Lake) -> None:
    lake.ensure_table(SHARED, pa.schema([("id", pa.int64())]))
    path = write(lake, SHARED, "same", "SELECT range AS id FROM range(10)")
    results = []
    _run_together([lambda: results.append(lake.commit_files(SHARED, [path], batch_id="same"))] * THREADS)
    assert len({info.snapshot_id for info in results}) == 1
    _assert_landed_once(lake, SHARED, {"same"}, 10)


def test_tables_created_and_evolved_concurrently(lake: Lake) -> None:
    ref = TableRef(Zone.RAW, "evolving")

    def evolve(column: str) -> Callable[[], None]:
        def work() -> None:
            lake.ensure_table(ref, pa.schema([("id", pa.int64()), (column, pa.string())]))

        return work

    _run_together([evolve(f"c{n}") for n in range(THREADS)])  # one creates, the others evolve
    assert set(lake.schema(ref).names) == {"id", *(f"c{n}" for n in range(THREADS))}


@pytest.mark.slow
def test_processes_commit_into_one_table(lake: Lake, store_url: str) -> None:
    lake.ensure_table(SHARED, pa.schema([("id", pa.int64())]))
    context = multiprocessing.get_context("spawn")  # no fork of a process holding DuckDB and pools
    barrier = context.Barrier(2)
    args = [(store_url, str(lake.warehouse), str(SHARED), f"p{n}", COMMITS, barrier) for n in (1, 2)]
    processes = [context.Process(target=commit_in_process, args=a) for a in args]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0, 0]
    every = {f"p{n}-{i}" for n in (1, 2) for i in range(COMMITS)}
    _assert_landed_once(lake, SHARED, every, 2 * COMMITS * 10)
