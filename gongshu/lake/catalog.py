"""The Iceberg catalog of the lake: pyiceberg's SQL catalog inside the metadata database.

pyiceberg keeps two tables there, ``iceberg_tables`` (one row per table: the location of its
current metadata file, which a commit swaps by compare-and-set) and ``iceberg_namespace_properties``
(one row per zone). They sit beside gongshu's own tables but are not part of its Alembic schema.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import sqlalchemy as sa
from pyiceberg.catalog.sql import SqlCatalog

from gongshu.store import open_store

#: The catalog's name (the ``catalog_name`` column of pyiceberg's tables).
CATALOG_NAME = "gongshu"


def open_catalog(uri: str, warehouse: Path) -> SqlCatalog:
    """The SQL catalog at the SQLAlchemy URL ``uri`` with its default warehouse at ``warehouse``.

    Raises:
        ConfigError: the URL is malformed or not SQLite / PostgreSQL.
        SourceUnavailable: the database does not answer.
    """
    # The store's engine, not pyiceberg's own: it waits on a busy SQLite file (30 s, WAL) instead of
    # failing after 5 s, and pings pooled PostgreSQL connections; both matter to concurrent commits.
    engine = open_store(uri).engine
    catalog = SqlCatalog(CATALOG_NAME, uri=uri, warehouse=str(warehouse), init_catalog_tables="false")
    catalog.engine.dispose()
    catalog.engine = engine
    _create_catalog_tables(catalog)
    return catalog


_CREATE_LOCK = threading.Lock()


def _create_catalog_tables(catalog: SqlCatalog) -> None:
    """Create pyiceberg's tables where absent; safe when threads and processes race to do it."""
    with _CREATE_LOCK:
        for attempt in range(5):
            try:
                catalog.create_tables()  # CREATE TABLE only where absent
                return
            except sa.exc.DBAPIError:
                # another process created them between the check and the create; fine once they exist
                inspector = sa.inspect(catalog.engine)
                if {"iceberg_tables", "iceberg_namespace_properties"} <= set(inspector.get_table_names()):
                    return
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
