"""Delivery targets (落地目标): a PostgreSQL or MariaDB table, or a folder of Parquet files.

Each target keeps the delivery's checkpoint in the same transaction as its rows (the
``_gongshu_landing`` table, or the folder's ``manifest.json`` replaced atomically), writes a delta
(upserts and deletes, in chunks, values bound) and lists what it holds for reconciliation.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.pool import NullPool

from gongshu.errors import ConfigError, Conflict, GongshuError
from gongshu.platform import Platform
from gongshu.share.landing_source import CHUNK, KEY_PREFIX, Delta, Key, Values
from gongshu.store.base import utcnow

if TYPE_CHECKING:
    from gongshu.share.landing import Plan

BOOKKEEPING = "_gongshu_landing"
MANIFEST = "manifest.json"
FILE_NAME = re.compile(r"^(?P<table>[a-z][a-z0-9_]*)-\d{10}-\d{10}\.parquet$")


class TargetUnavailable(GongshuError):
    """The delivery's target store did not answer or refused the write; nothing was committed there."""

    code: ClassVar[str] = "target_unavailable"
    http_status = 502
    exit_code = 8
    transient = True


# -- targets -------------------------------------------------------------------------------------


class Target:
    """A delivery's store: where its checkpoint is, how a delta lands, what it holds now."""

    notes: dict[str, Any]

    def checkpoint(self, *, take_over: bool) -> int | None:
        raise NotImplementedError

    def write(
        self, delta: Delta, *, start: int, to_seq: int, full: bool, subject_key: bytes
    ) -> tuple[int, int]:
        raise NotImplementedError

    def rows(self) -> Iterator[tuple[Key, Values]]:
        raise NotImplementedError

    def close(self) -> None:
        return None


def open_target(platform: Platform, plan: Plan) -> Target:
    assert plan.slice is not None
    keys = [KEY_PREFIX + k for k in plan.slice.key]
    if plan.kind == "files":
        folder = Path(plan.target)
        return FolderTarget(
            plan, folder if folder.is_absolute() else platform.settings.data_dir / folder, keys
        )
    url = sa.engine.make_url(plan.target)
    if plan.password_env:
        password = os.environ.get(plan.password_env)
        if not password:
            raise ConfigError(
                f"the environment variable {plan.password_env} (the target's password) is not set"
            )
        url = url.set(password=password)
    if plan.kind == "mariadb" and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return DatabaseTarget(plan, url, keys)


