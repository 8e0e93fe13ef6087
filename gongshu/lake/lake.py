"""The lake (数据湖): Iceberg tables in three zones, filled batch by batch from Parquet files.

A pipeline writes a batch's Parquet files itself (DuckDB ``COPY … (FORMAT parquet)``, in parallel)
into :meth:`Lake.data_dir`, then :meth:`Lake.commit_files` adds them to the table as one Iceberg
snapshot without rewriting them. Commits are idempotent by batch id and retried on conflict, so a
resumed batch never lands twice and concurrent writers (threads or processes) all land. Reading is
DuckDB over exactly one snapshot's files (:meth:`Lake.relation`). See ``docs/lake.md``.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa
import sqlalchemy as sa
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.exceptions import ValidationError as IcebergValidationError
from pyiceberg.io.pyarrow import UnsupportedPyArrowTypeException
from pyiceberg.schema import Schema
from pyiceberg.table import Table, TableProperties
from pyiceberg.table.snapshots import Snapshot

from gongshu.config import Settings
from gongshu.errors import Conflict, NotFound, ValidationFailed
from gongshu.lake.catalog import open_catalog
from gongshu.lake.errors import CommitContended, SchemaConflict
from gongshu.lake.files import CAST_HINT, check_fit, checked_files, local_path
from gongshu.lake.read import duckdb_types, snapshot_relation
from gongshu.lake.schemas import TYPE_HINT, change, checked_schema, small_types
from gongshu.lake.snapshots import find_batch, lineage, resolve, snapshot_info
from gongshu.lake.specs import (
    BATCH_ID_PROPERTY,
    Column,
    SchemaChange,
    SnapshotInfo,
    TableRef,
    Zone,
    validate_batch_id,
)

T = TypeVar("T")

#: Snapshot summary keys Iceberg writes itself; a caller's properties may not reuse them.
_RESERVED_PREFIXES = ("added-", "deleted-", "removed-", "total-", "changed-", "partition", "engine-")


class Lake:
    """The lake: an Iceberg SQL catalog in the metadata database and Parquet files under ``warehouse``.

    Example::

        lake = open_lake(settings)
        ref = TableRef.parse("raw.ga_population")
        lake.ensure_table(ref, pa.schema([("id_number", pa.string()), ("name", pa.string())]))
        target = lake.data_dir(ref, "b20261121-01")
        con.sql("SELECT …").write_parquet(str(target / "part-0.parquet"))  # a DuckDB COPY
        lake.commit_files(ref, lake.batch_files(ref, "b20261121-01"), batch_id="b20261121-01")
        rows = lake.relation(con, ref).fetchall()
    """

    def __init__(self, catalog_uri: str, warehouse: Path, *, commit_attempts: int = 20) -> None:
        self.warehouse = warehouse.resolve()
        self.warehouse.mkdir(parents=True, exist_ok=True)
        self.catalog = open_catalog(catalog_uri, self.warehouse)
        self.commit_attempts = commit_attempts
        """Tries per commit before :class:`CommitContended` (other writers won every time)."""

    def close(self) -> None:
        """Release the catalog's database connections."""
        self.catalog.engine.dispose()

    def __enter__(self) -> Lake:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---- tables -------------------------------------------------------------------------------

    def exists(self, ref: TableRef) -> bool:
        """Whether the table exists."""
        return self.catalog.table_exists(ref.identifier)

    def tables(self, zone: Zone | None = None) -> list[TableRef]:
        """The tables of one zone, or of all zones, sorted by zone then name."""
        found: list[TableRef] = []
        for each in [zone] if zone is not None else list(Zone):
            try:
                identifiers = self.catalog.list_tables(each.value)
            except NoSuchNamespaceError:
                continue
            found += [TableRef(each, name) for _ns, name in identifiers if _valid_name(name)]
        return sorted(found, key=lambda ref: (list(Zone).index(ref.zone), ref.name))

    def schema(self, ref: TableRef) -> pa.Schema:
        """The table's current schema as Arrow (``string``, not ``large_string``; field ids kept).

        Raises:
            NotFound: no such table.
        """
        return small_types(self._table(ref).schema().as_arrow())

    def columns(self, ref: TableRef) -> list[Column]:
        """The table's current columns with Iceberg and DuckDB types (for people and pages).

        Raises:
            NotFound: no such table.
        """
        schema = self._table(ref).schema()
        with duckdb.connect() as con:
            types = duckdb_types(con, schema)
        return [Column(f.name, str(f.field_type), types[f.name], f.field_id) for f in schema.fields]

    def ensure_table(self, ref: TableRef, schema: pa.Schema) -> list[SchemaChange]:
        """Create the table if missing, else evolve it to hold ``schema`` too; return the changes.

        Columns are matched by name. Missing columns are added (optional); a type Iceberg can
        widen (int → long, float → double, wider decimal) is widened; columns absent from ``schema``
        stay. Every column is optional: whether a value may be empty is a quality rule, not a
        storage constraint. On creation every column is reported as ``added``.

        Raises:
            ValidationFailed: ``schema`` has no columns, an empty or dotted name, two names that
                differ only in case (DuckDB would not tell them apart), or a type Iceberg (format
                2) lacks or the lake refuses: ``timestamp[ns]``, ``null``, ``uint32``, ``uint64``.
            SchemaConflict: a column's type changes in a way Iceberg cannot promote.
        """
        wanted = checked_schema(schema)
        return self._with_retries(ref, "schema change", lambda: self._ensure_once(ref, wanted))

    def drop_table(self, ref: TableRef, *, purge: bool = False) -> None:
        """Remove the table from the catalog; with ``purge`` delete its directory too.

        Raises:
            NotFound: no such table.
        """
        location = Path(local_path(self._table(ref).location()))
        try:
            self.catalog.drop_table(ref.identifier)
        except NoSuchTableError:
            raise _table_not_found(ref) from None
        if purge:
            shutil.rmtree(location, ignore_errors=True)

    # ---- batches ------------------------------------------------------------------------------

    def data_dir(self, ref: TableRef, batch_id: str) -> Path:
        """The directory (created) for this batch's Parquet files: ``<table>/data/batch=<id>/``.

        Files there are invisible to readers until :meth:`commit_files` commits them.
        """
        path = self._location(ref) / "data" / f"batch={validate_batch_id(batch_id)}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def batch_files(self, ref: TableRef, batch_id: str) -> list[Path]:
        """The Parquet files in this batch's directory (and below), sorted; what to commit after
        a DuckDB ``COPY`` that wrote several files (``PER_THREAD_OUTPUT``, ``PARTITION_BY``)."""
        return sorted(self.data_dir(ref, batch_id).rglob("*.parquet"))

    def commit_files(
        self,
        ref: TableRef,
        files: Sequence[Path],
        *,
        batch_id: str,
        properties: dict[str, str] | None = None,
    ) -> SnapshotInfo:
        """Append ``files`` to the table as one snapshot carrying ``batch_id``; return it.

        Idempotent: if a snapshot already carries ``batch_id`` it is returned and nothing is
        committed, so a retried or resumed batch never lands twice. When another writer commits
        first the commit is retried (jittered backoff), re-checking the batch id each time. An empty
        ``files`` list still commits a snapshot (0 records), so an empty batch is recorded too.
        ``properties`` go into the snapshot summary (keys must not be Iceberg's own).

        Raises:
            NotFound: no such table.
            ValidationFailed: a bad batch id or property, or a file that is missing, not Parquet,
                or outside this batch's :meth:`data_dir`.
            SchemaConflict: the files' columns do not fit the table (call :meth:`ensure_table`).
            CommitContended: other writers won every attempt; nothing was committed.
        """
        summary = {BATCH_ID_PROPERTY: validate_batch_id(batch_id), **_checked_properties(properties)}
        table = self._table(ref)
        done = find_batch(table, batch_id)
        if done is not None:
            return snapshot_info(done)
        paths = checked_files(files, Path(local_path(table.location())) / "data" / f"batch={batch_id}")
        what = f"batch {batch_id} ({ref})"
        check_fit(what, table.schema(), paths, format_version=table.format_version)
        return self._with_retries(ref, f"batch {batch_id}", lambda: self._append_once(ref, paths, summary))

    def committed_batch(self, ref: TableRef, batch_id: str) -> SnapshotInfo | None:
        """The snapshot that committed ``batch_id``; ``None`` if it was not (or the table is missing)."""
        validate_batch_id(batch_id)
        try:
            table = self.catalog.load_table(ref.identifier)
        except NoSuchTableError:
            return None
        snapshot = find_batch(table, batch_id)
        return None if snapshot is None else snapshot_info(snapshot)

    def discard_batch(self, ref: TableRef, batch_id: str) -> None:
        """Delete an uncommitted batch's files (after a failed run, before writing it again).

        Raises:
            Conflict: the batch is committed; its files belong to the table now.
        """
        if self.committed_batch(ref, batch_id) is not None:
            raise Conflict(
                f"batch {batch_id} is committed to {ref}; its files are part of the table",
                value=batch_id,
            )
        shutil.rmtree(self.data_dir(ref, batch_id))

    # ---- snapshots and reading ----------------------------------------------------------------

    def history(self, ref: TableRef) -> list[SnapshotInfo]:
        """Every snapshot of the table, oldest first (one per committed batch)."""
        return [snapshot_info(snapshot) for snapshot in lineage(self._table(ref))]

    def snapshot_at(
        self, ref: TableRef, *, snapshot_id: int | None = None, as_of: datetime | None = None
    ) -> SnapshotInfo | None:
        """The snapshot with ``snapshot_id``, the one current at ``as_of``, or the current one.

        ``None`` when the table has no snapshot yet.

        Raises:
            NotFound: no such table or snapshot id, or ``as_of`` is before the first snapshot.
            ValidationFailed: both a snapshot id and a time, or a time without a time zone.
        """
        snapshot = resolve(self._table(ref), str(ref), snapshot_id=snapshot_id, as_of=as_of)
        return None if snapshot is None else snapshot_info(snapshot)

    def files(
        self, ref: TableRef, *, snapshot_id: int | None = None, as_of: datetime | None = None
    ) -> list[str]:
        """The local paths of the data files of a snapshot (the current one by default), sorted."""
        table = self._table(ref)
        return self._snapshot_files(table, resolve(table, str(ref), snapshot_id=snapshot_id, as_of=as_of))

    def relation(
        self,
        con: duckdb.DuckDBPyConnection,
        ref: TableRef,
        *,
        snapshot_id: int | None = None,
        as_of: datetime | None = None,
        columns: Sequence[str] | None = None,
    ) -> duckdb.DuckDBPyRelation:
        """A DuckDB relation over one snapshot's files: the current one, or a past one (time travel).

        The current snapshot is read with the table's current schema, a past one with the schema
        it was written with. A column added after some files were written reads as NULL in them;
        an empty table gives an empty relation with the right columns. ``columns`` picks and
        orders columns.

        Raises:
            NotFound: no such table or snapshot (see :meth:`snapshot_at`).
            ValidationFailed: an unknown column in ``columns``.
            Conflict: the snapshot has delete files (written by another engine), which this reader
                does not apply.
        """
        table = self._table(ref)
        snapshot = resolve(table, str(ref), snapshot_id=snapshot_id, as_of=as_of)
        # Now: the table's schema (a column just added reads as NULL). Time travel: the schema
        # the snapshot was written with, as Iceberg engines do.
        if snapshot is not None and (snapshot_id is not None or as_of is not None):
            schema = _snapshot_schema(table, snapshot.schema_id)
        else:
            schema = table.schema()
        files = self._snapshot_files(table, snapshot)
        if snapshot is not None and int(snapshot_info(snapshot).summary.get("total-delete-files", 0)):
            raise Conflict(
                f"snapshot {snapshot.snapshot_id} of {ref} has delete files, which gongshu does not write",
                hint="read it with an Iceberg engine (pyiceberg, Spark with the Iceberg runtime)",
            )
        return snapshot_relation(con, schema, files, columns=columns)

    def view(
        self,
        con: duckdb.DuckDBPyConnection,
        ref: TableRef,
        view_name: str,
        *,
        snapshot_id: int | None = None,
        as_of: datetime | None = None,
        columns: Sequence[str] | None = None,
    ) -> None:
        """Register :meth:`relation` as the temporary view ``view_name`` of ``con`` (replacing it)."""
        relation = self.relation(con, ref, snapshot_id=snapshot_id, as_of=as_of, columns=columns)
        relation.create_view(view_name, replace=True)

    # ---- internals ----------------------------------------------------------------------------

    def _location(self, ref: TableRef) -> Path:
        return self.warehouse / ref.zone.value / ref.name

    def _table(self, ref: TableRef) -> Table:
        try:
            return self.catalog.load_table(ref.identifier)
        except NoSuchTableError:
            raise _table_not_found(ref) from None

    def _snapshot_files(self, table: Table, snapshot: Snapshot | None) -> list[str]:
        if snapshot is None:
            return []
        tasks = table.scan(snapshot_id=snapshot.snapshot_id).plan_files()
        return sorted(local_path(task.file.file_path) for task in tasks)

    def _with_retries(self, ref: TableRef, what: str, attempt: Callable[[], T]) -> T:
        for number in range(self.commit_attempts):
            try:
                return attempt()
            except CommitFailedException:
                # full jitter: writers that collided spread out instead of colliding again
                time.sleep(random.uniform(0, min(0.5, 0.01 * 2**number)))
        raise CommitContended(
            f"{what} on {ref} lost to other writers {self.commit_attempts} times and was not committed",
            hint="retry it: commits are idempotent by batch id",
        )

    def _ensure_once(self, ref: TableRef, wanted: pa.Schema) -> list[SchemaChange]:
        try:
            return self._create_or_evolve(ref, wanted)
        except IcebergValidationError as error:
            raise SchemaConflict(
                f"{ref}: {error}",
                hint="Iceberg only widens int → long, float → double and decimal precision; "
                "keep the column's type (cast when writing) or add a new column",
            ) from None
        except (UnsupportedPyArrowTypeException, ValueError) as error:  # types Iceberg has not
            raise ValidationFailed({"schema": [str(error)]}, hint=TYPE_HINT) from None

    def _create_or_evolve(self, ref: TableRef, wanted: pa.Schema) -> list[SchemaChange]:
        if not self.exists(ref):
            try:
                self._create(ref, wanted)
            except TableAlreadyExistsError:
                pass  # another writer created it first: evolve theirs
            else:
                fields = self._table(ref).schema().fields
                return [SchemaChange("added", field.name, str(field.field_type)) for field in fields]
        table = self._table(ref)
        before = {field.name: str(field.field_type) for field in table.schema().fields}
        with table.update_schema() as update:
            update.union_by_name(wanted)
        after = [(field.name, str(field.field_type)) for field in table.schema().fields]
        return [change(name, type_, before.get(name)) for name, type_ in after if before.get(name) != type_]

    def _create(self, ref: TableRef, wanted: pa.Schema) -> None:
        if not self.catalog.namespace_exists(ref.zone.value):
            # another writer may create the zone between the check and the insert
            with contextlib.suppress(NamespaceAlreadyExistsError, sa.exc.IntegrityError):
                self.catalog.create_namespace(ref.zone.value, {"label": ref.zone.label})
        transaction = self.catalog.create_table_transaction(
            ref.identifier, schema=wanted, location=str(self._location(ref))
        )
        # The name mapping lets Iceberg readers (and add_files) match columns of files that carry
        # no field ids, as DuckDB writes them; pyiceberg keeps it current on every schema change.
        # pyiceberg's own commit retry is off: it would re-apply an append without re-checking
        # the batch id, so two writers of one batch could both land; _with_retries re-checks.
        mapping = transaction.table_metadata.schema().name_mapping.model_dump_json()
        transaction.set_properties(
            {TableProperties.DEFAULT_NAME_MAPPING: mapping, TableProperties.COMMIT_NUM_RETRIES: "0"}
        )
        transaction.commit_transaction()

    def _append_once(self, ref: TableRef, paths: list[str], summary: dict[str, str]) -> SnapshotInfo:
        table = self._table(ref)  # fresh: another writer may have committed (or committed this batch)
        done = find_batch(table, summary[BATCH_ID_PROPERTY])
        if done is not None:
            return snapshot_info(done)
        try:
            with table.transaction() as transaction:
                transaction.add_files(paths, snapshot_properties=summary, check_duplicate_files=False)
        except ValueError as error:  # what check_fit does not catch (nested types) pyiceberg does
            what = f"batch {summary[BATCH_ID_PROPERTY]} ({ref})"
            raise SchemaConflict(f"the files of {what} do not fit: {error}", hint=CAST_HINT) from None
        committed = find_batch(table, summary[BATCH_ID_PROPERTY])
        assert committed is not None, "the commit returned metadata without its snapshot"
        return snapshot_info(committed)


