"""The collect pipeline on exact sources: balance, idempotence, diffs, deletes, drift, feedback."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gongshu.collect import batches, quarantine
from gongshu.collect.pipeline import run_mount
from gongshu.engine import connect
from gongshu.errors import Conflict, NotFound, PermissionDenied, SchemaDrift
from gongshu.lake import TableRef, Zone, open_lake
from tests.collect.pipeline_support import HEADER, Setup, person, write_csv, write_sqlite


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path / "data")


def current(setup: Setup, name: str) -> dict[str, tuple[str, ...]]:
    """The standard zone's current state: latest row per key, deletes dropped."""
    lake = open_lake(setup.platform.settings)
    con = connect()
    lake.view(con, TableRef(Zone.STANDARD, name), "s")
    rows = con.execute(
        """SELECT record_id, name, _op FROM s
           QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY _batch_seq DESC, _row DESC) = 1"""
    ).fetchall()
    return {r[0]: r for r in rows if r[2] != "D"}


def test_a_csv_batch_balances_and_quarantines_bad_rows(setup: Setup) -> None:
    rows = [person(i) for i in range(10)] + [person(10, bad_id=True), person(11, name="")]
    write_csv(setup.data_dir / "drop" / "people.csv", rows)
    setup.mount("people", {"kind": "file", "path": "drop", "pattern": "*.csv"})
    result = run_mount(setup.platform, setup.steward, "people")
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (12, 10, 2)
    assert result.balanced and result.rows_inserted == 10
    assert result.rule_counts["ID_CHECK:id_number"] == 1
    assert result.rule_counts["REQUIRED:name"] == 1
    with setup.platform.store.session() as session:
        page = quarantine.problems(session, setup.steward, open_lake(setup.platform.settings), "people")
    assert page.total == 2 and page.open == 2
    reasons = {p["rule"] for row in page.rows for p in row.problems}
    assert reasons == {"ID_CHECK", "REQUIRED"}
    assert all(p["reason"] for row in page.rows for p in row.problems)  # Chinese reason text
    assert {row.values["record_id"] for row in page.rows} == {"R000010", "R000011"}


def test_rerunning_the_same_drop_changes_nothing(setup: Setup) -> None:
    write_csv(setup.data_dir / "drop" / "people.csv", [person(i) for i in range(5)])
    setup.mount("people", {"kind": "file", "path": "drop"})
    first = run_mount(setup.platform, setup.steward, "people")
    second = run_mount(setup.platform, setup.steward, "people")
    assert first.rows_inserted == 5
    assert (second.rows_read, second.rows_inserted, second.rows_updated, second.rows_unchanged) == (
        5,
        0,
        0,
        5,
    )
    assert len(current(setup, "people")) == 5


def test_duplicate_keys_keep_the_first_and_quarantine_the_rest(setup: Setup) -> None:
    rows = [person(1), person(2), person(1, name="李四"), person(1, name="王五")]
    write_csv(setup.data_dir / "drop" / "people.csv", rows)
    setup.mount("people", {"kind": "file", "path": "drop"})
    result = run_mount(setup.platform, setup.steward, "people")
    assert (result.rows_written, result.rows_quarantined) == (2, 2)
    assert result.rule_counts["PK_DUPLICATE:record_id"] == 2
    assert current(setup, "people")["R000001"][1] == "张1"


def test_incremental_sql_and_soft_deletes(setup: Setup) -> None:
    db = write_sqlite(
        setup.data_dir / "ga.sqlite", [person(i, updated="2026-01-01 08:00:00") for i in range(6)]
    )
    setup.mount(
        "people",
        {
            "kind": "sql",
            "url": f"sqlite:///{db}",
            "table": "people",
            "mode": "incremental",
            "cursor": "updated",
        },
        deletes={"mode": "soft", "column": "sex", "values": ["2"]},
    )
    first = run_mount(setup.platform, setup.steward, "people")
    assert (first.rows_read, first.rows_inserted, first.rows_deleted) == (6, 3, 3)  # even n → sex 2 → deleted
    write_sqlite(
        db,
        [person(1, name="新名字", updated="2026-02-01 08:00:00"), person(7, updated="2026-02-01 09:00:00")],
        replace=False,
    )
    second = run_mount(setup.platform, setup.steward, "people")
    assert second.rows_read == 2  # only rows after the committed cursor
    assert (second.rows_inserted, second.rows_updated) == (1, 1)
    assert second.cursor_to == "2026-02-01 09:00:00"
    state = current(setup, "people")
    assert set(state) == {"R000001", "R000003", "R000005", "R000007"}
    assert state["R000001"][1] == "新名字"


