"""The raw zone's files of one extraction (原始库文件): names, schema, writers, scratch space.

Every raw file has the source's columns (all VARCHAR) in one order, then ``_batch_id`` and
``_source``. Files are named ``raw-00000.parquet``, ``raw-00001.parquet`` … in source order, so a
sorted listing is also the order of the rows; names never come from the (untrusted) source.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from gongshu.collect.sqlbits import ident

META_COLUMNS = ("_batch_id", "_source")
_BLOCK = 8 << 20


class RawOutput:
    """Allocates raw file names in ``out_dir`` and a scratch directory, removed by :meth:`close`."""

    def __init__(self, out_dir: Path, batch_id: str) -> None:
        self.out_dir = out_dir
        self.batch_id = batch_id
        self.files: list[Path] = []
        self._scratch_count = 0
        out_dir.mkdir(parents=True, exist_ok=True)
        self.scratch = out_dir / ".scratch"
        self.scratch.mkdir(exist_ok=True)

    def next_file(self) -> Path:
        """The next raw file's path (appended to :attr:`files`)."""
        path = self.out_dir / f"raw-{len(self.files):05d}.parquet"
        self.files.append(path)
        return path

    def scratch_file(self, name: str) -> Path:
        """A new path in the scratch directory (a counter keeps names unique)."""
        self._scratch_count += 1
        return self.scratch / f"{self._scratch_count:05d}-{name}"

    def close(self, *, failed: bool) -> None:
        """Remove the scratch directory; after a failure also every raw file written so far."""
        shutil.rmtree(self.scratch, ignore_errors=True)
        if failed:
            for path in self.files:
                path.unlink(missing_ok=True)


def raw_schema(columns: Sequence[str]) -> pa.Schema:
    return pa.schema([pa.field(name, pa.string()) for name in [*columns, *META_COLUMNS]])


class ArrowRawWriter:
    """Writes batches of text columns to one raw file with pyarrow (XLSX, HTTP, MySQL, SQLite)."""

    def __init__(self, path: Path, columns: Sequence[str], *, batch_id: str, source: str) -> None:
        self.schema = raw_schema(columns)
        self.columns = list(columns)
        self.batch_id = batch_id
        self.source = source
        self.rows = 0
        self._writer = pq.ParquetWriter(path, self.schema)

    def write_columns(
        self, arrays: Sequence[pa.Array | list[Any]], rows: int, *, source: str | None = None
    ) -> None:
        """Append ``rows`` rows given column-wise (pyarrow string arrays or lists of str | None).

        ``source`` overrides the writer's ``_source`` for these rows (an HTTP page's URL).
        """
        if rows == 0:
            return
        data = [a if isinstance(a, pa.Array) else pa.array(a, pa.string()) for a in arrays]
        data.append(pa.repeat(pa.scalar(self.batch_id, pa.string()), rows))
        data.append(pa.repeat(pa.scalar(source or self.source, pa.string()), rows))
        self._writer.write_table(pa.Table.from_arrays(data, schema=self.schema))
        self.rows += rows

    def close(self) -> None:
        self._writer.close()


def unique_names(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Column names made usable: blanks become ``column<N>``, case-insensitive repeats get ``_2``…

    Returns the names and notes describing every change. DuckDB (and most lake readers) treat
    names case-insensitively, so ``ID`` and ``id`` cannot both be columns.
    """
    result: list[str] = []
    notes: list[str] = []
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        candidate = name.strip() if name.strip() else f"column{position}"
        if not name.strip():
            notes.append(
                f"第 {position} 列无列名，命名为 {candidate} / column {position} has no name: {candidate}"
            )
        base, suffix = candidate, 2
        while candidate.casefold() in seen or candidate in META_COLUMNS:
            candidate = f"{base}_{suffix}"
            suffix += 1
        if candidate != base:
            notes.append(
                f"列名重复，{base} 改为 {candidate} / repeated column name {base!r} renamed {candidate!r}"
            )
        seen.add(candidate.casefold())
        result.append(candidate)
    return result, notes


def select_list(mapping: dict[str, str], columns: Sequence[str]) -> str:
    """``"src" AS "name"`` for each raw column (``NULL`` where this input lacks it), then the meta columns.

    The meta columns' values are the bound parameters ``$batch`` and ``$source``.
    """
    parts = []
    for name in columns:
        source = mapping.get(name)
        expr = ident(source) if source is not None else "CAST(NULL AS VARCHAR)"
        parts.append(f"{expr} AS {ident(name)}")
    parts += ["$batch AS _batch_id", "$source AS _source"]
    return ", ".join(parts)


class FileHasher:
    """SHA-256 over files' bytes, computed in a background thread while they are parsed."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._digest = hashlib.sha256()
        self._error: BaseException | None = None
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(list(paths),), daemon=True)
        self._thread.start()

    def _run(self, paths: list[Path]) -> None:
        try:
            for path in paths:
                with path.open("rb") as handle:
                    while (block := handle.read(_BLOCK)) and not self._cancelled.is_set():
                        self._digest.update(block)  # hashlib releases the GIL for large blocks
        except BaseException as error:  # reported by result()
            self._error = error

    def cancel(self) -> None:
        """Stop hashing (the extraction failed); returns at once."""
        self._cancelled.set()

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest()
