"""JSON documents and NDJSON files through DuckDB's JSON reader, every value as text.

NDJSON (one object per line): the keys of all records, in order of first appearance, are the
columns; strings come through as they are, numbers and booleans as their JSON text (``1.5``,
``true``), nested objects and arrays as JSON text, ``null`` as NULL. A line that is not a JSON
object becomes a :class:`Reject` with its line number; the other lines are kept (the file is
then re-read without the bad lines, so the fast path costs nothing when the file is clean).

A JSON document: its records array is found at ``json_path`` (dotted, e.g. ``data.records``) or,
without one, the document itself when it is an array, else the one array of objects it holds
(top-level keys first); the records are then read like NDJSON (``line`` = record number).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from gongshu.collect.connectors.errors import SourceFailed
from gongshu.collect.connectors.filebase import Context, FileInput, FileOutcome, inferred, target_literal
from gongshu.collect.connectors.output import select_list, unique_names
from gongshu.collect.connectors.results import Reject

#: largest single record (NDJSON line) accepted
MAX_RECORD_BYTES = 64 << 20


def inspect_ndjson(ctx: Context, path: Path, name: str) -> FileInput:
    """The columns of an NDJSON file (a clean copy is made first if some lines are bad)."""
    return _inspect_lines(ctx, path, name, fmt="ndjson", notes=[])


def inspect_document(ctx: Context, path: Path, name: str) -> FileInput:
    """Find the records array of a JSON document and write it out as NDJSON in the scratch area."""
    keys, notes = _records_path(ctx, path, name)
    lines = ctx.out.scratch_file("records.ndjson")
    params: dict[str, Any] = {"path": str(path), "max": path.stat().st_size + 1}
    if keys is None:
        select, params["max"] = "CAST(json AS VARCHAR)", MAX_RECORD_BYTES
    elif not any('"' in k or "\\" in k for k in keys):  # a JSONPath wildcard is twice as fast
        select = "CAST(unnest(json_extract(json, $where)) AS VARCHAR)"
        params["where"] = "$" + "".join(f'."{k}"' for k in keys) + "[*]"
    else:
        select = "CAST(unnest(CAST(json_extract(json, $where) AS JSON[])) AS VARCHAR)"
        params["where"] = _pointer(keys)
    layout = "array" if keys is None else "unstructured"
    source = f"SELECT {select} FROM read_json_objects($path, format = '{layout}', maximum_object_size = $max)"  # noqa: S608 - constants only
    try:
        row = ctx.con.execute(
            f"COPY ({source}) TO {target_literal(lines)} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', "
            "DELIMITER '\x01')",
            params,
        ).fetchone()
    except duckdb.Error as error:
        raise SourceFailed(
            f"{name} 不是合法的 JSON 文档 / {name} is not a readable JSON document: {_line(error)}"
        ) from None
    if keys is not None and (not row or row[0] == 0):
        _check_array(ctx, path, name, keys)
    return _inspect_lines(ctx, lines, name, fmt="json", notes=notes)


def _check_array(ctx: Context, path: Path, name: str, keys: list[str]) -> None:
    """No records were found at ``keys``: fine if it is an empty array, else a clear error."""
    row = ctx.con.execute(
        "SELECT json_type(json_extract(json, $where)) FROM read_json_objects($path, format = 'unstructured', "
        "maximum_object_size = $max)",
        {"path": str(path), "where": _pointer(keys), "max": path.stat().st_size + 1},
    ).fetchone()
    if not row or row[0] != "ARRAY":
        raise SourceFailed(
            f"{name} 的 {'.'.join(keys)} 不是数组 / {'.'.join(keys)} in {name} is not an array of records",
            hint="check `json_path`",
        )


def _records_path(ctx: Context, path: Path, name: str) -> tuple[list[str] | None, list[str]]:
    """The keys leading to the records (None: the document is the array), and a note on how found."""
    with path.open("rb") as handle:
        start = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"[" and ctx.spec.json_path is None:
        return None, [f"{name}: 记录为顶层数组 / records: the top-level array"]
    if ctx.spec.json_path is not None:
        parts = ctx.spec.json_path.split(".")
        return parts, [f"{name}: 记录路径 / records at {ctx.spec.json_path}"]
    try:
        row = ctx.con.execute(
            "SELECT json_structure(json) FROM read_json_objects($path, format = 'unstructured', "
            "maximum_object_size = $max)",
            {"path": str(path), "max": path.stat().st_size + 1},
        ).fetchone()
    except duckdb.Error as error:
        raise SourceFailed(
            f"{name} 不是合法的 JSON 文档 / {name} is not a readable JSON document: {_line(error)}"
        ) from None
    structure = json.loads(row[0]) if row and row[0] else None
    candidates = _arrays_of_objects(structure, [])
    top = [c for c in candidates if len(c) == 1]
    chosen = top if len(top) == 1 else candidates
    if len(chosen) != 1:
        found = ", ".join(".".join(c) for c in candidates) or "none"
        raise SourceFailed(
            f"无法确定 {name} 中的记录数组 / cannot tell which array of {name} holds the records "
            f"(found: {found})",
            hint="set `json_path`, e.g. json_path: data.items",
        )
    return chosen[0], [f"{name}: 记录路径（自动）/ records found at {'.'.join(chosen[0])}"]


def _arrays_of_objects(structure: Any, path: list[str], depth: int = 0) -> list[list[str]]:
    if not isinstance(structure, dict) or depth > 4:
        return []
    found: list[list[str]] = []
    for key, value in structure.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            found.append([*path, key])
        elif isinstance(value, dict):
            found.extend(_arrays_of_objects(value, [*path, key], depth + 1))
    return found


def _pointer(parts: list[str]) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _inspect_lines(ctx: Context, path: Path, name: str, *, fmt: str, notes: list[str]) -> FileInput:
    rejects: list[Reject] = []
    read = path
    try:
        described = _describe(ctx, path)
    except duckdb.Error:
        read = ctx.out.scratch_file("clean.ndjson")
        rejects, recovered = _clean(path, read, name)
        if recovered:
            notes.append(
                f"{name}: {recovered} 行为 GB18030 编码，已恢复 / {recovered} GB18030 line(s) recovered"
            )
        try:
            described = _describe(ctx, read) if read.stat().st_size else []
        except duckdb.Error as error:
            raise SourceFailed(f"{name} 无法读取 / {name} cannot be read: {_line(error)}") from None
    if [tuple(row[:2]) for row in described] == [("json", "JSON")] and _no_records(ctx, read):
        described = []  # DuckDB describes a file of blank lines as one JSON column
    keys = [str(row[0]) for row in described]
    columns, renamed = unique_names(keys)
    mapping = dict(zip(columns, keys, strict=True))
    types = {c: _type(str(row[1])) for c, row in zip(columns, described, strict=True)}
    detail = {"read": read, "keys": keys}
    return FileInput(path, name, fmt, columns, mapping, [*notes, *renamed], rejects, detail, types)


def _describe(ctx: Context, path: Path) -> list[tuple[Any, ...]]:
    return ctx.con.execute(
        "DESCRIBE SELECT * FROM read_json($path, format = 'newline_delimited', maximum_depth = 2, "
        "sample_size = -1, maximum_object_size = $max)",
        {"path": str(path), "max": MAX_RECORD_BYTES},
    ).fetchall()


def _no_records(ctx: Context, path: Path) -> bool:
    row = ctx.con.execute(
        "SELECT count(*) FROM read_json_objects($path, format = 'newline_delimited')", {"path": str(path)}
    ).fetchone()
    return not row or row[0] == 0


def _type(duckdb_type: str) -> str:
    """``inferred:<type>`` for scalars, ``inferred:JSON`` for nested values, ``VARCHAR`` for strings."""
    if duckdb_type == "JSON" or duckdb_type.startswith(("STRUCT", "MAP")) or duckdb_type.endswith("]"):
        return "inferred:JSON"
    return inferred(duckdb_type)


def _clean(source: Path, target: Path, name: str) -> tuple[list[Reject], int]:
    """Copy the lines that are JSON objects to ``target`` (UTF-8); the others become rejects."""
    rejects: list[Reject] = []
    recovered = 0
    with source.open("rb") as reader, target.open("wb") as writer:
        for number, line in enumerate(reader, start=1):
            stripped = line.strip()
            if not stripped:
                continue
            try:
                text = stripped.decode("utf-8")
            except UnicodeDecodeError:
                try:
                    text = stripped.decode("gb18030")
                    recovered += 1
                except UnicodeDecodeError:
                    rejects.append(
                        Reject.make(
                            name, number, "无法解码", "cannot be decoded as UTF-8 or GB18030", stripped
                        )
                    )
                    continue
            problem = _object_problem(text)
            if problem:
                rejects.append(Reject.make(name, number, problem[0], problem[1], text))
                continue
            writer.write(text.encode("utf-8") + b"\n")
    return rejects, recovered


def _object_problem(text: str) -> tuple[str, str] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return "不是合法的 JSON", "not valid JSON"
    if not isinstance(value, dict):
        return "不是 JSON 对象", "not a JSON object"
    return None


def write(ctx: Context, item: FileInput, columns: list[str]) -> FileOutcome:
    """The (clean) records into one raw Parquet file."""
    read: Path = item.detail["read"]
    target = ctx.out.next_file()
    if not item.columns:
        ctx.con.execute(
            f"COPY (SELECT {select_list({}, columns)} WHERE false) "
            f"TO {target_literal(target)} (FORMAT parquet)",
            {"batch": ctx.batch_id, "source": item.name},
        )
        return FileOutcome([target], 0, item.rejects, [], {})
    keys = {key: "VARCHAR" for key in item.detail["keys"]}
    try:
        row = ctx.con.execute(  # identifiers quoted by sqlglot, values bound
            f"COPY (SELECT {select_list(item.mapping, columns)} "  # noqa: S608
            "FROM read_json($path, format = 'newline_delimited', columns = $keys, "
            "maximum_object_size = $max)) "
            f"TO {target_literal(target)} (FORMAT parquet)",
            {
                "batch": ctx.batch_id,
                "source": item.name,
                "path": str(read),
                "keys": keys,
                "max": MAX_RECORD_BYTES,
            },
        ).fetchone()
    except duckdb.Error as error:
        raise SourceFailed(f"{item.name} 无法读取 / {item.name} cannot be read: {_line(error)}") from None
    if read != item.path:
        read.unlink(missing_ok=True)
    return FileOutcome([target], int(row[0]) if row else 0, item.rejects, [], item.types)


def _line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
