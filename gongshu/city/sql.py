"""SQL source systems (数据库源): SQLite files by default, PostgreSQL / MariaDB when a URL is given.

Tables are created without constraints, like the legacy department databases they stand for
(duplicate keys are among the planted defects). PostgreSQL is loaded with ``COPY``; MariaDB and
SQLite with batched multi-row inserts.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from gongshu.city.errors import TargetUnavailable
from gongshu.city.frames import Column, Frame, TableSpec
from gongshu.city.writers import Sink

BATCH = 5_000


def public_url(url: str) -> str:
    """The URL without its password, for reports and manifests."""
    import sqlalchemy as sa

    try:
        parsed = sa.make_url(url)
    except Exception:
        return "<unparseable database URL>"
    # URL.set(password=None) keeps the password; _replace is the documented NamedTuple way.
    return str(parsed._replace(password=None).render_as_string(hide_password=False))


def _rows(frame: Frame) -> Iterator[list[tuple[Any, ...]]]:
    columns = [frame.columns[c.name].to_pylist() for c in frame.spec.columns]
    for start in range(0, frame.rows, BATCH):
        yield list(zip(*(c[start : start + BATCH] for c in columns), strict=True))


class SqliteSink(Sink):
    """Tables in one SQLite file."""

    kind = "sqlite"

    def __init__(self, specs: Sequence[TableSpec], path: Path, location: str) -> None:
        super().__init__(specs, location)
        path.unlink(missing_ok=True)
        self.conn = sqlite3.connect(path)
        for spec in specs:
            cols = ", ".join(f'"{c.name}" {"REAL" if c.number else "TEXT"}' for c in spec.columns)
            self.conn.execute(f'CREATE TABLE "{spec.table}" ({cols})')
        self.conn.commit()

    def _write(self, frame: Frame, offset: int) -> None:
        spec = frame.spec
        marks = ", ".join("?" * len(spec.columns))
        sql = f'INSERT INTO "{spec.table}" VALUES ({marks})'  # noqa: S608 - names are our constants
        for batch in _rows(frame):
            self.conn.executemany(sql, batch)
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


def _connect(url: str) -> Any:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
        return engine, engine.raw_connection()
    except Exception as error:
        password = getattr(getattr(error, "url", None), "password", None) or _password(url)
        detail = str(error).replace(password, "***") if password else str(error)
        raise TargetUnavailable(
            f"cannot connect to {public_url(url)}: {type(error).__name__}: {detail}",
            hint="check that the server is running and the URL (user, password, database) is right",
            value=public_url(url),
        ) from error


def _password(url: str) -> str | None:
    import sqlalchemy as sa

    try:
        return sa.make_url(url).password
    except Exception:
        return None


def _column_type(c: Column, dialect: str) -> str:
    if c.number:
        return "DOUBLE PRECISION" if dialect == "postgresql" else "DOUBLE"
    return "TEXT" if dialect == "postgresql" else "VARCHAR(255)"


class ServerSink(Sink):
    """Tables in a PostgreSQL or MariaDB/MySQL database (replaced if they exist)."""

    def __init__(self, specs: Sequence[TableSpec], url: str) -> None:
        super().__init__(specs, public_url(url))
        self.engine, self.conn = _connect(url)
        self.dialect = self.engine.dialect.name
        self.kind = "postgresql" if self.dialect == "postgresql" else "mysql"
        self.quote = '"' if self.kind == "postgresql" else "`"
        cur = self.conn.cursor()
        for spec in specs:
            q = self.quote
            cols = ", ".join(f"{q}{c.name}{q} {_column_type(c, self.dialect)}" for c in spec.columns)
            cur.execute(f"DROP TABLE IF EXISTS {q}{spec.table}{q}")
            extra = " DEFAULT CHARSET=utf8mb4" if self.kind == "mysql" else ""
            cur.execute(f"CREATE TABLE {q}{spec.table}{q} ({cols}){extra}")
        self.conn.commit()

    def _write(self, frame: Frame, offset: int) -> None:
        if self.kind == "postgresql":
            self._copy(frame)
        else:
            self._insert(frame)
        self.conn.commit()

    def _copy(self, frame: Frame) -> None:
        buffer = io.BytesIO()
        table = pa.table({c.name: frame.columns[c.name] for c in frame.spec.columns})
        pacsv.write_csv(table, buffer, write_options=pacsv.WriteOptions(include_header=False))
        names = ", ".join(f'"{c.name}"' for c in frame.spec.columns)
        raw = self.conn.driver_connection
        with (
            raw.cursor() as cur,
            cur.copy(f'COPY "{frame.spec.table}" ({names}) FROM STDIN WITH (FORMAT csv)') as copy,
        ):
            copy.write(buffer.getvalue())

    def _insert(self, frame: Frame) -> None:
        spec = frame.spec
        marks = ", ".join(["%s"] * len(spec.columns))
        sql = f"INSERT INTO `{spec.table}` VALUES ({marks})"  # noqa: S608 - names are our constants
        cur = self.conn.cursor()
        for batch in _rows(frame):
            cur.executemany(sql, batch)

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()
