"""Publication (发布): an open dataset's current data written once as the datastore and its downloads.

After each committed batch of a mounted open entry, :func:`publish_entry` reads the standard zone's
current state, keeps only the published (一般) 信息项 in catalogue order, sorts the rows by the
mount's key and writes one new version under ``<data_dir>/open/<name>/v<version>/``:

- ``data.parquet`` — the datastore (``_id`` + the fields; row groups of ~100k rows, zstd);
- ``data.csv`` — UTF-8 **without** a byte-order mark, a header row of item names, ``\\n`` line ends;
- ``data.json`` — one JSON array of objects (item name → value);
- ``data.xlsx`` — one sheet with a header of item names; omitted above Excel's 1,048,575 data rows.

Files are written to a temporary directory and renamed into place before the row is committed, so
a crash leaves either the previous publication or the new one, never half of one. A batch that is
already published publishes nothing (idempotent). The files of the newest :data:`KEEP_VERSIONS`
versions are kept; older rows stay as the update history (更新记录) without files.

Rows are sorted by the mount key when every key column is published; otherwise by the published
columns themselves (ordering rows by a withheld key would leak that key's order).
"""

from __future__ import annotations

# ruff: noqa: S608 - identifiers are quoted with sqlbits.ident; values are bound or literal paths via lit
import contextlib
import datetime as dt
import decimal
import hashlib
import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry
from gongshu.collect.sqlbits import ident, idents, lit
from gongshu.collect.stage import current_state_sql
from gongshu.engine import connect
from gongshu.errors import GongshuError, NotFound
from gongshu.lake import Lake, open_lake
from gongshu.lake.specs import TableRef, Zone
from gongshu.open.datasets import OPEN_GRADES, dataset_name, is_open
from gongshu.open.models import OpenPublication
from gongshu.orgs.roles import SYSTEM, Principal
from gongshu.platform import Platform
from gongshu.security import audit
from gongshu.share.slice import Resource, resource_of

#: The folder under the data directory that holds every publication.
OPEN_DIR = "open"
#: Versions whose files are kept; older versions keep only their row (the update history).
KEEP_VERSIONS = 3
#: Rows per Parquet row group of the datastore (its min/max statistics let filters skip groups).
ROW_GROUP_ROWS = 100_000
#: Excel's sheet limit (1,048,576 rows) less the header row.
XLSX_MAX_ROWS = 1_048_575
#: The file name of each format inside a version's folder.
FILE_NAMES = {"parquet": "data.parquet", "csv": "data.csv", "json": "data.json", "xlsx": "data.xlsx"}
#: The datastore's row number column (CKAN's ``_id``): 1-based, in the publication's row order.
ROW_ID = "_id"
_CHANGE_LOG = "open_changes"
_CURRENT = "open_current"


@dataclass(frozen=True)
class Layout:
    """What one publication writes: the published fields, their sort order and where they come from."""

    name: str
    fields: tuple[str, ...]
    key: tuple[str, ...]  # the mount key (compares versions), () when it is not wholly published
    order: tuple[str, ...]  # the sort columns (the key, or every published field)
    mount: str


def open_root(data_dir: Path) -> Path:
    return data_dir / OPEN_DIR


def version_dir(data_dir: Path, name: str, version: int) -> Path:
    """``<data_dir>/open/<name>/v<version>``."""
    return open_root(data_dir) / name / f"v{version}"


def layout_of(resource: Resource) -> Layout:
    """The published projection of a mounted resource (only 一般 items, catalogue order)."""
    fields = tuple(c.name for c in resource.columns if c.grade in OPEN_GRADES)
    key_published = bool(resource.key) and all(k in fields for k in resource.key)
    return Layout(
        name=dataset_name(resource.entry),
        fields=fields,
        key=resource.key if key_published else (),
        order=resource.key if key_published else fields,
        mount=resource.mount,
    )


def current_publication(session: Session, entry_id: int) -> OpenPublication | None:
    """The newest publication row of an entry."""
    return session.scalar(
        sa.select(OpenPublication)
        .where(OpenPublication.entry_id == entry_id)
        .order_by(OpenPublication.version.desc())
        .limit(1)
    )


