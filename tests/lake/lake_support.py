"""Helpers for the lake tests: write a batch's Parquet files with DuckDB and commit them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from gongshu.lake import Lake, SnapshotInfo, TableRef


def write(lake: Lake, ref: TableRef, batch_id: str, sql: str, *, name: str = "part-0.parquet") -> Path:
    """Write the rows of ``sql`` as one Parquet file of the batch, the way the pipeline does (DuckDB)."""
    path = lake.data_dir(ref, batch_id) / name
    with duckdb.connect() as con:
        con.sql(sql).write_parquet(str(path))
    return path


def commit(lake: Lake, ref: TableRef, batch_id: str, sql: str, **properties: str) -> SnapshotInfo:
    """Write ``sql``'s rows as a batch and commit it; the table's schema follows the file's."""
    import pyarrow.parquet as pq

    path = write(lake, ref, batch_id, sql)
    lake.ensure_table(ref, pq.read_schema(path))
    return lake.commit_files(ref, [path], batch_id=batch_id, properties=properties or None)


def commit_in_process(uri: str, warehouse: str, table: str, prefix: str, count: int, barrier: Any) -> None:
    """Entry point of a child process: commit ``count`` batches of 10 rows each into ``table``."""
    ref = TableRef.parse(table)
    with Lake(uri, Path(warehouse)) as lake:
        barrier.wait(timeout=60)
        for number in range(count):
            start = int(prefix.removeprefix("p")) * 1000 + number * 10
            batch = f"{prefix}-{number}"
            path = write(lake, ref, batch, f"SELECT range AS id FROM range({start}, {start + 10})")
            lake.commit_files(ref, [path], batch_id=batch)