class DatabaseTarget(Target):
    """A PostgreSQL or MariaDB table, its checkpoint in ``_gongshu_landing`` (same transaction)."""

    def __init__(self, plan: Plan, url: sa.URL, keys: list[str]) -> None:
        assert plan.slice is not None
        self.plan, self.keys, self.fields, self.notes = plan, keys, plan.slice.fields, {}
        self.engine = sa.create_engine(url, poolclass=NullPool)
        meta = sa.MetaData()
        self.table = sa.Table(
            plan.table,
            meta,
            *(sa.Column(k, sa.String(255), primary_key=True) for k in keys),
            *(sa.Column(f, sa.Text) for f in self.fields),
            mysql_charset="utf8mb4",
            mysql_engine="InnoDB",
        )
        self.book = sa.Table(
            BOOKKEEPING,
            meta,
            sa.Column("table_name", sa.String(63), primary_key=True),
            sa.Column("delivery_id", sa.Integer, nullable=False),
            sa.Column("grant_code", sa.String(20), nullable=False),
            sa.Column("checkpoint", sa.BigInteger, nullable=False),
            sa.Column("updated_at", sa.String(40), nullable=False),
            mysql_charset="utf8mb4",
            mysql_engine="InnoDB",
        )
        self.meta = meta

    def checkpoint(self, *, take_over: bool) -> int | None:
        with self.engine.connect() as conn:
            inspector = sa.inspect(conn)
            if not inspector.has_table(self.table.name):
                return None
            present = {c["name"] for c in inspector.get_columns(self.table.name)}
            if present != {*self.keys, *self.fields}:
                raise Conflict(
                    f"the target table {self.table.name} exists with other columns",
                    hint="deliver into another table, or drop it",
                )
            if not inspector.has_table(BOOKKEEPING):
                return None
            row = conn.execute(
                sa.select(self.book.c.delivery_id, self.book.c.checkpoint).where(
                    self.book.c.table_name == self.table.name
                )
            ).first()
        if row is None:
            return None
        if row.delivery_id != self.plan.delivery_id and not take_over:
            raise Conflict(
                f"the target table {self.table.name} is delivery {row.delivery_id}'s",
                hint="deliver into another table, or run with --full to take it over",
            )
        return int(row.checkpoint)

    def write(
        self, delta: Delta, *, start: int, to_seq: int, full: bool, subject_key: bytes
    ) -> tuple[int, int]:
        self.meta.create_all(self.engine, checkfirst=True)  # DDL commits on its own in MariaDB
        upsert = _upsert(self.engine.dialect.name, self.table, self.keys, self.fields)
        upserted = deleted = 0
        with self.engine.begin() as conn:
            if full:
                self.notes["truncated"] = conn.execute(self.table.delete()).rowcount
            for i in range(0, len(delta.deletes), CHUNK):
                deleted += conn.execute(
                    self.table.delete().where(self._key_in(delta.deletes[i : i + CHUNK]))
                ).rowcount
            for chunk in delta.chunks(subject_key):
                conn.execute(
                    upsert, [dict(zip([*self.keys, *self.fields], (*k, *v), strict=True)) for k, v in chunk]
                )
                upserted += len(chunk)
            book = _upsert(
                self.engine.dialect.name,
                self.book,
                ["table_name"],
                ["delivery_id", "grant_code", "checkpoint", "updated_at"],
            )
            conn.execute(
                book,
                [
                    {
                        "table_name": self.table.name,
                        "delivery_id": self.plan.delivery_id,
                        "grant_code": self.plan.grant,
                        "checkpoint": to_seq,
                        "updated_at": utcnow().isoformat(timespec="seconds"),
                    }
                ],
            )
        return upserted, deleted

    def rows(self) -> Iterator[tuple[Key, Values]]:
        columns = [self.table.c[name] for name in [*self.keys, *self.fields]]
        width = len(self.keys)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(sa.select(*columns))
            for row in result:
                yield tuple(row[:width]), tuple(row[width:])

    def close(self) -> None:
        self.engine.dispose()

    def _key_in(self, keys: list[Key]) -> sa.ColumnElement[bool]:
        clause: sa.ColumnElement[bool]
        if len(self.keys) == 1:
            clause = self.table.c[self.keys[0]].in_([k[0] for k in keys])
        else:
            clause = sa.tuple_(*(self.table.c[k] for k in self.keys)).in_(keys)
        return clause


def _upsert(dialect: str, table: sa.Table, keys: list[str], columns: list[str]) -> sa.Executable:
    """``INSERT … ON CONFLICT DO UPDATE`` (PostgreSQL) or ``… ON DUPLICATE KEY UPDATE`` (MariaDB)."""
    if dialect == "postgresql":
        pg = postgresql.insert(table)
        return pg.on_conflict_do_update(index_elements=keys, set_={c: pg.excluded[c] for c in columns})
    if dialect in ("mysql", "mariadb"):
        my = mysql.insert(table)
        return my.on_duplicate_key_update({c: my.inserted[c] for c in columns})
    raise ConfigError(f"no upsert for the {dialect} dialect")


