"""The lake (数据湖): Apache Iceberg tables in three zones — raw 原始库, standard 标准库, quarantine 问题数据.

The catalog lives in the metadata database (pyiceberg's SQL catalog), Parquet files under
``<data_dir>/lake``. Pipelines write a batch's files with DuckDB and commit them as one snapshot,
idempotently by batch id; readers get a DuckDB relation over any snapshot. See ``docs/lake.md``
and ``docs/adr/0002-lake-table-format.md``.
"""

from __future__ import annotations

from gongshu.lake.errors import CommitContended, SchemaConflict
from gongshu.lake.lake import Lake, open_lake
from gongshu.lake.specs import BATCH_ID_PROPERTY, Column, SchemaChange, SnapshotInfo, TableRef, Zone

__all__ = [
    "BATCH_ID_PROPERTY",
    "Column",
    "CommitContended",
    "Lake",
    "SchemaChange",
    "SchemaConflict",
    "SnapshotInfo",
    "TableRef",
    "Zone",
    "open_lake",
]
