"""The open-data sources of the synthetic city (gongshu.city.opendata): determinism, schema against the
catalogue entries' 信息项 and the mounts, valid codes, consistency with the true world, no personal data."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import itertools
import json
import re
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pyarrow.parquet as pq
import pytest

from gongshu.city import CityResult, generate_city, opendata
from gongshu.city.catalogue import catalogue_documents, mount_documents
from gongshu.city.opendata.readings import BREAKPOINTS, CITY_POPULATION, LEVELS, iaqi
from gongshu.city.population import build_world
from gongshu.city.reference import load_yaml
from gongshu.city.writers import SourceInfo
from gongshu.orgs.uscc import is_valid_uscc
from tests.city.checks import id_ok, uscc_ok

DISTRICTS = {d["code"]: d for d in load_yaml("orgs/data/districts.yaml")}
ID_LIKE = re.compile(r"(?<![0-9A-Z])([1-9]\d{16}[\dXx]|[1-9]\d{14})(?![0-9A-Z])")
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
LANDLINE = re.compile(r"^0\d{2,3}-[1-9]\d{6,7}$")
SPECS = {s.source_id: s for s in opendata.SPECS}


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_open(out_dir: Path, info: SourceInfo) -> list[dict[str, str | None]]:
    """Rows of an open source as text keyed by column identifier, read with standard readers."""
    spec = SPECS[f"{info.department}.{info.source}"]
    path = out_dir / info.location
    names = {c.title: c.name for c in spec.columns}
    rows: list[dict[str, Any]]
    if info.kind == "sqlite":
        conn = sqlite3.connect(path)
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute(f'SELECT * FROM "{spec.table}" ORDER BY rowid')]
        conn.close()
    elif info.kind == "csv":
        with path.open(encoding=info.encoding, newline="") as handle:
            rows = [{names[k]: v for k, v in r.items()} for r in csv.DictReader(handle)]
    elif info.kind == "ndjson":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    elif info.kind == "json":
        rows = json.loads(path.read_text(encoding="utf-8"))["data"]["records"]
    else:
        book = openpyxl.load_workbook(path, read_only=True)
        rows = []
        for sheet in info.table.split(","):
            cells = book[sheet].iter_rows(values_only=True)
            header = [names[str(h)] for h in next(cells)]
            rows += [dict(zip(header, r, strict=True)) for r in cells]
    return [{k: _text(v) for k, v in r.items()} for r in rows]


@pytest.fixture(scope="module")
def open_rows(city: CityResult) -> dict[str, list[dict[str, str | None]]]:
    return {f"{i.department}.{i.source}": read_open(city.out_dir, i) for i in city.open_sources}


def _entry(source_id: str) -> dict[str, Any]:
    return next(d for d in catalogue_documents() if d["code"] == opendata.ENTRIES[source_id])


def _mount(source_id: str) -> dict[str, Any]:
    return next(m for m in mount_documents() if m["entry"] == opendata.ENTRIES[source_id])


def test_every_open_entry_without_data_has_a_source_and_a_mount(city: CityResult) -> None:
    mounted = {m["entry"] for m in mount_documents()}
    open_entries = {d["code"] for d in catalogue_documents() if d["open_type"] != "不予开放"}
    assert open_entries <= mounted, sorted(open_entries - mounted)
    assert {f"{i.department}.{i.source}" for i in city.open_sources} == set(opendata.ENTRIES)
    assert len(set(opendata.ENTRIES.values())) == len(opendata.ENTRIES)
    for info in city.open_sources:
        assert info.rows > 0 or info.source == "social_orgs", (
            info
        )  # 民政's few orgs may be none in a tiny city
        assert info.title == _entry(f"{info.department}.{info.source}")["name"]
    assert not {i.source for i in city.sources} & {i.source for i in city.open_sources}


def test_schema_matches_the_entries_and_the_mounts(city: CityResult) -> None:
    for source_id, spec in SPECS.items():
        entry, mount = _entry(source_id), _mount(source_id)
        items = {i["name"]: i for i in entry["items"]}
        columns = {name: (m if isinstance(m, str) else m["source"]) for name, m in mount["columns"].items()}
        assert set(columns) == set(items), source_id  # every 信息项 is fed, nothing else
        assert set(columns.values()) == {c.title for c in spec.columns}, source_id
        assert set(mount["key"]) <= set(items), source_id
        if entry["open_type"] == "无条件开放":
            assert {i["grade"] for i in entry["items"]} == {"一般"}, source_id
        if "lon" in items and "crs" not in items:
            assert mount.get("audit", {}).get("crs") == "CGCS2000", source_id


def _check_value(item: dict[str, Any], value: str) -> bool:
    kind, element = item["type"], item["element"]
    if kind == "C" and len(value) > item["length"]:
        return False
    if kind == "N":
        float(value)
    if kind == "D":
        dt.date.fromisoformat(value)
    if kind == "T":
        dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    checks = {
        "DE0302": lambda v: v in DISTRICTS,
        "DE0201": lambda v: is_valid_uscc(v) and uscc_ok(v),
        "DE0107": lambda v: bool(LANDLINE.match(v)),
        "DE0301": lambda v: (
            v.startswith("上海市") and any(v[3:].startswith(d["name"]) for d in DISTRICTS.values())
        ),
        "DE0306": lambda v: v == "CGCS2000",
        "DE0304": lambda v: 120.85 <= float(v) <= 122.2,
        "DE0305": lambda v: 30.66 <= float(v) <= 31.89,
    }
    return checks.get(element, lambda _v: True)(value)


def test_values_fit_their_items(open_rows: dict[str, list[dict[str, str | None]]]) -> None:
    for source_id, rows in open_rows.items():
        mount = _mount(source_id)
        items = {i["name"]: i for i in _entry(source_id)["items"]}
        titles = {c.title: c.name for c in SPECS[source_id].columns}
        for name, mapped in mount["columns"].items():
            column = titles[mapped if isinstance(mapped, str) else mapped["source"]]
            required = isinstance(mapped, dict) and mapped.get("required")
            for row in rows:
                value = row[column]
                assert value is not None or not required, (source_id, name)
                assert value is None or _check_value(items[name], value), (source_id, name, value)
        keys = [tuple(r[titles[_source(mount, k)]] for k in mount["key"]) for r in rows]
        assert len(keys) == len(set(keys)), source_id


def _source(mount: dict[str, Any], item: str) -> str:
    mapped = mount["columns"][item]
    return str(mapped if isinstance(mapped, str) else mapped["source"])


def test_coordinates_lie_in_their_district(open_rows: dict[str, list[dict[str, str | None]]]) -> None:
    codes = sorted(DISTRICTS)
    centres = np.array([[DISTRICTS[c]["lon"], DISTRICTS[c]["lat"]] for c in codes])
    for source_id in ("GHZY.buildings", "JT.bus_stops", "JT.parking", "WJ.medical_orgs"):
        for row in open_rows[source_id]:
            point = np.array([float(row["lon"] or 0), float(row["lat"] or 0)])
            nearest = codes[int(np.argmin(np.hypot(*(centres - point).T)))]
            assert nearest == row["district_code"], (source_id, row)


def test_companies_are_entities_of_the_register(city: CityResult, open_rows: dict[str, Any]) -> None:
    enterprises = pq.read_table(city.out_dir / "manifest" / "enterprises.parquet").to_pylist()
    registered = {e["uscc"]: e for e in enterprises}
    for source_id, name_column in (
        ("SCJG.food_licences", "ent_name"),
        ("SCJG.penalties", "ent_name"),
        ("STHJ.permits", "ent_name"),
        ("RS.hr_agencies", "org_name"),
        ("ZJ.property_services", "ent_name"),
        ("GHZY.land_permits", "ent_name"),
        ("MZ.social_orgs", "org_name"),
    ):
        rows = open_rows[source_id]
        assert rows or source_id == "MZ.social_orgs", source_id
        authority = "5" if source_id == "MZ.social_orgs" else "9"
        for row in rows:
            entity = registered[row["uscc"]]
            assert entity["name"] == row[name_column] and entity["authority"] == authority, (source_id, row)
    licences = open_rows["SCJG.food_licences"] + open_rows["STHJ.permits"]
    assert all(r["licence_no"] for r in licences)
    assert all(r["licence_no"] == f"{r['uscc']}001{r['licence_no'][-1]}" for r in open_rows["STHJ.permits"])
    for row in open_rows["SCJG.food_licences"]:  # JY + 业态 + 区划 + 6-digit serial + Luhn check digit
        number = row["licence_no"]
        assert re.fullmatch(r"JY[123]31\d{4}\d{6}\d", number) and number[3:9] == row["district_code"], number
        digits = [int(c) for c in number[2:]]
        assert sum(sum(divmod(d * (2 if i % 2 else 1), 10)) for i, d in enumerate(reversed(digits))) % 10 == 0


def test_public_institutions_have_their_own_codes(city: CityResult, open_rows: dict[str, Any]) -> None:
    enterprises = pq.read_table(city.out_dir / "manifest" / "enterprises.parquet").column("uscc").to_pylist()
    codes = [r["uscc"] for r in open_rows["JW.schools"] + open_rows["WJ.medical_orgs"]]
    assert len(codes) == len(set(codes))
    assert not set(codes) & set(enterprises)
    assert all(c[:2] in ("12", "52") and c[2:8] in DISTRICTS for c in codes)


def test_schools_cover_the_student_register(city: CityResult, open_rows: dict[str, Any]) -> None:
    listed = {r["school_name"] for r in open_rows["JW.schools"]}
    students = (city.out_dir / "jw_student.ndjson").read_text(encoding="utf-8").splitlines()
    named = {json.loads(line)["school_name"] for line in students}
    assert named and named <= listed


def test_air_quality_is_hourly_and_its_aqi_follows_hj_633(open_rows: dict[str, Any]) -> None:
    rows = open_rows["STHJ.air_quality"]
    by_station: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_station[row["station_code"]].append(row["measured_at"])
        values = {"PM2.5": row["pm25"], "PM10": row["pm10"], "O3": row["o3"], "NO2": row["no2"],
                  "SO2": row["so2"], "CO": row["co"]}  # fmt: skip
        assert set(values) == set(BREAKPOINTS)
        aqi = max(iaqi(p, float(v)) for p, v in values.items())
        assert int(row["aqi"]) == aqi
        assert row["quality_level"] == next(name for top, name in LEVELS if aqi <= top)
        assert (row["primary_pollutant"] is None) == (aqi <= 50)
    assert len(by_station) == len(DISTRICTS)
    for stamps in by_station.values():
        times = [dt.datetime.fromisoformat(s) for s in stamps]
        assert len(times) == 72 and all(b - a == dt.timedelta(hours=1) for a, b in itertools.pairwise(times))
        assert times[-1] == dt.datetime(2025, 12, 31, 23)
    assert iaqi("PM2.5", 35) == 50 and iaqi("PM2.5", 75) == 100 and iaqi("PM2.5", 55) == 75


def test_population_adds_up_per_year(open_rows: dict[str, Any]) -> None:
    rows = open_rows["TJ.population_stats"]
    assert len(rows) == len(DISTRICTS) * len(CITY_POPULATION)
    for year, total in CITY_POPULATION.items():
        these = [r for r in rows if r["year"] == str(year)]
        assert {r["district_code"] for r in these} == set(DISTRICTS)
        assert abs(sum(float(r["population"]) for r in these) - total) < 0.2
        assert all(r["district_name"] == DISTRICTS[r["district_code"]]["name"] for r in these)


def test_bus_stops_are_one_place_each(open_rows: dict[str, Any]) -> None:
    where: dict[str, set[tuple[str | None, str | None, str | None]]] = defaultdict(set)
    lines: dict[tuple[str | None, str | None], list[int]] = defaultdict(list)
    for row in open_rows["JT.bus_stops"]:
        where[row["stop_id"]].add((row["stop_name"], row["lon"], row["lat"]))
        lines[(row["line_name"], row["direction"])].append(int(row["stop_sequence"]))
    assert all(len(v) == 1 for v in where.values())
    assert all(seq == list(range(1, len(seq) + 1)) for seq in lines.values())


def test_no_personal_identifiers_anywhere(city: CityResult, open_rows: dict[str, Any]) -> None:
    persons = pq.read_table(city.out_dir / "manifest" / "persons.parquet", columns=["id_number"])
    ids = set(persons.column("id_number").to_pylist())
    ids |= {i[:6] + i[8:17] for i in ids}  # and their legacy 15-digit forms
    for source_id, rows in open_rows.items():
        coded = {c.name for c in SPECS[source_id].columns if c.name == "uscc" or c.name == "licence_no"}
        for row in rows:
            for column, value in row.items():
                if value is None:
                    continue
                assert value not in ids, (source_id, column)
                assert not MOBILE.search(value), (source_id, column, value)
                if column not in coded:
                    found = ID_LIKE.search(value)
                    assert found is None or not id_ok(found.group(1)), (source_id, column, value)
    # 法定代表人 of social organisations are synthetic persons of the city, never real people
    names = set(
        pq.read_table(city.out_dir / "manifest" / "persons.parquet", columns=["name"]).column(0).to_pylist()
    )
    assert all(r["legal_rep"] in names for r in open_rows["MZ.social_orgs"])


def _digests(result: CityResult) -> dict[str, str]:
    return {
        i.location: hashlib.sha256((result.out_dir / i.location).read_bytes()).hexdigest()
        for i in result.open_sources
    }


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    only = ["STHJ", "TJ", "ZJ", "D310101", "JW", "SCJG"]
    a = generate_city(tmp_path / "a", persons=900, seed=11, only=only)
    b = generate_city(tmp_path / "b", persons=900, seed=11, only=only)
    c = generate_city(tmp_path / "c", persons=900, seed=12, only=only)
    assert {i.department for i in a.open_sources} == set(only)
    assert _digests(a) == _digests(b)
    assert _digests(a) != _digests(c)
    world = build_world(11, 0, 1, 0, 900)
    first = [f.table() for f in opendata.frames(world)]
    again = [f.table() for f in opendata.frames(build_world(11, 0, 1, 0, 900))]
    assert all(x.equals(y) for x, y in zip(first, again, strict=True))


def test_a_city_too_small_for_some_districts_still_has_addresses_there(tmp_path: Path) -> None:
    world = build_world(5, 0, 1, 0, 60)  # 20 standard addresses for 16 districts
    frames = {f.spec.source: f for f in opendata.frames(world)}
    sites = frames["meal_sites"].columns["address"].to_pylist()
    assert sites and all(a.startswith("上海市黄浦区") for a in sites)
    assert frames["service_centres"].rows == 20