class FolderTarget(Target):
    """A folder: one Parquet file per run (``<table>-<from>-<to>.parquet``) and ``manifest.json``.

    Each file holds ``_op`` (``U`` upsert, ``D`` delete), the ``_key_*`` columns and the granted
    信息项; replaying the manifest's files in order gives the delivered state. A run writes its file
    beside the others, renames it into place, then replaces the manifest (the checkpoint) atomically;
    files a crashed run left outside the manifest are removed by the next run.
    """

    def __init__(self, plan: Plan, folder: Path, keys: list[str]) -> None:
        assert plan.slice is not None
        self.plan, self.folder, self.keys, self.fields = plan, folder, keys, plan.slice.fields
        self.notes: dict[str, Any] = {}
        self.manifest = self._read_manifest()

    def checkpoint(self, *, take_over: bool) -> int | None:
        if self.manifest is None:
            return None
        if not take_over and (
            self.manifest.get("delivery") != self.plan.delivery_id
            or self.manifest.get("columns") != [*self.keys, *self.fields]
        ):
            raise Conflict(
                f"the folder {self.folder} holds another delivery's files",
                hint="deliver into another folder, or run with --full to take it over",
            )
        return int(self.manifest["checkpoint"])

    def write(
        self, delta: Delta, *, start: int, to_seq: int, full: bool, subject_key: bytes
    ) -> tuple[int, int]:
        self.folder.mkdir(parents=True, exist_ok=True)
        before = [] if self.manifest is None else list(self.manifest.get("files", []))
        self._sweep(keep={f["name"] for f in before})
        written = self._write_file(delta, start=start, to_seq=to_seq, full=full, subject_key=subject_key)
        kept = [] if full else before
        files = kept if written is None else [*kept, written]
        if written is not None or self.manifest is None or to_seq != start:
            self._write_manifest(files, to_seq)
        listed = {f["name"] for f in files}
        for old in before:
            if old["name"] not in listed:  # a full delivery replaced them
                (self.folder / old["name"]).unlink(missing_ok=True)
        return (0, 0) if written is None else (written["upserts"], written["deletes"])

    def rows(self) -> Iterator[tuple[Key, Values]]:
        state: dict[Key, Values] = {}
        for listed in (self.manifest or {}).get("files", []):
            path = self.folder / listed["name"]
            try:
                if _sha256(path) != listed["sha256"]:
                    self.notes.setdefault("files_altered", []).append(listed["name"])
                table = pq.read_table(path)
            except (OSError, pa.ArrowException):
                self.notes.setdefault("files_unreadable", []).append(listed["name"])
                continue
            if listed.get("full"):
                state.clear()
            for batch in table.to_batches(CHUNK):
                self._replay(batch, state)
        yield from state.items()

    def _replay(self, batch: pa.RecordBatch, state: dict[Key, Values]) -> None:
        columns = {name: batch.column(name).to_pylist() for name in ["_op", *self.keys, *self.fields]}
        for i, op in enumerate(columns["_op"]):
            key = tuple(columns[k][i] or "" for k in self.keys)
            if op == "D":
                state.pop(key, None)
            else:
                state[key] = tuple(columns[f][i] for f in self.fields)

    def _write_file(
        self, delta: Delta, *, start: int, to_seq: int, full: bool, subject_key: bytes
    ) -> dict[str, Any] | None:
        name = f"{self.plan.table}-{start:010d}-{to_seq:010d}.parquet"
        partial = self.folder / f".{name}.partial"
        schema = pa.schema([(c, pa.string()) for c in ["_op", *self.keys, *self.fields]])
        upserts = 0
        with pq.ParquetWriter(partial, schema) as writer:
            if delta.deletes:
                writer.write_batch(
                    _file_batch(schema, "D", [(k, (None,) * len(self.fields)) for k in delta.deletes])
                )
            for chunk in delta.chunks(subject_key):
                writer.write_batch(_file_batch(schema, "U", chunk))
                upserts += len(chunk)
        if not (full or upserts or delta.deletes):
            partial.unlink()
            return None
        _fsync(partial)
        partial.replace(self.folder / name)
        _fsync(self.folder)
        return {
            "name": name,
            "from_seq": start,
            "to_seq": to_seq,
            "full": full,
            "rows": upserts + len(delta.deletes),
            "upserts": upserts,
            "deletes": len(delta.deletes),
            "sha256": _sha256(self.folder / name),
            "written_at": utcnow().isoformat(timespec="seconds"),
        }

    def _write_manifest(self, files: list[dict[str, Any]], checkpoint: int) -> None:
        document = {
            "format": "gongshu.landing/1",
            "delivery": self.plan.delivery_id,
            "grant": self.plan.grant,
            "resource": self.plan.entry,
            "table": self.plan.table,
            "key": self.keys,
            "columns": [*self.keys, *self.fields],
            "checkpoint": checkpoint,
            "updated_at": utcnow().isoformat(timespec="seconds"),
            "files": files,
        }
        temporary = self.folder / f".{MANIFEST}.partial"
        temporary.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
        _fsync(temporary)
        temporary.replace(self.folder / MANIFEST)
        _fsync(self.folder)
        self.manifest = document

    def _read_manifest(self) -> dict[str, Any] | None:
        path = self.folder / MANIFEST
        if not path.is_file():
            return None
        try:
            document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise Conflict(
                f"{path} is not a landing manifest", hint="run with --full to deliver anew"
            ) from None
        return document

    def _sweep(self, keep: set[str]) -> None:
        """Remove what a crashed run left: partial files, and this table's files not in the manifest."""
        for path in self.folder.iterdir():
            matched = FILE_NAME.fullmatch(path.name)
            ours = matched is not None and matched["table"] == self.plan.table and path.name not in keep
            if ours or (path.name.startswith(f".{self.plan.table}-") and path.name.endswith(".partial")):
                path.unlink(missing_ok=True)


def _file_batch(schema: pa.Schema, op: str, rows: Sequence[tuple[Key, Values]]) -> pa.RecordBatch:
    columns: list[list[str | None]] = [[op] * len(rows)]
    columns += [list(c) for c in zip(*(k for k, _ in rows), strict=True)]
    columns += [list(c) for c in zip(*(v for _, v in rows), strict=True)]
    return pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in columns], schema=schema)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
