"""Every source of the synthetic city read through the connectors, checked against its manifest."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from gongshu.city import CityResult
from tests.collect.connectors.support import Run, rows

#: source → (spec without the city's location, the first columns expected)
SPECS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "population": (
        {"kind": "sql", "url": "sqlite:///{city}/ga_population.sqlite", "table": "population"},
        ["record_id", "id_number", "name"],
    ),
    "marriage": ({"kind": "file", "pattern": "mz_marriage.csv"}, ["登记证号", "登记类型", "男方姓名"]),
    "death": ({"kind": "file", "pattern": "mz_death.csv"}, ["火化证明编号", "姓名", "性别"]),
    "enterprise": (
        {"kind": "sql", "url": "sqlite:///{city}/scjg_enterprise.sqlite", "table": "enterprise"},
        ["reg_no", "uscc", "ent_name"],
    ),
    "employment": (
        {"kind": "file", "pattern": "rs_employment.xlsx", "sheets": "就业登记*"},
        ["记录号", "姓名", "公民身份号码"],
    ),
    "insurance": (
        {"kind": "file", "pattern": "rs_employment.xlsx", "sheets": "参保信息*"},
        ["记录号", "公民身份号码", "姓名"],
    ),
    "student": ({"kind": "file", "pattern": "jw_student.ndjson"}, ["student_no", "name", "id_number"]),
    "birth": ({"kind": "file", "pattern": "wj_birth.csv"}, ["出生医学证明编号", "新生儿姓名", "性别"]),
    "address": (
        {"kind": "file", "pattern": "ghzy_address.json"},
        ["address_id", "district_code", "district_name"],
    ),
    "vehicle": ({"kind": "file", "pattern": "jt_vehicle.ndjson"}, ["vehicle_id", "plate_no", "plate_type"]),
}


@pytest.mark.parametrize("source", list(SPECS))
def test_every_city_source_reads_in_full(run: Run, small_city: CityResult, source: str) -> None:
    template, first_columns = SPECS[source]
    spec = {k: v.format(city=small_city.out_dir) if isinstance(v, str) else v for k, v in template.items()}
    if spec["kind"] == "file":
        spec["path"] = str(small_city.out_dir)
    result = run(spec)
    expected = {s.source: s.rows for s in small_city.sources}[source]
    assert result.rows_read == expected
    assert result.rejects == []
    assert result.columns[: len(first_columns)] == first_columns


def test_gb18030_headers_and_values_come_through(run: Run, small_city: CityResult) -> None:
    path: Path = small_city.out_dir / "mz_marriage.csv"
    result = run({"kind": "file", "path": str(path)})
    with path.open(encoding="gb18030", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        first = next(reader)
    assert result.columns == header
    assert rows(result)[0] == tuple(v or None for v in first)
    assert any("detected: gb18030" in note for note in result.notes)
    manifest = json.loads((small_city.out_dir / "manifest.json").read_text(encoding="utf-8"))
    digests = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert result.fingerprint == digests["mz_marriage.csv"]
