"""The demo city's ground truth: every planted defect is quarantined under the right rule, no clean row is."""

from __future__ import annotations

from collections import defaultdict

import duckdb
import pytest

from gongshu.cleanse import DEFECT_RULES
from gongshu.collect.pipeline import PK_DUPLICATE
from gongshu.engine import connect
from gongshu.lake import TableRef, Zone, open_lake
from tests.collect.conftest import Demo

MOUNT_SOURCES = {
    "ga_population": "GA.population",
    "mz_marriage": "MZ.marriage",
    "mz_death": "MZ.death",
    "scjg_enterprise": "SCJG.enterprise",
    "rs_employment": "RS.employment",
    "rs_insurance": "RS.insurance",
    "jw_student": "JW.student",
    "wj_birth": "WJ.birth",
    "ghzy_address": "GHZY.address",
    "jt_vehicle": "JT.vehicle",
}
# The open-data sources (gongshu.city.opendata): clean by construction, nothing planted.
OPEN_MOUNTS = {
    "d310101_meal_sites": "D310101.meal_sites",
    "d310101_committees": "D310101.committees",
    "d310104_venues": "D310104.venues",
    "d310115_service_centres": "D310115.service_centres",
    "ghzy_buildings": "GHZY.buildings",
    "ghzy_land_permits": "GHZY.land_permits",
    "jt_bus_stops": "JT.bus_stops",
    "jt_parking": "JT.parking",
    "jw_schools": "JW.schools",
    "mz_social_orgs": "MZ.social_orgs",
    "mz_elderly_care": "MZ.elderly_care",
    "rs_hr_agencies": "RS.hr_agencies",
    "scjg_food_licences": "SCJG.food_licences",
    "scjg_penalties": "SCJG.penalties",
    "sthj_air_quality": "STHJ.air_quality",
    "sthj_permits": "STHJ.permits",
    "tj_population": "TJ.population_stats",
    "wj_medical_orgs": "WJ.medical_orgs",
    "zj_property_services": "ZJ.property_services",
}


# Rows are matched by their record key (主键): SQL sources are read in cursor order, not insertion order.
def _quarantined(con: duckdb.DuckDBPyConnection) -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    rows = con.execute(
        """SELECT _record_key, json_extract_string(p, '$.rule'), json_extract_string(p, '$.column')
           FROM (SELECT _record_key, unnest(CAST(json(_problems) AS JSON[])) AS p FROM q)"""
    ).fetchall()
    for key, rule, column in rows:
        found[str(key)].add((rule, column))
    return found


def _planted(con: duckdb.DuckDBPyConnection, manifest: str, source: str) -> dict[str, set[tuple[str, str]]]:
    planted: dict[str, set[tuple[str, str]]] = defaultdict(set)
    rows = con.execute(
        "SELECT record_key, field, kind FROM read_parquet(?) WHERE source = ? AND category = 'defect'",
        [manifest, source],
    ).fetchall()
    for key, field, kind in rows:
        rule = PK_DUPLICATE if kind == "duplicate_key" else DEFECT_RULES[kind]
        planted[str(key)].add((rule, field))
    return planted


@pytest.mark.parametrize("mount", sorted(MOUNT_SOURCES))
def test_every_planted_defect_is_quarantined_under_its_rule_and_no_clean_row_is(
    demo: Demo, mount: str
) -> None:
    lake = open_lake(demo.platform.settings)
    manifest = str(demo.data_dir / "city" / "manifest" / "defects.parquet")
    con = connect()
    lake.view(con, TableRef(Zone.QUARANTINE, mount), "q")
    found = _quarantined(con)
    planted = _planted(con, manifest, MOUNT_SOURCES[mount])

    missed, wrong_rule, false_rows = [], [], []
    for row, expected in planted.items():
        got = found.get(row)
        if got is None:
            missed.append((row, expected))
            continue
        got_rules = {rule for rule, _column in got}
        for rule, field in expected:
            # table rules (COORD_DISTRICT) name one of the columns they read; others name the field
            if rule not in got_rules or (
                rule != "COORD_DISTRICT" and (rule, field) not in got and rule != PK_DUPLICATE
            ):
                wrong_rule.append((row, rule, field, sorted(got)))
    for row, got in found.items():
        if row not in planted:
            false_rows.append((row, sorted(got)))
        else:
            # a duplicate copies its original row, so it may carry that row's own defects too
            extra = {r for r, _c in got} - {r for r, _f in planted[row]}
            if extra and not any(r == PK_DUPLICATE for r, _f in planted[row]):
                false_rows.append((row, sorted(got)))
    assert not missed, f"{len(missed)} planted rows not quarantined, e.g. {missed[:5]}"
    assert not wrong_rule, f"{len(wrong_rule)} defects under the wrong rule, e.g. {wrong_rule[:5]}"
    assert not false_rows, (
        f"{len(false_rows)} rows quarantined without a planted defect, e.g. {false_rows[:5]}"
    )


def test_every_demo_batch_balances(demo: Demo) -> None:
    assert sorted(b.mount for b in demo.summary.batches) == sorted([*MOUNT_SOURCES, *OPEN_MOUNTS])
    for batch in demo.summary.batches:
        assert batch.balanced, batch
        assert batch.rows_read > 0
        if batch.mount in MOUNT_SOURCES:
            assert batch.rows_quarantined > 0, f"{batch.mount} has planted defects"
        else:  # open data is generated clean: every row must pass every blocking rule
            assert batch.rows_quarantined == 0 and batch.warnings == 0, batch
        assert set(batch.snapshots) >= {"raw", "quarantine", "standard"}


def test_standard_zone_holds_exactly_the_accepted_rows(demo: Demo) -> None:
    lake = open_lake(demo.platform.settings)
    con = connect()
    for batch in demo.summary.batches:
        lake.view(con, TableRef(Zone.STANDARD, batch.mount), "s")
        lake.view(con, TableRef(Zone.RAW, batch.mount), "r")
        standard = con.execute("SELECT count(*), count(DISTINCT _row) FROM s").fetchone()
        raw = con.execute("SELECT count(*) FROM r").fetchone()
        assert standard is not None and raw is not None
        assert standard[0] == standard[1] == batch.rows_written
        assert raw[0] == batch.rows_read
