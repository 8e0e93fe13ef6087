"""The generated city: determinism, readability of every source, manifest truth, identities."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest

from gongshu.city import CityResult, generate_city
from gongshu.city.text import EPOCH_SERIAL
from gongshu.errors import ValidationFailed
from tests.city.conftest import PERSONS, SEED


def read_source(city_dir: Path, info: Any) -> list[dict[str, Any]]:
    """Rows of a source as dicts keyed by column identifier, with a standard reader."""
    from gongshu.city import departments

    spec = next(s for s in departments.specs(info.department) if s.source == info.source)
    path = city_dir / info.location
    if info.kind == "sqlite":
        conn = sqlite3.connect(path)
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute(f'select * from "{spec.table}" order by rowid')]
        conn.close()
        return rows
    if info.kind == "csv":
        with path.open(encoding=info.encoding, newline="") as handle:
            reader = csv.DictReader(handle)
            header = {c.title: c.name for c in spec.columns}
            return [{header[k]: v for k, v in row.items()} for row in reader]
    if info.kind == "ndjson":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if info.kind == "json":
        return json.loads(path.read_text(encoding="utf-8"))["data"]["records"]
    if info.kind == "xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        out = []
        for sheet in info.table.split(","):
            rows = book[sheet].iter_rows(values_only=True)
            header = {c.title: c.name for c in spec.columns}
            names = [header[h] for h in next(rows)]
            out += [dict(zip(names, r, strict=True)) for r in rows]
        return out
    raise AssertionError(info.kind)


def as_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_sources_and_counts(city: CityResult) -> None:
    kinds = {s.kind for s in city.sources}
    assert kinds == {"sqlite", "csv", "xlsx", "json", "ndjson"}
    assert {s.department for s in city.sources} == {"GA", "MZ", "SCJG", "RS", "JW", "WJ", "GHZY", "JT"}
    ga = next(s for s in city.sources if s.source == "population")
    assert PERSONS <= ga.rows <= PERSONS * 1.05
    summary = json.loads(city.manifest_path.read_text(encoding="utf-8"))
    assert summary["seed"] == SEED and summary["persons"] == PERSONS
    assert sum(c["rows"] for c in summary["counts"].values()) == city.total_rows


def test_every_source_readable_and_manifest_true(city: CityResult, city_dir: Path) -> None:
    defects = pq.read_table(city_dir / "manifest" / "defects.parquet").to_pylist()
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in defects:
        by_source[d["source"]].append(d)
    for info in city.sources:
        rows = read_source(city_dir, info)
        assert len(rows) == info.rows, info
        planted = by_source[f"{info.department}.{info.source}"]
        assert planted, info
        for d in planted:
            row = rows[d["row"]]
            assert as_text(row[d["field"]]) == as_text(_xlsx_planted(info.kind, d)), (info.source, d)


def _xlsx_planted(kind: str, d: dict[str, Any]) -> Any:
    """XLSX turns ISO dates into Excel dates; openpyxl reads them back as datetimes."""
    value = d["planted"]
    if kind == "xlsx" and value and len(value) == 10 and value[4] == "-" and value[:4].isdigit():
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            return value
    return value


def test_manifest_record_keys_exist(city: CityResult, city_dir: Path) -> None:
    from gongshu.city import departments

    defects = pq.read_table(city_dir / "manifest" / "defects.parquet").to_pylist()
    for info in city.sources:
        spec = next(s for s in departments.specs(info.department) if s.source == info.source)
        rows = read_source(city_dir, info)
        for d in (d for d in defects if d["source"] == spec.source_id):
            assert as_text(rows[d["row"]][spec.key]) == d["record_key"]


def test_duplicate_keys_are_real(city: CityResult, city_dir: Path) -> None:
    defects = pq.read_table(city_dir / "manifest" / "defects.parquet").to_pylist()
    dup = [d for d in defects if d["kind"] == "duplicate_key" and d["source"] == "GA.population"]
    assert dup
    info = next(s for s in city.sources if s.source == "population")
    keys = [r["record_id"] for r in read_source(city_dir, info)]
    for d in dup:
        assert keys.count(d["record_key"]) >= 2


def test_identity_overlap(city_dir: Path) -> None:
    ids = pq.read_table(city_dir / "manifest" / "identities.parquet").to_pylist()
    departments_of: dict[str, set[str]] = defaultdict(set)
    for r in ids:
        if r["entity_type"] == "person":
            departments_of[r["entity_id"]].add(r["source"].split(".")[0])
    in_three = [p for p, ds in departments_of.items() if len(ds) >= 3]
    assert len(in_three) > PERSONS * 0.1


def test_xlsx_has_excel_serial_dates(city: CityResult, city_dir: Path) -> None:
    defects = pq.read_table(city_dir / "manifest" / "defects.parquet").to_pylist()
    serial = [
        d
        for d in defects
        if d["source"] == "RS.employment"
        and d["kind"] == "date_format"
        and d["planted"].isdigit()
        and len(d["planted"]) == 5
    ]
    assert serial
    d = serial[0]
    clean = dt.date.fromisoformat(d["clean"])
    assert int(d["planted"]) == (clean - dt.date(1970, 1, 1)).days + EPOCH_SERIAL


def _digests(result: CityResult) -> dict[str, str]:
    out = {}
    for path in sorted(result.out_dir.rglob("*")):
        if path.is_file():
            out[path.relative_to(result.out_dir).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def test_deterministic(tmp_path: Path) -> None:
    a = generate_city(tmp_path / "a", persons=600, seed=3)
    b = generate_city(tmp_path / "b", persons=600, seed=3)
    c = generate_city(tmp_path / "c", persons=600, seed=4)
    assert _digests(a) == _digests(b)
    assert _digests(a) != _digests(c)
    summary = json.loads(a.manifest_path.read_text(encoding="utf-8"))
    for f in summary["files"]:
        assert hashlib.sha256((a.out_dir / f["path"]).read_bytes()).hexdigest() == f["sha256"]


def test_only_and_progress(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    result = generate_city(tmp_path, persons=300, only=["ga", "JT"], progress=lambda *a: seen.append(a))
    assert {s.department for s in result.sources} == {"GA", "JT"}
    assert seen[-1][1] == seen[-1][2]


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"persons": 0}, "persons"), ({"persons": 10, "only": ["XX"]}, "only")]
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        generate_city(tmp_path, **kwargs)
    assert field in caught.value.problems


def test_xlsx_rolls_over_sheets(tmp_path: Path) -> None:
    from gongshu.city.departments import rs
    from gongshu.city.noise import Rates
    from gongshu.city.population import build_world
    from gongshu.city.writers import XlsxSink

    world = build_world(1, 0, 1, 0, 400)
    sink = XlsxSink(rs.SPECS, tmp_path / "x.xlsx", "x.xlsx", max_rows=100)
    for frame in rs.frames(world, Rates()):
        sink.write(frame)
    sink.close()
    infos = {i.source: i for i in sink.infos()}
    assert infos["employment"].table.startswith("就业登记,就业登记_2")
    book = openpyxl.load_workbook(tmp_path / "x.xlsx", read_only=True)
    total = sum(book[s].max_row - 1 for s in infos["employment"].table.split(","))
    assert total == infos["employment"].rows
