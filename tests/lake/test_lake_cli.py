"""`gongshu lake …`: tables, history, schema and time-travel reads against a temporary data dir."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from lake_support import commit
from typer.testing import CliRunner

from gongshu.cli import output
from gongshu.cli.lake_cmd import lake_app
from gongshu.config import load_settings
from gongshu.errors import NotFound, ValidationFailed
from gongshu.lake import SnapshotInfo, TableRef, open_lake
from gongshu.store.base import CITY_TIMEZONE

REF = TableRef.parse("standard.ga_population")


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps tables at the test runner's 80 columns; widen so cells stay on one line."""
    monkeypatch.setattr(output.console, "width", 200)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory whose lake holds one table with two batches (the second adds a column)."""
    with open_lake(load_settings(data_dir=tmp_path)) as lake:
        commit(lake, REF, "b1", "SELECT '310101199001011234' AS id_number, '张三' AS name")
        time.sleep(0.01)
        commit(
            lake,
            REF,
            "b2",
            "SELECT '310101199202021234' AS id_number, '李四' AS name, 1.5::DECIMAL(9,2) AS s",
        )
    return tmp_path


def lake(*args: str, data_dir: Path) -> str:
    result = CliRunner().invoke(lake_app, [*args, "--data-dir", str(data_dir)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def history_of(data_dir: Path) -> list[SnapshotInfo]:
    with open_lake(load_settings(data_dir=data_dir)) as opened:
        return opened.history(REF)


def test_tables_and_schema(data_dir: Path) -> None:
    listed = json.loads(lake("tables", "--json", data_dir=data_dir))
    assert [(t["table"], t["snapshots"], t["total_records"]) for t in listed] == [
        ("standard.ga_population", 2, 2)
    ]
    assert "标准库" in lake("tables", data_dir=data_dir)
    assert json.loads(lake("tables", "--zone", "raw", "--json", data_dir=data_dir)) == []
    columns = json.loads(lake("schema", "standard.ga_population", "--json", data_dir=data_dir))
    assert [(c["name"], c["type"], c["duckdb_type"]) for c in columns] == [
        ("id_number", "string", "VARCHAR"),
        ("name", "string", "VARCHAR"),
        ("s", "decimal(9, 2)", "DECIMAL(9,2)"),
    ]


def test_history_in_city_time(data_dir: Path) -> None:
    first, second = history_of(data_dir)
    shown = lake("history", "standard.ga_population", data_dir=data_dir)
    assert str(first.snapshot_id) in shown and "b2" in shown
    assert first.committed_at.astimezone(CITY_TIMEZONE).strftime("%H:%M:%S") in shown
    documents = json.loads(lake("history", "standard.ga_population", "--json", data_dir=data_dir))
    assert [(d["batch_id"], d["added_records"], d["total_records"]) for d in documents] == [
        ("b1", 1, 1),
        ("b2", 1, 2),
    ]
    assert documents[1]["parent_id"] == first.snapshot_id == second.parent_id


def test_read_now_at_a_snapshot_and_as_of_a_city_time(data_dir: Path) -> None:
    first, second = history_of(data_dir)
    now = json.loads(lake("read", "standard.ga_population", "--json", data_dir=data_dir))
    assert sorted(row["name"] for row in now) == ["张三", "李四"] and {row["s"] for row in now} == {
        None,
        "1.50",
    }
    old = json.loads(
        lake(
            "read",
            "standard.ga_population",
            "--snapshot",
            str(first.snapshot_id),
            "--json",
            data_dir=data_dir,
        )
    )
    assert old == [{"id_number": "310101199001011234", "name": "张三"}]
    between = first.committed_at + (second.committed_at - first.committed_at) / 2
    city = between.astimezone(CITY_TIMEZONE).replace(tzinfo=None).isoformat()  # no zone: city time
    assert (
        json.loads(lake("read", "standard.ga_population", "--as-of", city, "--json", data_dir=data_dir))
        == old
    )
    shown = " ".join(lake("read", "standard.ga_population", "--limit", "1", data_dir=data_dir).split())
    assert f"snapshot {second.snapshot_id}" in shown and "1 of 2 rows" in shown


def test_files_of_a_snapshot_for_other_engines(data_dir: Path) -> None:
    first, _second = history_of(data_dir)
    now = lake("files", "standard.ga_population", data_dir=data_dir).splitlines()
    assert len(now) == 2 and all(Path(path).is_file() for path in now)
    old = json.loads(
        lake("files", str(REF), "--snapshot", str(first.snapshot_id), "--json", data_dir=data_dir)
    )
    assert old == [now[0]] and "batch=b1" in old[0]


def test_user_errors_are_gongshu_errors(data_dir: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(lake_app, ["history", "raw.nothing", "--data-dir", str(data_dir)])
    assert isinstance(missing.exception, NotFound) and missing.exception.exit_code == 4
    early = runner.invoke(
        lake_app, ["read", str(REF), "--as-of", "2000-01-01T00:00", "--data-dir", str(data_dir)]
    )
    assert isinstance(early.exception, NotFound) and "no snapshot yet" in early.exception.message
    bad = runner.invoke(lake_app, ["read", "ga_population", "--data-dir", str(data_dir)])
    assert isinstance(bad.exception, ValidationFailed)
    bad_time = runner.invoke(
        lake_app, ["read", str(REF), "--as-of", "yesterday", "--data-dir", str(data_dir)]
    )
    assert isinstance(bad_time.exception, ValidationFailed)