def newest_batch(lake: Lake, mount: str) -> str | None:
    """The batch id of the newest committed snapshot of the mount's standard table (``None``: no data)."""
    ref = TableRef(Zone.STANDARD, mount)
    if not lake.exists(ref):
        return None
    history = lake.history(ref)
    return history[-1].batch_id if history else None


def publish_entry(
    platform: Platform, code: str, *, lake: Lake | None = None, actor: Principal = SYSTEM
) -> OpenPublication | None:
    """Publish the open entry ``code`` (资源代码) if its standard zone has a batch not yet published.

    Returns the new publication, the current one when the newest batch is already published, or
    ``None`` when the entry is not open, not mounted or has no standard-zone data yet.

    Raises:
        NotFound: no entry with that code.
    """
    data_dir = platform.settings.data_dir
    with platform.store.session() as session:
        entry = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == code))
        if entry is None:
            raise NotFound(f"no catalogue entry {code!r}", value=code)
        if not is_open(entry):
            return None
        try:
            resource = resource_of(session, entry.id)
        except NotFound:
            return None
        entry_id = entry.id
        previous = current_publication(session, entry_id)
        session.expunge_all()
    layout = layout_of(resource)
    if not layout.fields:
        return None
    with contextlib.ExitStack() as stack:
        if lake is None:
            lake = stack.enter_context(open_lake(platform.settings))
        batch_id = newest_batch(lake, layout.mount)
        if batch_id is None:
            return None
        if previous is not None and previous.batch_id == batch_id:
            return previous
        version = (previous.version if previous is not None else 0) + 1
        staging = _staging_dir(data_dir, layout.name)
        try:
            con = stack.enter_context(contextlib.closing(connect()))
            lake.view(con, TableRef(Zone.STANDARD, layout.mount), _CHANGE_LOG)
            files, rows = write_files(con, current_state_sql(_CHANGE_LOG, resource.key), layout, staging)
            changes = _changes(con, data_dir, previous, staging / FILE_NAMES["parquet"], layout, rows)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return _commit(platform, entry_id, layout, version, batch_id, staging, files, rows, changes, actor)


def _staging_dir(data_dir: Path, name: str) -> Path:
    folder = open_root(data_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".staging-*"):  # left by a crashed publisher: never a publication
        shutil.rmtree(stale, ignore_errors=True)
    staging = folder / f".staging-{secrets.token_hex(6)}"
    staging.mkdir()
    return staging


def _commit(
    platform: Platform,
    entry_id: int,
    layout: Layout,
    version: int,
    batch_id: str,
    staging: Path,
    files: dict[str, Any],
    rows: int,
    changes: dict[str, Any],
    actor: Principal,
) -> OpenPublication:
    """Rename the staged files into ``v<version>`` and commit the row (the rename comes first)."""
    data_dir = platform.settings.data_dir
    target = version_dir(data_dir, layout.name, version)
    relative = target.relative_to(data_dir).as_posix()
    recorded = {
        fmt: ({**doc, "path": f"{relative}/{FILE_NAMES[fmt]}"} if "sha256" in doc else doc)
        for fmt, doc in files.items()
    }
    try:
        with platform.store.session() as session:
            publication = OpenPublication(
                entry_id=entry_id,
                version=version,
                batch_id=batch_id,
                rows=rows,
                fields=list(layout.fields),
                datastore=f"{relative}/{FILE_NAMES['parquet']}",
                files=recorded,
                changes=changes,
            )
            session.add(publication)
            session.flush()  # claims the version: a concurrent publisher fails here (unique)
            audit.record(
                session,
                actor=actor.name,
                action="open.publish",
                object_type="catalog_entry",
                object_id=layout.name,
                detail={"version": version, "batch": batch_id, "rows": rows, "fields": list(layout.fields)},
            )
            _crash_point("publish_before_rename")
            if target.exists():  # renamed by a publisher that crashed before its commit: no row
                shutil.rmtree(target)
            staging.rename(target)
            _crash_point("publish_after_rename")
        # the row is committed: the session is closed, the object keeps its loaded attributes
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    prune(platform, entry_id, layout.name)
    return publication


