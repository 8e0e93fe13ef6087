"""Open DuckDB connections that never download anything (离线可用).

DuckDB's optional extensions (GB18030 and other encodings, the SQLite / PostgreSQL / MySQL
scanners) are installed as ``duckdb-extension-*`` wheels pinned to DuckDB's version; this module
loads them from those wheels by path. Auto-install and auto-load from DuckDB's server are switched
off, so a missing extension is a clear error instead of a network call.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import duckdb

from gongshu.errors import ConfigError

#: extension name → the Python package of its wheel
EXTENSIONS = {
    "encodings": "duckdb_extension_encodings",
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "mysql_scanner": "duckdb_extension_mysql_scanner",
}


def extension_path(name: str) -> Path:
    """The ``.duckdb_extension`` file shipped in the wheel of extension ``name``."""
    package = EXTENSIONS.get(name)
    if package is None:
        raise ConfigError(f"unknown DuckDB extension {name!r}; known: {', '.join(sorted(EXTENSIONS))}")
    try:
        module = importlib.import_module(package)
    except ImportError as error:
        raise ConfigError(
            f"the DuckDB extension {name!r} is not installed",
            hint=f"install the wheel {package.replace('_', '-')}=={duckdb.__version__} (make setup does)",
        ) from error
    folder = Path(module.__file__ or "").parent / "extensions" / f"v{duckdb.__version__}"
    found = sorted(folder.glob(f"{name}.duckdb_extension"))
    if not found:
        raise ConfigError(f"the wheel {package} has no extension for DuckDB {duckdb.__version__} in {folder}")
    return found[0]


def connect(
    database: str | Path = ":memory:",
    *,
    extensions: tuple[str, ...] = (),
    threads: int | None = None,
    memory_limit: str | None = None,
    temp_directory: Path | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with ``extensions`` loaded from their wheels and no network access."""
    config: dict[str, Any] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp_directory:
        temp_directory.mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(temp_directory)
    con = duckdb.connect(str(database), config=config)
    con.execute("SET enable_progress_bar = false")  # a local setting; not accepted in config
    for name in extensions:
        con.load_extension(str(extension_path(name)))
    return con
