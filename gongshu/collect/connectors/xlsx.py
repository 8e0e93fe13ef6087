"""XLSX workbooks (电子表格) through python-calamine: the matching sheets, in workbook order.

The first matching sheet's first row is the header; every other matching sheet must have the same
header (a sheet rolled over at Excel's row limit does), else the file is refused. Cells become
text as a person reads them: date cells ``2020-05-08``, date-time cells ``2020-05-08 13:45:00``,
whole numbers ``123`` (not ``123.0``), other numbers in their shortest form, booleans ``TRUE`` /
``FALSE``, empty cells NULL. A date typed as a plain number stays that number (``43958``), so the
cleanser can still read it as an Excel serial. Wholly empty rows are skipped (and counted in a
note); a row with values beyond the header's last column is a :class:`Reject`.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from gongshu.collect.connectors.errors import SourceFailed
from gongshu.collect.connectors.filebase import Context, FileInput, FileOutcome
from gongshu.collect.connectors.output import ArrowRawWriter, unique_names
from gongshu.collect.connectors.results import Reject

BATCH_ROWS = 20_000
SAMPLE_ROWS = 1_000
_KIND_TYPES = {
    "date": "inferred:DATE",
    "datetime": "inferred:TIMESTAMP",
    "int": "inferred:BIGINT",
    "float": "inferred:DOUBLE",
    "bool": "inferred:BOOLEAN",
    "time": "inferred:TIME",
}


def cell_text(value: Any) -> str | None:
    """One cell as text (see the module docstring)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _kind(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.time):
        return "time"
    return "str"


def inspect(ctx: Context, path: Path, name: str) -> FileInput:
    """The matching sheets and their common header (read with openpyxl's streaming reader: cheap)."""
    headers = _headers(path, name, ctx.spec.sheets or "*")
    used = [s for s, header in headers.items() if header is not None]
    notes = [f"{name}: 空工作表已跳过 / empty sheet skipped: {s}" for s, h in headers.items() if h is None]
    if not used:
        return FileInput(path, name, "xlsx", [], {}, notes, detail={"sheets": []})
    first = headers[used[0]]
    assert first is not None
    for sheet in used[1:]:
        if headers[sheet] != first:
            raise SourceFailed(
                f"{name} 的工作表 {sheet} 的表头与 {used[0]} 不同 / the header of sheet {sheet!r} "
                f"differs from sheet {used[0]!r} in {name}",
                hint="narrow `sheets` to the sheets of one table, e.g. sheets: 就业登记*",
            )
    columns, renamed = unique_names(first)
    mapping = {column: str(i) for i, column in enumerate(columns)}
    notes.append(f"{name}: 工作表 / sheets read: {', '.join(used)}")
    detail = {"sheets": used, "header": first}
    return FileInput(path, name, "xlsx", columns, mapping, [*notes, *renamed], detail=detail)


def _headers(path: Path, name: str, pattern: str) -> dict[str, list[str] | None]:
    """Each matching sheet's header: its first non-empty row (None: the sheet is empty)."""
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError, XML and its own errors
        raise SourceFailed(
            f"{name} 不是可读的 XLSX 文件 / {name} is not a readable workbook: {type(error).__name__}"
        ) from None
    try:
        sheets = [s for s in book.sheetnames if fnmatch.fnmatchcase(s, pattern)]
        if not sheets:
            raise SourceFailed(
                f"{name} 中没有匹配 {pattern} 的工作表 / no sheet of {name} matches {pattern!r}; "
                f"sheets: {', '.join(book.sheetnames)}"
            )
        return {sheet: _header(book[sheet].iter_rows(values_only=True)) for sheet in sheets}
    finally:
        book.close()


def _header(rows: Iterable[Sequence[Any]]) -> list[str] | None:
    for row in rows:
        texts = [cell_text(v) or "" for v in row]
        while texts and not texts[-1]:
            texts.pop()
        if texts:
            return texts
    return None


def _open(path: Path, name: str) -> CalamineWorkbook:
    try:
        return CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as error:
        raise SourceFailed(
            f"{name} 不是可读的 XLSX 文件 / {name} is not a readable workbook: {error}"
        ) from None


