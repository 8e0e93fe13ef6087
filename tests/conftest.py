"""Shared fixtures: real service backends on 127.0.0.1 and throwaway data directories.

Tests that need PostgreSQL or MariaDB skip with a reason when the server is absent, except when
``GONGSHU_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where an absent server fails the test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from gongshu.config import Settings
from gongshu.demo import build_demo
from gongshu.platform import open_platform
from tests.demo_city import PERSONS, Demo

PG_ADMIN_URL = os.environ.get("GONGSHU_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres")
MARIADB_ADMIN_URL = os.environ.get("GONGSHU_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def services_required() -> bool:
    return os.environ.get("GONGSHU_REQUIRE_SERVICES") == "1"


def _unavailable(name: str, error: Exception) -> None:
    reason = f"{name} is not reachable on 127.0.0.1 ({type(error).__name__}: {error})"
    if services_required():
        pytest.fail(f"{reason}; GONGSHU_REQUIRE_SERVICES=1 forbids skipping")
    pytest.skip(reason)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as error:  # any driver error means "not here"
        _unavailable("PostgreSQL", error)
    name = f"gongshu_t_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'create database "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB database for one test; dropped afterwards."""
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(MARIADB_ADMIN_URL)
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as error:
        _unavailable("MariaDB", error)
    name = f"gongshu_t_{secrets.token_hex(6)}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"create database `{name}` character set utf8mb4"))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"drop database if exists `{name}`"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """The metadata store URL, once on SQLite and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/gongshu.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[object]:
    """A migrated metadata store with reference data (divisions, data elements)."""
    from gongshu.store import open_store, upgrade

    opened = open_store(store_url)
    upgrade(opened)
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def session(store: object) -> Iterator[object]:
    """A session on the migrated store, committed at the end of the test."""
    from gongshu.store import Store

    assert isinstance(store, Store)
    with store.session() as opened:
        yield opened


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with the cost turned down so the suite creates hundreds of users quickly."""
    from argon2 import PasswordHasher

    import gongshu.orgs.passwords as passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo city at 3,000 persons: built, collected and audited once per session."""
    data_dir: Path = tmp_path_factory.mktemp("demo")
    platform = open_platform(Settings(data_dir=data_dir, demo=True), migrate=True)
    summary = build_demo(platform, persons=PERSONS)
    yield Demo(platform, summary)
    platform.close()
