"""The audit benchmark: its table's truth, the peers' rules, and a real run of the three sides."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongshu.city.ids import id_check_char
from gongshu.cleanse import load_ruleset
from gongshu.cleanse.reference import area_codes, districts, shipped_element_table
from gongshu.engine.children import in_child
from gongshu.quality import bench, peers
from gongshu.quality.benchdata import DEFECTS, SCHEMA, person_bindings, write_person_table

TODAY = dt.date.today()
KEY = ("id_number",)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """20,000 rows in chunks of 5,000 (so that chunking and duplicates per chunk are exercised)."""
    return write_person_table(tmp_path_factory.mktemp("bench") / "person.parquet", rows=20_000, chunk=5_000)


# -- the table and its truth -------------------------------------------------------------------


def oracle(rows: list[dict[str, Any]], today: dt.date = TODAY) -> Counter[str]:
    """Every rule's failures, row by row in plain Python: the engine's semantics written again."""
    rules = peers.peer_rules(person_bindings(), key=KEY)
    elements = shipped_element_table()
    by_name = {b.name: b for b in person_bindings()}
    areas = set(area_codes())
    places = districts()
    centres = {d.code: (d.lon, d.lat) for d in places.items}
    out: Counter[str] = Counter({k: 0 for k in rules.keys})
    ids = Counter(r["id_number"] for r in rows if r["id_number"] is not None)
    for r in rows:
        failed: set[str] = set()
        for name, b in by_name.items():
            value = r[name]
            if value is None:
                failed.add(f"{'REQUIRED' if b.required else 'COMPLETENESS'}:{name}")
                continue
            if f"LENGTH:{name}" in rules.keys and len(value) > (b.length or 0):
                failed.add(f"LENGTH:{name}")
            if f"CODE_UNKNOWN:{name}" in rules.keys:
                codes = places.codes if b.element == "DE0302" else (elements[b.element].codes or {})
                if value not in codes:
                    failed.add(f"CODE_UNKNOWN:{name}")
        for rule, name in (
            ("PHONE_FORMAT", "mobile"),
            ("POSTCODE_FORMAT", "postcode"),
            ("EMAIL_FORMAT", "email"),
        ):
            pattern = str(load_ruleset().get(rule).params["pattern"]).replace("$", r"\Z")
            if r[name] is not None and not re.search(pattern, r[name]):
                failed.add(f"{rule}:{name}")
        failed |= _id_failures(r, areas, today)
        failed |= _place_failures(r, places, centres)
        birth = r["birth_date"]
        if birth is not None and not dt.date(1900, 1, 1) <= birth <= today:
            failed.add("DATE_RANGE:birth_date")
        if r["id_number"] is not None and ids[r["id_number"]] > 1:
            failed.add("UNIQUE_KEY:id_number")
        out.update(failed)
    return out


def _id_date(text: str) -> dt.date | None:
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _id_failures(r: dict[str, Any], areas: set[str], today: dt.date) -> set[str]:
    i = r["id_number"]
    if i is None:
        return set()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", i):
        return {"ID_FORMAT:id_number"}
    failed = set()
    if i[:6] not in areas:
        failed.add("ID_AREA_CODE:id_number")
    born = _id_date(i[6:14])
    if born is None or born.year < 1850 or born > today:
        failed.add("ID_BIRTH_DATE:id_number")
    if id_check_char(i[:17]) != i[17]:
        failed.add("ID_CHECK:id_number")
    if born is not None and r["birth_date"] is not None and born != r["birth_date"]:
        failed.add("ID_BIRTH_MATCH:birth_date")
    if r["sex"] in ("1", "2") and (int(i[16]) % 2 == 1) != (r["sex"] == "1"):
        failed.add("ID_SEX_MATCH:sex")
    return failed


def _place_failures(r: dict[str, Any], places: Any, centres: dict[str, tuple[float, float]]) -> set[str]:
    failed = set()
    address, code, lon, lat = r["address"], r["district_code"], r["lon"], r["lat"]
    if address is not None:
        size = min(len(n) for n, _ in places.names())
        key = address[len(places.city) : len(places.city) + size] if address.startswith(places.city) else None
        derived = next((c for n, c in places.names() if key is not None and n[:size] == key), None)
        derived = derived or next((c for n, c in places.names() if n in address), None)
        if derived is None or (code is not None and derived != code):
            failed.add("ADDRESS_DISTRICT:address")
    if lon is not None and lat is not None:
        if not (120.85 <= lon <= 122.20 and 30.66 <= lat <= 31.89):
            failed.add("COORD_RANGE:lon")
        if code in centres:
            distance = {c: (lon - x) * (lon - x) + (lat - y) * (lat - y) for c, (x, y) in centres.items()}
            if min(distance.values()) < distance[code]:
                failed |= {"COORD_DISTRICT:lon", "COORD_DISTRICT:lat"}
    return failed


def test_truth_counts_are_what_a_row_by_row_check_finds(small: Any) -> None:
    rows = pq.read_table(small.path).to_pylist()
    assert len(rows) == small.rows == 20_000
    found = oracle(rows)
    assert {k: v for k, v in found.items()} == small.truth
    assert all(small.defects[d] > 0 for d in DEFECTS) and small.defects["duplicate_copy"] == 4 * 12


def test_every_rule_fails_about_half_a_percent_of_rows(small: Any) -> None:
    planted = {
        k: v for k, v in small.truth.items() if not k.startswith(("COMPLETENESS", "DATE_PARSE", "NUMBER"))
    }
    failing = {k: v for k, v in planted.items() if v}
    assert len(failing) >= 25
    assert all(40 <= v <= 400 for k, v in failing.items()), failing


def test_the_table_is_typed_and_deterministic(small: Any, tmp_path: Path) -> None:
    again = write_person_table(tmp_path / "again.parquet", rows=20_000, chunk=5_000)
    assert pq.read_schema(small.path).equals(SCHEMA) and again.truth == small.truth
    assert pq.read_table(again.path).equals(pq.read_table(small.path))
    other = write_person_table(tmp_path / "other.parquet", rows=20_000, chunk=5_000, seed=7)
    assert other.truth != small.truth


# -- the peers' rules ------------------------------------------------------------------------------


def test_each_peer_lists_what_it_leaves_out() -> None:
    rules = peers.peer_rules(person_bindings(), key=KEY)
    assert len(rules.keys) == 42
    assert set(peers.omitted("pandera", rules)) == {
        "DATE_PARSE:birth_date", "DATE_PARSE:registered_at", "NUMBER_PARSE:lon", "NUMBER_PARSE:lat",
    }  # fmt: skip
    left_out = {k.split(":")[0] for k in peers.omitted("gx", rules)}
    assert left_out == {"DATE_PARSE", "NUMBER_PARSE", "ID_CHECK", "ID_BIRTH_MATCH", "ADDRESS_DISTRICT",
                        "COORD_DISTRICT"}  # fmt: skip
    assert len(peers.expressed("pandera", rules)) == 38 and len(peers.expressed("gx", rules)) == 33


@settings(max_examples=60, deadline=None)
@given(
    st.sets(st.text("0123456789X", min_size=1, max_size=5), min_size=1, max_size=40),
    st.text("0123456789Xa", max_size=6),
)
def test_trie_regex_matches_exactly_its_strings(words: set[str], probe: str) -> None:
    regex = re.compile(f"^(?:{peers.trie_regex(words)})$")
    assert all(regex.match(w) for w in words)
    assert bool(regex.match(probe)) == (probe in words)


def test_id_regexes_agree_with_the_calendar_and_the_area_codes() -> None:
    today = dt.date(2026, 11, 21)
    birth = re.compile(peers.birth_regex(today))
    day = dt.date(1848, 1, 1)
    while day <= dt.date(2027, 3, 1):
        id_number = f"310101{day:%Y%m%d}0011"
        assert bool(birth.search(id_number)) == (dt.date(1850, 1, 1) <= day <= today), id_number
        day += dt.timedelta(days=1)
    for text in ("31010119990230001X", "310101199913010011", "310101199900000011", "310101210002290011"):
        assert not birth.search(text)
    area = re.compile(peers.area_regex())
    assert area.search("310101199001010011") and not area.search("390101199001010011")
    for malformed in (
        "",
        "31010119900101001",
        "3101011990010100111",
        "31010119900101001x",
        "3101O1199001010011",
    ):
        assert area.search(malformed) and birth.search(malformed)  # the engine does not check these there


# -- the three sides -----------------------------------------------------------------------------


EDGE_ROWS: list[dict[str, Any]] = [
    # leap days in the ID, a check character X, a district only named after the city prefix
    {"id_number": "11010520000229001X", "birth_date": dt.date(2000, 2, 29), "sex": "1",
     "address": "浦东新区世纪大道100号", "district_code": "310115", "lon": 121.55, "lat": 31.22},
    {"id_number": "110105190002290010", "birth_date": dt.date(1900, 3, 1), "sex": "2",
     "address": "上海市南汇区惠南镇1号", "district_code": "310115", "lon": 121.55, "lat": 31.22},
    # a future but real date in the ID (valid for ID_BIRTH_MATCH), an ID typed with a letter O
    {"id_number": "110105210001010016", "birth_date": dt.date(2000, 1, 1), "sex": "1",
     "address": "上海市黄浦区南京东路1号", "district_code": "310101", "lon": 122.21, "lat": 31.0},
    {"id_number": "1101051990O1010016", "birth_date": dt.date(1990, 1, 1), "sex": "2",
     "address": "徐汇区", "district_code": None, "lon": 121.43, "lat": 30.65},
    # NULL keys are not duplicates of each other; a sex code outside 1/2; an empty e-mail
    {"id_number": None, "birth_date": None, "sex": "9", "address": None, "district_code": "310104",
     "lon": None, "lat": 31.2, "email": ""},
    {"id_number": None, "birth_date": dt.date(1899, 12, 31), "sex": "0", "address": "北京市东城区",
     "district_code": "310104", "lon": 121.43, "lat": None, "email": "a@b.c"},
    {"id_number": "110105194912310021", "birth_date": dt.date(1949, 12, 31), "sex": "1",
     "address": "上海市静安区（原闸北区）共和新路1号", "district_code": "310106", "lon": 121.45, "lat": 31.23,
     "email": "x.y+z@sh.gov.cn", "mobile": "19912345678", "postcode": "200O40"},
    {"id_number": "110105194912310021", "birth_date": TODAY + dt.timedelta(days=1), "sex": "2",
     "address": "上海市", "district_code": "310199", "lon": 121.3417, "lat": 30.7417, "mobile": "1991234567"},
]  # fmt: skip


def _edge_table(path: Path) -> Path:
    columns = {f.name: [r.get(f.name) for r in EDGE_ROWS] for f in SCHEMA}
    columns["name"] = ["张三"] * len(EDGE_ROWS)
    pq.write_table(pa.Table.from_pydict(columns, schema=SCHEMA), path)
    return path


@pytest.mark.slow
def test_the_three_sides_agree_on_edge_cases(tmp_path: Path) -> None:
    path = _edge_table(tmp_path / "edge.parquet")
    today = TODAY.isoformat()
    gongshu = bench._gongshu_child(str(path), 1, today)["counts"]
    assert {k: v for k, v in gongshu.items() if v} == {
        k: v for k, v in oracle(pq.read_table(path).to_pylist()).items() if v
    }
    pandera = in_child(bench._peer_child, "pandera", str(path), 1, today)["counts"]
    gx = in_child(bench._peer_child, "gx", str(path), 1, today)["counts"]
    assert {k: v for k, v in pandera.items() if gongshu[k] != v} == {}
    assert {k: v for k, v in gx.items() if gongshu[k] != v} == {}


@pytest.mark.slow
def test_gongshu_pandera_and_gx_count_the_same_on_20000_rows(tmp_path: Path) -> None:
    figures = bench.run_bench(20_000, peers=("pandera", "gx"), threads=2, work_dir=tmp_path)
    assert figures["agree"], figures["differences"]
    assert figures["rows"] == 20_000 and figures["rules"] >= 15
    counts = figures["counts"]
    assert all(c["gongshu"] == c["truth"] for c in counts.values() if "truth" in c)
    assert all(c["pandera"] == c["gongshu"] for c in counts.values() if "pandera" in c)
    assert sum("gx" in c for c in counts.values()) == figures["peers"]["gx"]["rules"] == 33
    assert sum(c["gongshu"] for c in counts.values()) > 1_000


@pytest.mark.slow
def test_the_command_prints_json(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "gongshu.cli.main", "bench", "audit", "--rows", "20000", "--json",
               "--work", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert {"rows", "rules", "rows_per_s", "seconds", "peak_rss_mb", "peers", "counts", "machine"} <= set(
        figures
    )
    for peer in ("pandera", "gx"):
        assert {"rows", "rules", "rows_per_s", "seconds", "ratio"} <= set(figures["peers"][peer])
    assert figures["agree"] is True
