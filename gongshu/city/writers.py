"""Writers of the source systems (数据源写出): files in their encodings, and SQL tables.

Each sink takes frames chunk by chunk and appends them; XLSX sheets roll over to a new sheet at
Excel's row limit. All output is deterministic for the same frames.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import xlsxwriter

from gongshu.city.frames import Frame, TableSpec
from gongshu.city.text import EPOCH_SERIAL, join

XLSX_MAX_DATA_ROWS = 1_048_575  # 1,048,576 rows per sheet, one of them the header
CREATED = dt.datetime(2026, 1, 1, 0, 0, 0)


@dataclass
class SourceInfo:
    """One generated source table: where it is, what it holds.

    ``location`` is a path relative to the output directory or a database URL without password;
    ``table`` is the SQL table, the sheet name(s) (comma-separated), or the file's table name.
    """

    department: str
    department_name: str
    source: str
    kind: str
    location: str
    table: str
    encoding: str
    rows: int
    title: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Sink:
    """Appends frames of one or more tables to one physical source."""

    kind = ""

    def __init__(self, specs: Sequence[TableSpec], location: str) -> None:
        self.specs = {s.source: s for s in specs}
        self.location = location
        self.rows = dict.fromkeys(self.specs, 0)

    def write(self, frame: Frame) -> int:
        """Append a frame; return the row offset it was written at."""
        offset = self.rows[frame.spec.source]
        self._write(frame, offset)
        self.rows[frame.spec.source] += frame.rows
        return offset

    def _write(self, frame: Frame, offset: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the source (footers, commits)."""

    def infos(self) -> list[SourceInfo]:
        return [
            SourceInfo(
                s.department,
                s.department_name,
                s.source,
                self.kind,
                self.location,
                self.table_name(s),
                s.encoding,
                self.rows[s.source],
                s.title,
            )
            for s in self.specs.values()
        ]

    def table_name(self, spec: TableSpec) -> str:
        return spec.table


def headed(frame: Frame) -> pa.Table:
    """The frame with the file's headers (Chinese for legacy exports) as column names."""
    return pa.table({c.title: frame.columns[c.name] for c in frame.spec.columns})


class CsvSink(Sink):
    """CSV in the spec's encoding (GB18030 with CRLF for legacy exports, UTF-8 with BOM ...)."""

    kind = "csv"

    def __init__(self, specs: Sequence[TableSpec], path: Path, location: str) -> None:
        super().__init__(specs, location)
        (spec,) = specs
        self.encoding = spec.encoding
        self.eol = "\r\n" if spec.encoding == "gb18030" else "\n"
        self.handle: BinaryIO = path.open("wb")
        if spec.encoding == "utf-8-sig":
            self.handle.write(b"\xef\xbb\xbf")

    def _write(self, frame: Frame, offset: int) -> None:
        buffer = io.BytesIO()
        options = pacsv.WriteOptions(include_header=offset == 0, eol=self.eol)
        pacsv.write_csv(headed(frame), buffer, write_options=options)
        data = buffer.getvalue()
        if self.encoding not in ("utf-8", "utf-8-sig"):
            data = data.decode("utf-8").encode(self.encoding)
        self.handle.write(data)

    def close(self) -> None:
        self.handle.close()


def _json_escape(values: pa.Array) -> pa.Array:
    out = pc.replace_substring(values, "\\", "\\\\")
    return pc.replace_substring(out, '"', '\\"')


def json_lines(frame: Frame, sep: str = "\n") -> bytes:
    """The frame's rows as JSON objects, each followed by ``sep`` (vectorised)."""
    parts: list[pa.Array | str] = []
    for i, c in enumerate(frame.spec.columns):
        values = frame.columns[c.name]
        text = values.cast(pa.string()) if c.number else join('"', _json_escape(values), '"')
        parts.append(("{" if i == 0 else ",") + f'"{c.name}":')
        parts.append(pc.fill_null(text, "null"))
    lines = join(*parts, "}" + sep)
    if len(lines) == 0:
        return b""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, stop = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return bytes(lines.buffers()[2])[start:stop]


class NdjsonSink(Sink):
    """Newline-delimited JSON, UTF-8, one object per record."""

    kind = "ndjson"

    def __init__(self, specs: Sequence[TableSpec], path: Path, location: str) -> None:
        super().__init__(specs, location)
        self.handle = path.open("wb")

    def _write(self, frame: Frame, offset: int) -> None:
        self.handle.write(json_lines(frame))

    def close(self) -> None:
        self.handle.close()