def test_snapshot_deletes_for_full_loads(setup: Setup) -> None:
    drop = setup.data_dir / "drop" / "people.csv"
    write_csv(drop, [person(i) for i in range(4)])
    setup.mount("people", {"kind": "file", "path": "drop"}, deletes={"mode": "snapshot"})
    run_mount(setup.platform, setup.steward, "people")
    write_csv(drop, [person(i) for i in (0, 1, 3)])
    second = run_mount(setup.platform, setup.steward, "people")
    assert second.rows_deleted == 1 and second.rows_unchanged == 3
    assert set(current(setup, "people")) == {"R000000", "R000001", "R000003"}


def test_corrected_rows_resolve_their_quarantine_entries(setup: Setup) -> None:
    drop = setup.data_dir / "drop" / "people.csv"
    write_csv(drop, [person(1), person(2, bad_id=True), person(3, name="")])
    setup.mount("people", {"kind": "file", "path": "drop"})
    first = run_mount(setup.platform, setup.steward, "people")
    write_csv(drop, [person(1), person(2), person(3, name="")])  # 2 fixed at source, 3 not yet
    second = run_mount(setup.platform, setup.steward, "people")
    assert second.resolved == 1
    lake = open_lake(setup.platform.settings)
    with setup.platform.store.session() as session:
        open_page = quarantine.problems(session, setup.steward, lake, "people")
        history = quarantine.history(session, setup.steward, lake, "people")
        csv_bytes, count = quarantine.export(session, setup.steward, lake, "people", fmt="csv", status="all")
        xlsx_bytes, _ = quarantine.export(session, setup.steward, lake, "people", fmt="xlsx")
    assert open_page.open == 2 and open_page.resolved == 1  # R3 twice (both batches), R2 resolved
    assert {r.record_key for r in open_page.rows} == {"R000003"}
    first_row = next(h for h in history if h["batch_id"] == first.batch_id)
    assert first_row == {
        "batch_id": first.batch_id,
        "quarantined": 2,
        "resolved": 1,
        "resolved_by": [second.batch_id],
    }
    assert (
        count == 3 and csv_bytes.startswith("\ufeff".encode()) and "R000002" in csv_bytes.decode("utf-8-sig")
    )
    assert xlsx_bytes[:2] == b"PK"


def test_schema_drift_stops_with_every_change_and_commits_nothing(setup: Setup) -> None:
    drop = setup.data_dir / "drop" / "people.csv"
    write_csv(drop, [person(i) for i in range(3)])
    setup.mount("people", {"kind": "file", "path": "drop"})
    run_mount(setup.platform, setup.steward, "people")
    lake = open_lake(setup.platform.settings)
    before = len(lake.history(TableRef(Zone.STANDARD, "people")))
    renamed = ["record_id", "id_number", "full_name", "sex", "birth_date", "updated"]
    write_csv(drop, [person(i) for i in range(3)], header=renamed)
    with pytest.raises(SchemaDrift) as caught:
        run_mount(setup.platform, setup.steward, "people")
    assert caught.value.changes[0]["kind"] == "renamed"
    assert (
        caught.value.changes[0]["column"] == "name" and caught.value.changes[0]["new_column"] == "full_name"
    )
    assert len(lake.history(TableRef(Zone.STANDARD, "people"))) == before
    with setup.platform.store.session() as session:
        failed, _ = batches.list_batches(session, setup.steward, mount="people", state="failed")
    assert failed and failed[0].drift and "renamed" in failed[0].error.lower() + str(failed[0].drift)


def test_schema_drift_evolve_carries_on_and_reports(setup: Setup) -> None:
    drop = setup.data_dir / "drop" / "people.csv"
    write_csv(drop, [person(i) for i in range(3)])
    setup.mount("people", {"kind": "file", "path": "drop"}, drift="evolve")
    run_mount(setup.platform, setup.steward, "people")
    write_csv(drop, [[*person(i), "x"] for i in range(3, 5)], header=[*HEADER, "remark"])
    result = run_mount(setup.platform, setup.steward, "people")
    assert [c["kind"] for c in result.drift] == ["added"] and result.drift[0]["column"] == "remark"
    assert result.rows_inserted == 2
    lake = open_lake(setup.platform.settings)
    assert "remark" in lake.schema(TableRef(Zone.RAW, "people")).names


