"""File sources (文件交换): a drop zone's files, or one file, in sorted name order.

Every file is inspected first (encoding, header / keys), so that all raw files of the batch carry
the same columns in the same order: the union of the files' columns in order of first appearance
(a file without a column has NULL there, and a note says so). Then each file is written to its
raw Parquet file(s), in order. An empty (0-byte) file is read as no rows and noted.

``fingerprint`` is the SHA-256 of the files' bytes, concatenated in reading order (for one file:
the file's own SHA-256), computed in a background thread while the files are parsed.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from gongshu.collect.connectors import csvfile, jsonfile, parquetfile, xlsx
from gongshu.collect.connectors.errors import SourceFailed
from gongshu.collect.connectors.filebase import Context, FileInput
from gongshu.collect.connectors.output import FileHasher, RawOutput
from gongshu.collect.connectors.results import Extracted, Reject
from gongshu.collect.connectors.specs import FileSource
from gongshu.engine import connect
from gongshu.errors import SourceUnavailable

EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".parquet": "parquet",
}


def _reader(fmt: str) -> ModuleType:
    return {"csv": csvfile, "xlsx": xlsx, "json": jsonfile, "ndjson": jsonfile, "parquet": parquetfile}[fmt]


def list_files(spec: FileSource) -> list[tuple[Path, str]]:
    """The files to read, with their names relative to the drop zone, in sorted name order."""
    root = Path(spec.path)
    if root.is_file():
        return [(root, root.name)]
    if not root.is_dir():
        raise SourceUnavailable(
            f"文件或目录不存在 / the drop zone or file {root} does not exist",
            hint="check `path`, and that the share is mounted on this machine",
        )
    found = [p for p in root.glob(spec.pattern) if p.is_file() and not p.name.startswith(".")]
    return [(p, p.name) for p in sorted(found, key=lambda p: p.name)]


def file_format(spec: FileSource, path: Path, name: str) -> str:
    if spec.format != "auto":
        return spec.format
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise SourceFailed(
            f"无法从扩展名判断 {name} 的格式 / cannot tell the format of {name} from its extension",
            hint="set `format` (csv, xlsx, json, ndjson, parquet) or narrow `pattern`",
        )
    return fmt


def extract_files(spec: FileSource, out: RawOutput, *, batch_id: str) -> Extracted:
    """Read every file of the drop zone into the raw zone (see the module docstring)."""
    paths = list_files(spec)
    hasher = FileHasher([p for p, _ in paths])
    con = connect()
    ctx = Context(spec, out, con, batch_id)
    notes: list[str] = [] if paths else [f"没有匹配 {spec.pattern} 的文件 / no file matches {spec.pattern!r}"]
    try:
        inputs = _inspect_all(ctx, paths, notes)
        columns = _union(inputs, notes)
        files: list[Path] = []
        rejects: list[Reject] = []
        types: dict[str, str] = {}
        written = 0
        for item in inputs:
            outcome = _reader(item.format).write(ctx, item, columns)
            files += outcome.files
            written += outcome.rows_written
            rejects += outcome.rejects
            notes += [*item.notes, *outcome.notes]
            for column, declared in outcome.types.items():
                types.setdefault(column, declared)
    except OSError as error:  # a file vanished or cannot be read (permissions, a dropped share)
        hasher.cancel()
        raise SourceUnavailable(
            f"文件读取失败 / reading the drop zone failed: {error.strerror or type(error).__name__} "
            f"({Path(error.filename).name if error.filename else spec.path})",
            hint="check the files' permissions and that the share is mounted; retry later",
        ) from None
    except BaseException:
        hasher.cancel()
        raise
    finally:
        con.close()
    return Extracted(
        files=files,
        columns=columns,
        source_types={c: types.get(c, "VARCHAR") for c in columns},
        rows_read=written + len(rejects),
        rows_written=written,
        rejects=rejects,
        fingerprint=hasher.result(),
        cursor_max=None,
        sources=[name for _, name in paths],
        notes=notes,
    )


def _inspect_all(ctx: Context, paths: list[tuple[Path, str]], notes: list[str]) -> list[FileInput]:
    inputs = []
    for path, name in paths:
        if path.stat().st_size == 0:
            notes.append(f"空文件已跳过 / empty file skipped: {name}")
            continue
        fmt = file_format(ctx.spec, path, name)
        reader = _reader(fmt)
        inspect = (
            reader.inspect_document
            if fmt == "json"
            else reader.inspect_ndjson
            if fmt == "ndjson"
            else reader.inspect
        )
        inputs.append(inspect(ctx, path, name))
    return inputs


def _union(inputs: list[FileInput], notes: list[str]) -> list[str]:
    """All files' columns, in order of first appearance; files lacking some are noted.

    Names are matched case-insensitively (``ID`` in one file is ``id`` in the next), and each
    input's mapping is re-keyed to the union's spelling.
    """
    columns: list[str] = []
    spelling: dict[str, str] = {}
    for item in inputs:
        for column in item.columns:
            if column.casefold() not in spelling:
                spelling[column.casefold()] = column
                columns.append(column)
    for item in inputs:
        item.mapping = {spelling[c.casefold()]: reader for c, reader in item.mapping.items()}
        item.types = {spelling[c.casefold()]: t for c, t in item.types.items()}
        item.columns = [spelling[c.casefold()] for c in item.columns]
        missing = [c for c in columns if c not in item.mapping]
        if missing and item.columns:
            notes.append(
                f"{item.name} 缺少列（置空）/ {item.name} lacks column(s), left empty: {', '.join(missing)}"
            )
    return columns
