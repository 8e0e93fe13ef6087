"""Reading the synthetic city's sources as raw text and binding them like a mount would.

Every source becomes a pyarrow table of VARCHAR columns (NULL for absent values) in source row
order, with ``_row`` = the manifest's 0-based data row. Bindings come from the catalogue entry
whose ``source`` key names the table; the raw column is the file header the city writes (the
Chinese header for CSV and XLSX, the identifier for SQL, JSON and NDJSON), taken from the city's
own table specs. What a mount spec will have to say beyond the catalogue is collected here:
``REQUIRED`` (which items are mandatory) and ``OVERRIDES`` (fixes and per-column rule options).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from python_calamine import CalamineWorkbook

from gongshu.city import CityResult, SourceInfo
from gongshu.city.catalogue import catalogue_documents
from gongshu.city.departments import specs
from gongshu.city.frames import TableSpec
from gongshu.cleanse import ColumnBinding

ROW = "_row"

# Items a mount declares mandatory (the city plants required_missing in these; keys too).
REQUIRED: dict[str, set[str]] = {
    "GA.population": {"record_id", "id_number", "name"},
    "MZ.marriage": {"cert_no", "husband_id_number", "wife_id_number", "husband_name", "wife_name"},
    "MZ.death": {"cert_no", "id_number", "name"},
    "SCJG.enterprise": {"reg_no", "uscc", "ent_name"},
    "RS.employment": {"record_no", "id_number", "name"},
    "RS.insurance": {"record_no", "id_number", "name"},
    "JW.student": {"student_no", "id_number", "name"},
    "WJ.birth": {"cert_no", "mother_id_number", "mother_name", "hospital"},
    "GHZY.address": {"address_id", "road"},
    "JT.vehicle": {"vehicle_id", "vin"},
}
# Per-column corrections:
# * SCJG's 联系电话 holds landlines (021-5xxxxxxx); the catalogue first bound it to DE0106 (mobile):
#   kept as DE0107 here whatever scjg.yaml says;
# * 民政's death register writes sex as 男/女: the column opts in to CODE_SYNONYMS (a mount spec
#   says ``sex: {source: 性别, rules: ["+CODE_SYNONYMS"]}``).
OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    ("SCJG.enterprise", "phone"): {"element": "DE0107", "length": 20},
    ("MZ.death", "sex"): {"rules": ("+CODE_SYNONYMS",)},
}


@dataclass
class CitySource:
    """One source table: its id (``GA.population``), spec, raw text table and bindings."""

    id: str
    info: SourceInfo
    spec: TableSpec
    table: pa.Table
    bindings: list[ColumnBinding]


def city_sources(city: CityResult) -> Iterator[CitySource]:
    """Every file or SQLite source of the city, read and bound."""
    entries = {
        (e["source"]["department"], e["source"]["name"]): e for e in catalogue_documents() if "source" in e
    }
    for info in city.sources:
        if info.kind not in ("sqlite", "csv", "xlsx", "json", "ndjson"):
            continue
        spec = next(s for s in specs(info.department) if s.source == info.source)
        source_id = spec.source_id
        table = read_source(city.out_dir, info, spec)
        bindings = bind(source_id, spec, entries[(info.department, info.source)]["items"])
        yield CitySource(source_id, info, spec, table, bindings)


def bind(source_id: str, spec: TableSpec, items: list[dict[str, Any]]) -> list[ColumnBinding]:
    headers = {c.name: c.title for c in spec.columns}
    result = []
    for item in items:
        values: dict[str, Any] = {
            "name": item["name"],
            "source": headers[item["name"]],
            "element": item["element"],
            "type": item["type"],
            "length": item.get("length"),
            "required": item["name"] in REQUIRED.get(source_id, set()),
        }
        values.update(OVERRIDES.get((source_id, item["name"]), {}))
        result.append(ColumnBinding(**values))
    return result


def read_source(out_dir: Path, info: SourceInfo, spec: TableSpec) -> pa.Table:
    """The source's rows as VARCHAR columns named by the file's headers, plus ``_row``."""
    path = out_dir / info.location
    titles = [c.title for c in spec.columns]
    if info.kind == "sqlite":
        rows = _sqlite_rows(path, info.table, [c.name for c in spec.columns])
    elif info.kind == "csv":
        return _with_row(_csv(path, info.encoding, titles))
    elif info.kind == "xlsx":
        rows = _xlsx_rows(path, info.table.split(","))
    elif info.kind == "json":
        records = json.loads(path.read_text(encoding="utf-8"))["data"]["records"]
        rows = [[r.get(c.name) for c in spec.columns] for r in records]
    else:
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [[obj.get(c.name) for c in spec.columns] for obj in map(json.loads, filter(None, lines))]
    columns = {t: pa.array([as_text(r[i]) for r in rows], pa.string()) for i, t in enumerate(titles)}
    return _with_row(pa.table(columns))


def _with_row(table: pa.Table) -> pa.Table:
    return table.append_column(ROW, pa.array(range(table.num_rows), pa.int64()))


def _csv(path: Path, encoding: str, titles: list[str]) -> pa.Table:
    read = pacsv.ReadOptions(encoding="utf-8" if encoding == "utf-8-sig" else encoding)
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(titles, pa.string()), strings_can_be_null=True)
    table = pacsv.read_csv(path, read_options=read, convert_options=convert)
    first = table.column_names[0]
    if first.startswith("\ufeff"):
        table = table.rename_columns([first[1:], *table.column_names[1:]])
    return table.select(titles)


def _sqlite_rows(path: Path, table: str, names: list[str]) -> list[list[Any]]:
    with sqlite3.connect(path) as conn:
        cols = ", ".join(f'"{n}"' for n in names)
        return [list(r) for r in conn.execute(f'SELECT {cols} FROM "{table}" ORDER BY rowid')]


def _xlsx_rows(path: Path, sheets: list[str]) -> list[list[Any]]:
    book = CalamineWorkbook.from_path(str(path))
    rows: list[list[Any]] = []
    for name in sheets:
        data = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        rows.extend(list(r) for r in data[1:])
    return rows


def as_text(value: Any) -> str | None:
    """A cell as the text a raw zone stores: ISO dates, integral numbers without ``.0``."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
