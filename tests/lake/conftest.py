"""Lake fixtures: a lake on SQLite and on PostgreSQL (the catalog lives in the metadata database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from gongshu.lake import Lake


@pytest.fixture
def lake(store_url: str, tmp_path: Path) -> Iterator[Lake]:
    """An empty lake whose catalog is in a fresh SQLite file or PostgreSQL database."""
    opened = Lake(store_url, tmp_path / "lake")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def sqlite_lake(tmp_path: Path) -> Iterator[Lake]:
    """An empty lake on SQLite only (for tests that are about the lake, not the catalog database)."""
    with Lake(f"sqlite:///{tmp_path}/gongshu.db", tmp_path / "lake") as opened:
        yield opened


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as opened:
        yield opened
