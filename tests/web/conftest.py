"""A platform on a temporary SQLite store, seeded through the library, and clients signed in to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_support import seed, sign_in

from gongshu.config import Settings
from gongshu.platform import Platform, open_platform
from gongshu.service import create_app


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    settings = Settings(data_dir=tmp_path, secret_key="x" * 40)
    opened = open_platform(settings, migrate=True)
    seed(opened)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as test_client:
        yield test_client


@pytest.fixture
def operator(client: TestClient) -> TestClient:
    """A client signed in as an operator (平台运营)."""
    return sign_in(client, "admin")


@pytest.fixture
def make_client(platform: Platform) -> Iterator[Any]:
    """Build more clients on the same platform (each with its own cookies)."""
    opened: list[TestClient] = []

    def build(username: str | None = None) -> TestClient:
        test_client = TestClient(create_app(platform))
        test_client.__enter__()
        opened.append(test_client)
        return sign_in(test_client, username) if username else test_client

    yield build
    for test_client in opened:
        test_client.__exit__(None, None, None)
