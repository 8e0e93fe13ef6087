"""A small city generated once per test session (2,000 persons)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gongshu.city import CityResult, generate_city

PERSONS = 2_000
SEED = 7


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> CityResult:
    return generate_city(tmp_path_factory.mktemp("city"), persons=PERSONS, seed=SEED)


@pytest.fixture(scope="session")
def city_dir(city: CityResult) -> Path:
    return city.out_dir
