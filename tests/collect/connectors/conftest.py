"""Fixtures of the connector tests: an extraction runner, a local HTTP API, a small city."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gongshu.city import CityResult, generate_city
from tests.collect.connectors.support import Api, Run


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """``run(spec_dict)``: extract into a fresh folder and check that the batch balances."""
    return Run(tmp_path)


@pytest.fixture
def api() -> Iterator[Api]:
    """A JSON API on 127.0.0.1 (a free port) whose answers the test sets."""
    server = Api()
    yield server
    server.close()


@pytest.fixture(scope="session")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> CityResult:
    """A 2,000-person synthetic city (SQLite databases and files)."""
    return generate_city(tmp_path_factory.mktemp("connector-city"), persons=2_000, seed=11)