def prune(platform: Platform, entry_id: int, name: str, *, keep: int = KEEP_VERSIONS) -> list[int]:
    """Delete the files of all but the newest ``keep`` versions (and orphan folders); returns those pruned."""
    with platform.store.session() as session:
        versions = list(
            session.scalars(
                sa.select(OpenPublication.version)
                .where(OpenPublication.entry_id == entry_id)
                .order_by(OpenPublication.version.desc())
            )
        )
    kept = set(versions[:keep])
    folder = open_root(platform.settings.data_dir) / name
    pruned = []
    for path in folder.glob("v*"):
        number = path.name[1:]
        if path.is_dir() and number.isdigit() and int(number) not in kept:
            newest = versions[0] if versions else 0
            if int(number) > newest:
                continue  # being committed right now by another publisher
            shutil.rmtree(path, ignore_errors=True)
            pruned.append(int(number))
    return sorted(pruned)


# -- writing the files -----------------------------------------------------------------------------


def write_files(
    con: duckdb.DuckDBPyConnection, source_sql: str, layout: Layout, folder: Path
) -> tuple[dict[str, Any], int]:
    """Write the four files of ``source_sql`` (a ``SELECT`` with at least the layout's fields) to ``folder``.

    Returns the files' documents (``path`` relative to ``folder`` here) and the row count. The Parquet
    file is written first, sorted, and the other formats are read back from it so all four agree.
    """
    parquet = folder / FILE_NAMES["parquet"]
    order = idents(layout.order)
    columns = idents(layout.fields)
    con.execute(
        f"COPY (SELECT row_number() OVER (ORDER BY {order}) AS {ident(ROW_ID)}, {columns} "
        f"FROM ({source_sql}) ORDER BY {order}) TO {lit(str(parquet))} "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS})"
    )
    rows = pq.ParquetFile(parquet).metadata.num_rows
    published = f"SELECT {columns} FROM read_parquet({lit(str(parquet))}) ORDER BY {ident(ROW_ID)}"
    con.execute(f"COPY ({published}) TO {lit(str(folder / FILE_NAMES['csv']))} (FORMAT csv, HEADER true)")
    con.execute(f"COPY ({published}) TO {lit(str(folder / FILE_NAMES['json']))} (FORMAT json, ARRAY true)")
    files: dict[str, Any] = {}
    if rows > XLSX_MAX_ROWS:
        files["xlsx"] = {"omitted": f"{rows:,} rows exceed Excel's limit of {XLSX_MAX_ROWS:,} data rows"}
    else:
        write_xlsx(parquet, layout.fields, folder / FILE_NAMES["xlsx"])
    for fmt, file_name in FILE_NAMES.items():
        if fmt not in files:
            path = folder / file_name
            files[fmt] = {
                "path": file_name,
                "bytes": path.stat().st_size,
                "rows": rows,
                "sha256": sha256_of(path),
            }
    return files, rows


def write_xlsx(parquet: Path, fields: Sequence[str], target: Path) -> None:
    """One sheet of ``fields`` from the Parquet file, row by row in constant memory."""
    import xlsxwriter

    options = {
        "constant_memory": True,
        "strings_to_formulas": False,  # a value starting with '=' stays text (no formula injection)
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "default_date_format": "yyyy-mm-dd",
        "remove_timezone": True,
    }
    workbook = xlsxwriter.Workbook(str(target), options)
    try:
        sheet = workbook.add_worksheet("data")
        sheet.write_row(0, 0, list(fields))
        datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        row = 1
        for values in _parquet_rows(parquet, fields):
            for column, value in enumerate(values):
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(row, column, value, datetime_format)
                else:
                    sheet.write(row, column, _cell(value))
            row += 1
    finally:
        workbook.close()