def test_time_travel_reads_an_earlier_snapshot(setup: Setup) -> None:
    drop = setup.data_dir / "drop" / "people.csv"
    write_csv(drop, [person(i) for i in range(3)])
    setup.mount("people", {"kind": "file", "path": "drop"})
    first = run_mount(setup.platform, setup.steward, "people")
    write_csv(drop, [person(i) for i in range(6)])
    run_mount(setup.platform, setup.steward, "people")
    lake = open_lake(setup.platform.settings)
    ref = TableRef(Zone.STANDARD, "people")
    history = lake.history(ref)
    assert history[0].batch_id == first.batch_id
    con = connect()
    old = lake.relation(con, ref, snapshot_id=first.snapshots["standard"]).count("*").fetchone()
    new = lake.relation(con, ref).count("*").fetchone()
    at = lake.relation(con, ref, as_of=history[0].committed_at).count("*").fetchone()
    assert old == at == (3,) and new == (6,)


def test_other_departments_cannot_run_or_see_a_mount(setup: Setup) -> None:
    write_csv(setup.data_dir / "drop" / "people.csv", [person(1)])
    setup.mount("people", {"kind": "file", "path": "drop"})
    with pytest.raises(NotFound):
        run_mount(setup.platform, setup.other, "people")
    with setup.platform.store.session() as session, pytest.raises(NotFound):
        quarantine.problems(session, setup.other, open_lake(setup.platform.settings), "people")
    consumer = setup.people["consumer"]
    with pytest.raises((NotFound, PermissionDenied)):
        run_mount(setup.platform, consumer, "people")


def test_concurrent_batches_of_different_mounts_both_commit(setup: Setup) -> None:
    for name in ("left", "right"):
        write_csv(setup.data_dir / name / "people.csv", [person(i) for i in range(20)])
        setup.mount(name, {"kind": "file", "path": name})
    results: dict[str, int] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            results[name] = run_mount(setup.platform, setup.steward, name).rows_written
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == {"left": 20, "right": 20}


def test_a_second_run_of_the_same_mount_is_refused_while_one_runs(setup: Setup) -> None:
    import fcntl

    write_csv(setup.data_dir / "drop" / "people.csv", [person(1)])
    setup.mount("people", {"kind": "file", "path": "drop"})
    lock = setup.data_dir / "work" / "people.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(Conflict):
            run_mount(setup.platform, setup.steward, "people")


def test_due_mounts_follow_the_entrys_update_cycle(setup: Setup) -> None:
    write_csv(setup.data_dir / "drop" / "people.csv", [person(1)])
    setup.mount("daily", {"kind": "file", "path": "drop"})  # schedule auto: the entry is 每日
    setup.mount("by_hand", {"kind": "file", "path": "drop"}, schedule="manual")
    with setup.platform.store.session() as session:
        assert batches.due_mounts(session, setup.steward) == ["daily"]
    outcomes = batches.run_due(setup.platform, setup.steward)
    assert [name for name, _ in outcomes] == ["daily"] and outcomes[0][1].balanced
    with setup.platform.store.session() as session:
        assert batches.due_mounts(session, setup.steward) == []  # next run in a day


def test_malformed_lines_are_quarantined_with_their_line_and_good_rows_kept(setup: Setup) -> None:
    path = write_csv(setup.data_dir / "drop" / "people.csv", [person(i) for i in range(4)])
    with path.open("a", encoding="utf-8") as handle:
        handle.write("R9,too,few\r\nR10,a,b,c,d,e,f,g\r\n")  # a short row and a long one
    setup.mount("people", {"kind": "file", "path": "drop"})
    result = run_mount(setup.platform, setup.steward, "people")
    assert result.balanced and result.rows_written == 4 and result.rows_quarantined == 2
    assert result.rule_counts["ROW_MALFORMED:*"] == 2
    with setup.platform.store.session() as session:
        page = quarantine.problems(session, setup.steward, open_lake(setup.platform.settings), "people")
    assert sorted(p.line for p in page.rows if p.line) == [6, 7]
    assert any("too,few" in (p.raw_text or "") for p in page.rows)


def test_an_empty_drop_is_a_balanced_empty_batch(setup: Setup) -> None:
    (setup.data_dir / "drop").mkdir(parents=True)
    (setup.data_dir / "drop" / "people.csv").write_bytes(b"")
    setup.mount("people", {"kind": "file", "path": "drop"})
    result = run_mount(setup.platform, setup.steward, "people")
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (0, 0, 0)
    assert result.balanced and result.notes
