"""Engines and sessions for the metadata store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from gongshu.errors import ConfigError, SourceUnavailable


class Store:
    """One metadata database: an engine and a session factory.

    Example::

        store = open_store("sqlite:///gongshu-data/gongshu.db")
        with store.session() as session:   # commits on success, rolls back on error
            ...
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The URL, password hidden (safe to print)."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends normally, rolled back otherwise."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def new_session(self) -> Session:
        """A session the caller manages (used by the HTTP service's per-request dependency)."""
        return self._sessions()

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(url: str) -> Store:
    """Open the metadata store at ``url`` (SQLite file or PostgreSQL).

    Raises:
        ConfigError: the URL is malformed or of an unsupported database.
        SourceUnavailable: the database server does not answer.
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as error:
        raise ConfigError(f"malformed database URL: {error}") from None
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigError(
            f"unsupported metadata database {parsed.get_backend_name()!r}",
            hint="use sqlite:///path/gongshu.db or postgresql+psycopg://user@host/db",
        )
    engine = _create_engine(parsed)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as error:
        engine.dispose()
        shown = parsed.render_as_string(hide_password=True)
        raise SourceUnavailable(
            f"cannot connect to the metadata database {shown}",
            hint=str(error.orig).splitlines()[0] if error.orig else None,
        ) from None
    return Store(engine)


def _create_engine(url: sa.URL) -> sa.Engine:
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets pages read while a job writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("pragma journal_mode=wal")
    cursor.execute("pragma foreign_keys=on")
    cursor.execute("pragma busy_timeout=30000")
    cursor.close()
