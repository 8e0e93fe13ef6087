"""The CLI shell: ``city generate`` and ``bench_city``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gongshu.cli.city_cmd import bench_city, city_app


def test_generate_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        city_app, ["generate", "--persons", "200", "--out", str(tmp_path), "--only", "GA,WJ"]
    )
    assert result.exit_code == 0, result.output
    assert "population" in result.output
    assert (tmp_path / "manifest.json").exists()


def test_generate_command_bad_department(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        city_app, ["generate", "--persons", "10", "--out", str(tmp_path), "--only", "NOPE"]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "unknown department" in result.output


def test_bench_json(capsys: pytest.CaptureFixture[str]) -> None:
    bench_city(300, json_out=True)
    figures = json.loads(capsys.readouterr().out)
    assert figures["persons"] == 300 and figures["ratio_vs_faker"] > 0


def test_bench_error_exits() -> None:
    with pytest.raises(typer.Exit):
        bench_city(0)