def open_lake(settings: Settings) -> Lake:
    """The platform's lake: the catalog in the metadata database, files in ``<data_dir>/lake``.

    Raises:
        ConfigError: the metadata URL is malformed or of an unsupported database.
        SourceUnavailable: the metadata database does not answer.
    """
    return Lake(settings.metadata_url, settings.data_dir / "lake")


def _table_not_found(ref: TableRef) -> NotFound:
    return NotFound(
        f"no lake table {ref}",
        hint=f"list the tables with `gongshu lake tables --zone {ref.zone.value}`",
        value=str(ref),
    )


def _valid_name(name: str) -> bool:
    try:
        TableRef(Zone.RAW, name)
    except ValidationFailed:
        return False
    return True


def _snapshot_schema(table: Table, schema_id: int | None) -> Schema:
    schemas = table.schemas()
    return schemas[schema_id] if schema_id is not None and schema_id in schemas else table.schema()


def _checked_properties(properties: dict[str, str] | None) -> dict[str, str]:
    problems = []
    for key, value in (properties or {}).items():
        if key in {"operation", BATCH_ID_PROPERTY} or key.startswith(_RESERVED_PREFIXES):
            problems.append(f"{key!r} is written by Iceberg or gongshu; use a key like 'gongshu.source'")
        elif not isinstance(value, str):
            problems.append(f"{key!r}: snapshot properties are strings, not {type(value).__name__}")
    if problems:
        raise ValidationFailed({"properties": problems})
    return dict(properties or {})
