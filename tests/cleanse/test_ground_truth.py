"""Ground truth on the synthetic city: every planted defect caught by its rule, nothing else blocked.

For every file and SQLite source of a 3,000-person city the plan runs on DuckDB and is compared
with ``manifest/defects.parquet``:

* every planted defect (except duplicate_key, the pipeline's PK_DUPLICATE) is flagged by
  ``DEFECT_RULES[kind]`` on its row and field;
* no blocking check fails on a cell where no defect was planted (duplicate rows inherit the
  cells of the row they copy);
* variations that standardisation repairs come out as the manifest's ``clean`` value.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pyarrow.parquet as pq
import pytest

from gongshu.city import CityResult
from gongshu.cleanse import DEFECT_RULES, flag_name, plan_table
from tests.cleanse.city_sources import CitySource, city_sources
from tests.cleanse.conftest import ROW, run

REPAIRED = ("fullwidth_digits", "id_15_digit", "case_noise", "whitespace", "date_format", "plate_format")


@pytest.fixture(scope="module")
def outcome(city: CityResult) -> dict[str, Any]:
    manifest = pq.read_table(city.out_dir / "manifest" / "defects.parquet").to_pylist()
    result: dict[str, Any] = {"found": Counter(), "missed": [], "false_positives": [], "bad_variations": []}
    for source in city_sources(city):
        _compare(source, [m for m in manifest if m["source"] == source.id], result)
    return result


def _compare(source: CitySource, records: list[dict[str, Any]], result: dict[str, Any]) -> None:
    plan = plan_table(source.bindings)
    rows = run(plan, source.table)
    planted = _planted_by_cell(source, records, rows)
    for m in records:
        if m["category"] != "defect" or m["kind"] == "duplicate_key":
            continue
        if rows[m["row"]][f"{m['field']}__{DEFECT_RULES[m['kind']]}"]:
            result["found"][m["kind"]] += 1
        elif not _excused(m, planted):
            result["missed"].append((source.id, m["row"], m["field"], m["kind"], m["planted"]))
    for check in (c for c in plan.checks if c.severity == "blocking"):
        for row in rows:
            if row[flag_name(check)] and "defect" not in planted[(row[ROW], check.column)]:
                value = row[check.column]
                result["false_positives"].append((source.id, row[ROW], check.column, check.rule_id, value))
    for m in records:
        if m["category"] == "variation" and m["kind"] in REPAIRED:
            value = rows[m["row"]][m["field"]]
            if str(value) != m["clean"]:
                result["bad_variations"].append(
                    (source.id, m["row"], m["field"], m["kind"], m["clean"], value)
                )


def _planted_by_cell(
    source: CitySource, records: list[dict[str, Any]], rows: list[dict[str, Any]]
) -> dict[tuple[int, str], set[str]]:
    """Categories planted per (row, field); a duplicate row also carries its original's cells."""
    planted: dict[tuple[int, str], set[str]] = defaultdict(set)
    for m in records:
        planted[(m["row"], m["field"])].add(m["category"])
        planted[(m["row"], m["field"] + "#kinds")].add(m["kind"])
    copies = {m["row"] for m in records if m["kind"] == "duplicate_key"}
    key = source.spec.key
    first: dict[str, int] = {}
    for row in rows:
        if row[ROW] not in copies:
            first.setdefault(row[key], row[ROW])
    for copy in copies:
        original = first.get(rows[copy][key], copy)
        for (r, field), categories in list(planted.items()):
            if r == original:
                planted[(copy, field)] |= categories
    return planted


def _excused(m: dict[str, Any], planted: dict[tuple[int, str], set[str]]) -> bool:
    """A moved point cannot be judged when its district code is itself an unknown code."""
    return (
        m["kind"] == "coord_outside_district" and "code_unknown" in planted[(m["row"], "district_code#kinds")]
    )


def test_every_planted_defect_is_flagged_by_its_rule(outcome: dict[str, Any]) -> None:
    print("\nfound per kind:", dict(outcome["found"]))
    assert outcome["missed"] == []
    assert set(outcome["found"]) == set(DEFECT_RULES), "the city should plant every defect kind"


def test_no_blocking_failure_where_nothing_was_planted(outcome: dict[str, Any]) -> None:
    assert outcome["false_positives"] == []


def test_variations_standardise_to_the_clean_value(outcome: dict[str, Any]) -> None:
    assert outcome["bad_variations"] == []
