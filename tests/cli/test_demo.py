"""End to end: the demo at small scale through the CLI, twice (idempotent), then its store checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from gongshu.catalogue.models import CatalogEntry
from gongshu.config import Settings
from gongshu.orgs.models import Division, Organisation
from gongshu.platform import open_platform
from gongshu.security import audit


def run_demo(data_dir: Path) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gongshu.cli.main",
            "demo",
            "--scale",
            "1000",
            "--no-serve",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
def test_the_demo_city_end_to_end(tmp_path: Path) -> None:
    output = run_demo(tmp_path)
    assert "gongshu demo city" in output and "http://127.0.0.1:8000/" in output
    assert "admin" in output and "gongshu-demo" in output
    run_demo(tmp_path)  # a second run tops up and changes nothing

    platform = open_platform(Settings(data_dir=tmp_path))
    with platform.store.session() as session:
        departments = session.scalar(
            sa.select(sa.func.count()).select_from(Organisation).where(Organisation.kind == "department")
        )
        districts = session.scalar(
            sa.select(sa.func.count()).select_from(Division).where(Division.level == "district")
        )
        published = session.scalar(
            sa.select(sa.func.count())
            .select_from(CatalogEntry)
            .where(CatalogEntry.status.in_(("published", "mounted")))
        )
        providers = session.scalar(sa.select(sa.func.count(sa.distinct(CatalogEntry.provider_id))))
        assert departments is not None and departments >= 8
        assert districts == 16
        assert published is not None and published >= 30
        assert providers is not None and providers >= 8
        assert audit.verify(session).ok
    platform.close()
    manifest = tmp_path / "city" / "manifest.json"
    assert manifest.is_file()