class JsonSink(Sink):
    """One JSON document shaped like a paged API response; records are written streaming.

    Records with coordinates (a ``lon`` column) say their coordinate system (``"crs"``) up front.
    """

    kind = "json"

    def __init__(self, specs: Sequence[TableSpec], path: Path, location: str) -> None:
        super().__init__(specs, location)
        self.handle = path.open("wb")
        geo = any(c.name == "lon" for spec in specs for c in spec.columns)
        crs = b'"crs":"CGCS2000",' if geo else b""
        self.handle.write(b'{"code":0,"message":"success",' + crs + b'"data":{"records":[\n')

    def _write(self, frame: Frame, offset: int) -> None:
        if frame.rows == 0:
            return
        if offset:
            self.handle.write(b",\n")
        self.handle.write(json_lines(frame, ",\n")[:-2])

    def close(self) -> None:
        total = sum(self.rows.values())
        self.handle.write(f'\n],"total":{total},"page":1,"page_size":{total}}}}}\n'.encode())
        self.handle.close()


class XlsxSink(Sink):
    """An XLSX workbook, one sheet per table (rolled over to ``name_2`` ... past the row limit).

    Dates are written as Excel dates (yyyy-mm-dd format); values that are already Excel serials
    are written as plain numbers and other date texts stay text, as in real exports.
    """

    kind = "xlsx"

    def __init__(
        self, specs: Sequence[TableSpec], path: Path, location: str, max_rows: int = XLSX_MAX_DATA_ROWS
    ) -> None:
        super().__init__(specs, location)
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        self.book.set_properties({"created": CREATED, "author": "gongshu.city"})
        self.date_format = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.max_rows = max_rows
        self.sheets: dict[str, list[Any]] = {s: [] for s in self.specs}

    def _sheet(self, spec: TableSpec, row: int) -> tuple[Any, int]:
        index = row // self.max_rows
        sheets = self.sheets[spec.source]
        while len(sheets) <= index:
            name = spec.table if not sheets else f"{spec.table}_{len(sheets) + 1}"
            sheet = self.book.add_worksheet(name)
            sheet.write_row(0, 0, [c.title for c in spec.columns])
            sheets.append(sheet)
        return sheets[index], row % self.max_rows + 1

    def _write(self, frame: Frame, offset: int) -> None:
        columns = [_xlsx_values(frame.columns[c.name], c.date) for c in frame.spec.columns]
        start = 0
        while start < frame.rows:  # one run of rows per sheet, so the sheet is looked up once a run
            sheet, first = self._sheet(frame.spec, offset + start)
            stop = min(frame.rows, start + self.max_rows - first + 1)
            for i in range(start, stop):
                self._write_row(sheet, first + i - start, columns, i)
            start = stop

    def _write_row(
        self, sheet: Any, r: int, columns: list[tuple[list[Any], list[bool] | None]], i: int
    ) -> None:
        for j, (values, dated) in enumerate(columns):
            value = values[i]
            if value is None:
                continue
            if type(value) is str:
                sheet.write_string(r, j, value)
            elif dated is not None and dated[i]:
                sheet.write_number(r, j, value, self.date_format)
            else:
                sheet.write_number(r, j, value)

    def close(self) -> None:
        for spec in self.specs.values():
            self._sheet(spec, 0)
        self.book.close()

    def table_name(self, spec: TableSpec) -> str:
        return ",".join(s.get_name() for s in self.sheets[spec.source]) or spec.table


def _xlsx_values(values: pa.Array, date: bool) -> tuple[list[Any], list[bool] | None]:
    """Cell values of one column; for date columns ISO dates become Excel date serials."""
    if not date:
        return values.to_pylist(), None
    iso = pc.match_substring_regex(values, r"^\d{4}-\d{2}-\d{2}$").fill_null(False)
    serial = pc.match_substring_regex(values, r"^\d{5}$").fill_null(False)
    safe = pc.if_else(iso, values, "1970-01-01")
    days = pc.strptime(safe, format="%Y-%m-%d", unit="s", error_is_null=True)
    day_no = pc.divide(days.cast(pa.int64()), 86400).to_numpy(zero_copy_only=False)
    is_iso = iso.to_numpy(zero_copy_only=False) & ~np.isnan(day_no.astype(np.float64))
    out = values.to_pylist()
    serial_mask = serial.to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(is_iso):
        out[i] = int(day_no[i]) + EPOCH_SERIAL
    for i in np.flatnonzero(serial_mask):
        out[i] = int(out[i])
    return out, list(is_iso)
