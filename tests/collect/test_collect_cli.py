"""The collect commands on the demo city: mounts, batches, problem data, lake history, a refused mount."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gongshu.cli.main import app
from gongshu.errors import ValidationFailed
from tests.collect.conftest import Demo

runner = CliRunner()


def invoke(demo: Demo, *args: str) -> str:
    result = runner.invoke(app, [*args, "--data-dir", str(demo.data_dir)])
    assert result.exit_code == 0, result.output
    return result.output


def test_batches_and_mounts_are_listed_with_their_balance(demo: Demo) -> None:
    listed = json.loads(invoke(demo, "batch", "list", "--json"))
    assert listed["total"] >= 10
    assert all(b["balanced"] for b in listed["batches"] if b["state"] == "committed")
    shown = json.loads(invoke(demo, "batch", "show", listed["batches"][0]["id"]))
    assert shown["counts"]["read"] == shown["counts"]["written"] + shown["counts"]["quarantined"]
    mounts = json.loads(invoke(demo, "mount", "list", "--json"))
    assert {m["name"] for m in mounts} >= {"ga_population", "mz_marriage", "rs_insurance", "ghzy_address"}


def test_problem_data_is_listed_and_exported(demo: Demo, tmp_path: Path) -> None:
    page = json.loads(invoke(demo, "quarantine", "list", "mz_marriage", "--json", "--limit", "5"))
    assert page["open"] > 0 and len(page["rows"]) == 5
    assert all(row["problems"] and row["problems"][0]["reason"] for row in page["rows"])
    out = tmp_path / "problems.xlsx"
    invoke(demo, "quarantine", "export", "mz_marriage", str(out))
    assert out.read_bytes()[:2] == b"PK"


def test_lake_history_names_the_batch(demo: Demo) -> None:
    batch = next(b for b in demo.summary.batches if b.mount == "wj_birth")
    assert batch.batch_id in invoke(demo, "lake", "history", "standard.wj_birth")


def test_a_mount_is_refused_with_every_problem_listed(demo: Demo, tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "name: Bad Name\nentry: 101001001/000001\nsource: {kind: file, path: x, format: docx}\ncolumns: {}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["mount", "add", str(spec), "--data-dir", str(demo.data_dir)])
    assert isinstance(result.exception, ValidationFailed)
    assert set(result.exception.problems) == {"name", "source.format"}