def write(ctx: Context, item: FileInput, columns: list[str]) -> FileOutcome:
    """All matching sheets into one raw file, rows in workbook order (read with python-calamine)."""
    sheets: list[str] = item.detail["sheets"]
    if not sheets:
        return FileOutcome([], 0, [], [], {})
    workbook = _open(item.path, item.name)
    target = ctx.out.next_file()
    writer = ArrowRawWriter(target, columns, batch_id=ctx.batch_id, source=item.name)
    positions = [int(item.mapping[c]) if c in item.mapping else None for c in columns]
    state = _State(width=len(item.columns), header=item.detail["header"])
    try:
        for sheet in sheets:
            try:
                loaded = workbook.get_sheet_by_name(sheet)
            except CalamineError as error:
                raise SourceFailed(
                    f"{item.name} 的工作表 {sheet} 无法读取 / sheet {sheet!r} cannot be read: {error}"
                ) from None
            for batch in _rows(loaded, item.name, sheet, state):
                lists = pa.array(batch, pa.list_(pa.string()))
                arrays = [
                    pc.list_element(lists, p) if p is not None else pa.nulls(len(batch), pa.string())
                    for p in positions
                ]
                writer.write_columns(arrays, len(batch))
    finally:
        writer.close()
    notes = (
        [f"{item.name}: 跳过 {state.blank} 个空行 / {state.blank} empty row(s) skipped"]
        if state.blank
        else []
    )
    return FileOutcome([target], writer.rows, state.rejects, notes, state.types(item.columns))


class _State:
    """Counts across the sheets of one workbook, and the sample for type inference."""

    def __init__(self, width: int, header: list[str]) -> None:
        self.width = width
        self.header = header
        self.blank = 0
        self.rejects: list[Reject] = []
        self.sampled = 0
        self.kinds: list[set[str]] = [set() for _ in range(width)]

    def sample(self, row: Sequence[Any]) -> None:
        if self.sampled < SAMPLE_ROWS:
            self.sampled += 1
            for i, value in enumerate(row[: self.width]):
                kind = _kind(value)
                if kind:
                    self.kinds[i].add(kind)

    def types(self, columns: Sequence[str]) -> dict[str, str]:
        result = {}
        for column, kinds in zip(columns, self.kinds, strict=True):
            if kinds == {"int", "float"}:
                kinds = {"float"}
            result[column] = _KIND_TYPES.get(next(iter(kinds)), "VARCHAR") if len(kinds) == 1 else "VARCHAR"
        return result


def _float_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)


#: cell_text by the cell's exact type (no isinstance chain on the hot path)
_BY_TYPE: dict[type, Callable[[Any], str | None]] = {
    float: _float_text,
    int: str,
    bool: lambda v: "TRUE" if v else "FALSE",
    dt.date: dt.date.isoformat,
    dt.datetime: lambda v: v.isoformat(sep=" "),
    dt.time: dt.time.isoformat,
}


def _texts(row: Sequence[Any]) -> list[str | None]:
    # most cells are text: only the others pay for a function call
    return [(v or None) if type(v) is str else _BY_TYPE.get(type(v), cell_text)(v) for v in row]


def _rows(
    sheet: CalamineSheet, name: str, sheet_name: str, state: _State
) -> Iterator[list[list[str | None]]]:
    """Batches of data rows (after the header row), each exactly ``state.width`` cells wide."""
    width = state.width
    batch: list[list[str | None]] = []
    rows = iter(enumerate(sheet.iter_rows(), start=1))
    for _number, row in rows:
        header = _header([row])
        if header is None:
            continue
        if header != state.header:
            raise SourceFailed(
                f"{name}: 工作表 {sheet_name} 的表头已变化 / the header of {sheet_name!r} changed"
            )
        break
    for number, row in rows:
        if state.sampled < SAMPLE_ROWS:
            state.sample(row)
        texts = _texts(row)
        if len(texts) > width:
            if any(texts[width:]):
                raw = ",".join(t or "" for t in texts)
                reason_zh, reason_en = (
                    f"列数过多：表头只有 {width} 列",
                    f"values beyond the header's {width} columns",
                )
                state.rejects.append(Reject.make(f"{name}:{sheet_name}", number, reason_zh, reason_en, raw))
                continue
            texts = texts[:width]
        elif len(texts) < width:
            texts += [None] * (width - len(texts))
        if not any(texts):
            state.blank += 1
            continue
        batch.append(texts)
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch
