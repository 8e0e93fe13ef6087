"""The demo city's ground truth through the audit (稽核): every planted defect is found under its rule;
no rule fires on a row without a cause planted in the manifest."""

from __future__ import annotations

from collections import defaultdict

import duckdb
import pytest
import sqlalchemy as sa

from gongshu.cleanse import DEFECT_RULES
from gongshu.collect.models import Batch, Mount
from gongshu.collect.mounts import spec_of
from gongshu.engine import connect
from gongshu.lake import open_lake
from gongshu.quality.audit import _audit_table, _Context, _raw_view
from gongshu.quality.engine import plan_audit
from gongshu.quality.models import AuditRun
from tests.collect.test_ground_truth import MOUNT_SOURCES, OPEN_MOUNTS
from tests.demo_city import Demo

# variations that make a row legitimately fail a consistency rule: a stale address disagrees with
# the district code recorded beside it
VARIATION_RULES = {"stale_address": "ADDRESS_DISTRICT"}


def _manifest(con: duckdb.DuckDBPyConnection, demo: Demo, name: str) -> str:
    return str(demo.data_dir / "city" / "manifest" / f"{name}.parquet")


def _flags(demo: Demo, mount: str) -> dict[str, set[tuple[str, str]]]:
    """key text → {(rule, column)} for every failed flag of the batch, re-run with the real plan."""
    platform = demo.platform
    lake = open_lake(platform.settings)
    with platform.store.session() as session:
        m = session.scalar(sa.select(Mount).where(Mount.name == mount))
        assert m is not None
        batch = session.scalar(sa.select(Batch).where(Batch.mount_id == m.id, Batch.state == "committed"))
        assert batch is not None
        spec = spec_of(m)
        ctx = _Context.of(session, batch, spec)
        keys = {r.mount: list(spec_of(t).key) for r in spec.audit.references
                for t in session.scalars(sa.select(Mount).where(Mount.name == r.mount))}  # fmt: skip
    con = connect()
    columns = _raw_view(con, lake, mount, batch.id)
    table = _audit_table(con, lake, spec, ctx.bindings, columns, keys, ctx.labels)
    plan = plan_audit(table, standardised=False, today=ctx.today)
    plan.run(con, "raw_in", keep=["_row"])
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    key_count = len(spec.key)
    for row in plan.flag_rows(con):
        # kept (_row), key columns…, then rule and column
        key = "|".join("" if v is None else str(v) for v in row[1 : 1 + key_count])
        found[key].add((row[-2], row[-1]))
    return found


def _planted(con: duckdb.DuckDBPyConnection, demo: Demo, source: str) -> dict[str, set[tuple[str, str, str]]]:
    planted: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    for key, field, kind, category in con.execute(
        "SELECT record_key, field, kind, category FROM read_parquet(?) WHERE source = ?",
        [_manifest(con, demo, "defects"), source],
    ).fetchall():
        planted[str(key)].add((category, kind, field))
    return planted


def _bad_entities(con: duckdb.DuckDBPyConnection, demo: Demo) -> set[str]:
    """Persons and enterprises whose register record (公安 population, 市场监管) was quarantined."""
    rows = con.execute(
        """SELECT DISTINCT i.entity_id FROM read_parquet(?) i
           JOIN read_parquet(?) d ON d.source = i.source AND d.record_key = i.record_key
           WHERE i.source IN ('GA.population', 'SCJG.enterprise') AND i.role IN ('subject')
             AND d.category = 'defect'""",
        [_manifest(con, demo, "identities"), _manifest(con, demo, "defects")],
    ).fetchall()
    enterprises = con.execute(
        """SELECT DISTINCT i.entity_id FROM read_parquet(?) i JOIN read_parquet(?) d
           ON d.source = i.source AND d.record_key = i.record_key
           WHERE i.source = 'SCJG.enterprise' AND i.entity_type = 'enterprise' AND d.category = 'defect'""",
        [_manifest(con, demo, "identities"), _manifest(con, demo, "defects")],
    ).fetchall()
    return {str(r[0]) for r in rows} | {str(r[0]) for r in enterprises}


def _entities(con: duckdb.DuckDBPyConnection, demo: Demo, source: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for key, entity in con.execute(
        "SELECT record_key, entity_id FROM read_parquet(?) WHERE source = ?",
        [_manifest(con, demo, "identities"), source],
    ).fetchall():
        out[str(key)].add(str(entity))
    return out


@pytest.mark.parametrize("mount", sorted(MOUNT_SOURCES))
def test_every_planted_defect_is_found_under_its_rule_and_nothing_else_fires(demo: Demo, mount: str) -> None:
    con = connect()
    source = MOUNT_SOURCES[mount]
    found = _flags(demo, mount)
    planted = _planted(con, demo, source)
    bad = _bad_entities(con, demo)
    entities = _entities(con, demo, source)

    missed, unexplained = [], []
    for key, marks in planted.items():
        got = found.get(key, set())
        got_rules = {rule for rule, _column in got}
        for category, kind, field in marks:
            if category != "defect":
                continue
            rule = "UNIQUE_KEY" if kind == "duplicate_key" else DEFECT_RULES[kind]
            if rule not in got_rules or (
                rule not in ("COORD_DISTRICT", "UNIQUE_KEY") and (rule, field) not in got
            ):
                missed.append((key, kind, field, sorted(got)))
    for key, got in found.items():
        marks = planted.get(key, set())
        expected = {
            "UNIQUE_KEY" if kind == "duplicate_key" else DEFECT_RULES[kind]
            for category, kind, _f in marks
            if category == "defect"
        }
        expected |= {VARIATION_RULES[kind] for category, kind, _f in marks if kind in VARIATION_RULES}
        # a defect planted in the district code or the address also makes the two disagree
        if any(c == "defect" and ("district" in f or "address" in f) for c, _k, f in marks):
            expected.add("ADDRESS_DISTRICT")
        duplicate = any(kind == "duplicate_key" for _c, kind, _f in marks)
        for rule, column in got:
            if rule in expected or rule == "COMPLETENESS":
                continue
            if rule == "REFERENCE" and entities.get(key, set()) & bad:
                continue  # the person/enterprise's own register record was quarantined
            if duplicate:
                continue  # a duplicate copies its original row, with that row's own defects
            unexplained.append((key, rule, column))
    assert not missed, f"{len(missed)} planted defects not found, e.g. {missed[:5]}"
    assert not unexplained, f"{len(unexplained)} findings without a planted cause, e.g. {unexplained[:5]}"


def test_every_demo_batch_has_an_audit_run_with_a_score(demo: Demo) -> None:
    with demo.platform.store.session() as session:
        runs = {r.mount.name: r for r in session.scalars(sa.select(AuditRun))}
        assert set(runs) == set(MOUNT_SOURCES) | set(OPEN_MOUNTS)
        for name, run in runs.items():
            assert run.score is not None and 0 <= run.score <= 100, name
            assert run.rows > 0 and (run.failed_rows > 0 or name in OPEN_MOUNTS), name
            if name in OPEN_MOUNTS:
                # open data is clean: a row fails only a reference to a register row that was itself
                # quarantined, or lacks an optional value (no 首要污染物 when the AQI is ≤ 50)
                fired = {r.rule_id for r in run.results if r.failed}
                assert fired <= {"REFERENCE", "COMPLETENESS", "LATENCY"}, (name, fired)
            assert {r.rule_id for r in run.results} >= {"REQUIRED", "UNIQUE_KEY", "ACCESSIBILITY"}, name
            # the table rules find nothing the generator did not plant: the addresses record CGCS2000
            table_failures = {
                r.rule_id
                for r in run.results
                if r.rule_id in ("COORD_SYSTEM", "ROW_MALFORMED", "ACCESSIBILITY") and r.failed
            }
            assert not table_failures, (name, table_failures)