def _parquet_rows(parquet: Path, fields: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    for batch in pq.ParquetFile(parquet).iter_batches(batch_size=10_000, columns=list(fields)):
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


def _cell(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | dict):
        return str(value)
    return value


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _changes(
    con: duckdb.DuckDBPyConnection,
    data_dir: Path,
    previous: OpenPublication | None,
    parquet: Path,
    layout: Layout,
    rows: int,
) -> dict[str, Any]:
    """Rows added, removed and changed against the previous version (by key; by whole rows without one)."""
    old_path = data_dir / previous.datastore if previous is not None else None
    if previous is None or old_path is None or not old_path.exists():
        return {"added": rows, "removed": 0, "changed": 0, "previous": None}
    new, old = f"read_parquet({lit(str(parquet))})", f"read_parquet({lit(str(old_path))})"
    common = [f for f in layout.fields if f in previous.fields]
    if layout.key:
        key = idents(layout.key)
        differs = " OR ".join(f"n.{ident(f)} IS DISTINCT FROM o.{ident(f)}" for f in common) or "false"
        added, removed, changed = _one(
            con,
            f"SELECT count(*) FILTER (WHERE o._present IS NULL), "
            f"count(*) FILTER (WHERE n._present IS NULL), "
            f"count(*) FILTER (WHERE n._present AND o._present AND ({differs})) "
            f"FROM (SELECT *, true AS _present FROM {new}) n "
            f"FULL OUTER JOIN (SELECT *, true AS _present FROM {old}) o USING ({key})",
        )
    else:
        cols = idents(common) if common else "1"
        added = _one(
            con, f"SELECT count(*) FROM (SELECT {cols} FROM {new} EXCEPT ALL SELECT {cols} FROM {old})"
        )[0]
        removed = _one(
            con, f"SELECT count(*) FROM (SELECT {cols} FROM {old} EXCEPT ALL SELECT {cols} FROM {new})"
        )[0]
        changed = 0
    return {"added": added, "removed": removed, "changed": changed, "previous": previous.version}


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, ...]:
    row = con.execute(sql).fetchone()
    assert row is not None
    return tuple(int(v or 0) for v in row)


def _crash_point(point: str) -> None:
    """Test hook: ``GONGSHU_CRASH_AT=<point>`` kills the process here as ``kill -9`` would."""
    if os.environ.get("GONGSHU_CRASH_AT") == point:
        os._exit(137)


# -- after a batch, and all at once ----------------------------------------------------------------


def publish_after_batch(platform: Platform, mount_name: str, notes: list[str] | None = None) -> None:
    """Publish the entry mounted as ``mount_name`` after a committed batch (``collect.pipeline.run_mount``).

    A failure becomes a note; it never fails the batch.
    """
    from gongshu.collect.models import Mount

    with platform.store.session() as session:
        code = session.scalar(
            sa.select(CatalogEntry.code)
            .join(Mount, Mount.entry_id == CatalogEntry.id)
            .where(Mount.name == mount_name)
        )
    if code is None:
        return
    try:
        publish_entry(platform, code)
    except Exception as error:  # like subscribed deliveries: recorded, never raised into the batch
        if notes is not None:
            what = (
                f"{error.code}: {error.message}" if isinstance(error, GongshuError) else type(error).__name__
            )
            notes.append(f"开放发布 publication {code}: {what}")


def publish_all(platform: Platform, *, actor: Principal = SYSTEM) -> list[tuple[str, OpenPublication | None]]:
    """Publish every open, mounted entry that has a batch not yet published; (code, publication) each."""
    from gongshu.collect.models import Mount

    with platform.store.session() as session:
        entries = list(
            session.scalars(
                sa.select(CatalogEntry)
                .join(Mount, Mount.entry_id == CatalogEntry.id)
                .where(Mount.active.is_(True))
                .order_by(CatalogEntry.code)
            ).unique()
        )
        codes = [e.code for e in entries if is_open(e)]
    done = []
    with open_lake(platform.settings) as lake:
        for code in codes:
            done.append((code, publish_entry(platform, code, lake=lake, actor=actor)))
    return done
