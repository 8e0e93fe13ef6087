"""Every audit row rule on a small hand-made table, with exact counts."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.cleanse import ColumnBinding
from gongshu.engine import connect
from gongshu.quality.engine import AuditTable, Reference, plan_audit
from gongshu.quality.scores import ranks, score_results

ROWS = """VALUES
 ('11010519491231002X', '张三', '2', DATE '1949-12-31', '13812345678', '310101', 121.47, 31.23),
 ('110105194912310021', '李四', '1', DATE '1949-12-31', '1381234567',  '310101', 121.47, 31.23),
 ('110105194912310021', '李四', '1', DATE '1950-12-31', NULL,          '310104', 130.00, 31.23),
 (NULL,                 '王五', '1', DATE '2999-01-01', '13812345678', NULL,     NULL,   NULL)"""
BINDINGS = (
    ColumnBinding("id_number", "id_number", "DE0101", "C", 18, True),
    ColumnBinding("name", "name", "DE0102", "C", 50, True),
    ColumnBinding("sex", "sex", "DE0103", "C", 1),
    ColumnBinding("birth_date", "birth_date", "DE0104", "D", 8),
    ColumnBinding("mobile", "mobile", "DE0106", "C", 11),
    ColumnBinding("district_code", "district_code", "DE0302", "C", 6),
    ColumnBinding("lon", "lon", "DE0304", "N", 12),
    ColumnBinding("lat", "lat", "DE0305", "N", 12),
)


@pytest.fixture(scope="module")
def outcome():  # type: ignore[no-untyped-def]
    con = connect()
    con.execute(
        f"CREATE TABLE person AS SELECT * FROM ({ROWS}) "
        "t(id_number, name, sex, birth_date, mobile, district_code, lon, lat)"
    )
    con.execute("CREATE TABLE register AS SELECT '11010519491231002X' AS id")
    table = AuditTable(
        "person",
        BINDINGS,
        key=("id_number",),
        references=(Reference("id_number", "register", "id", "公安实有人口库"),),
        labels={"id_number": "公民身份号码"},
    )
    plan = plan_audit(table, standardised=True, today=dt.date(2026, 11, 21))
    return plan.run(con, "person")


def _counts(outcome, rule: str, column: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    found = [(r.checked, r.failed) for r in outcome.results if r.rule_id == rule and r.column == column]
    assert len(found) == 1, (rule, column, found)
    return found[0]


@pytest.mark.parametrize(
    ("rule", "column", "checked", "failed"),
    [
        ("REQUIRED", "id_number", 4, 1),  # completeness of a required item: every row, NULLs fail
        ("ID_FORMAT", "id_number", 3, 0),
        ("ID_CHECK", "id_number", 3, 2),  # MOD 11-2: 110105194912310021 ends in the wrong digit
        ("PHONE_FORMAT", "mobile", 3, 1),  # ten digits
        ("COMPLETENESS", "mobile", 4, 1),  # optional item: NULL ratio, severity info
        ("ID_BIRTH_MATCH", "birth_date", 3, 1),  # 1950-12-31 against an ID born 1949-12-31
        ("ID_SEX_MATCH", "sex", 3, 2),  # 17th digit 2 (even: female) but sex 1
        ("DATE_RANGE", "birth_date", 4, 1),  # 2999-01-01 lies after the audit day
        ("COORD_RANGE", "lon", 3, 1),  # 130°E is not in Shanghai
        ("REFERENCE", "id_number", 1, 0),  # only valid IDs are looked up; the valid one is registered
        ("UNIQUE_KEY", "id_number", 3, 2),  # both copies of the repeated key
        ("CODE_UNKNOWN", "district_code", 3, 0),
    ],
)
def test_rule_counts(outcome, rule: str, column: str, checked: int, failed: int) -> None:  # type: ignore[no-untyped-def]
    assert _counts(outcome, rule, column) == (checked, failed)


def test_rows_failing_and_districts(outcome) -> None:  # type: ignore[no-untyped-def]
    assert outcome.rows == 4
    assert outcome.failed_rows == 3
    assert {k: (v["rows"], v["failed_rows"]) for k, v in outcome.districts.items()} == {
        "310101": (2, 1),
        "310104": (1, 1),
    }
    assert outcome.profile["columns"]["sex"]["codes"] == {"1": 0.75, "2": 0.25}
    labels = {r.column: r.label for r in outcome.results if r.rule_id == "REQUIRED"}
    assert labels["id_number"] == "公民身份号码"


def test_hostile_column_names_are_quoted() -> None:
    con = connect()
    name = 'x"; DROP TABLE t; --'
    con.execute(f"CREATE TABLE t AS SELECT '13812345678' AS \"{name.replace(chr(34), chr(34) * 2)}\"")
    table = AuditTable("t", (ColumnBinding(name, name, "DE0106", "C", 11),))
    outcome = plan_audit(table, standardised=True).run(con, "t")
    assert outcome.rows == 1
    assert con.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_scores_follow_the_documented_formula() -> None:
    from gongshu.quality.engine import RuleOutcome

    results = [
        RuleOutcome("ID_CHECK", "accuracy", "id", "error", 1000, 100),  # 0.90
        RuleOutcome("UNIQUE_KEY", "accuracy", "id", "error", 1000, 0),  # 1.00
        RuleOutcome("ADDRESS_DISTRICT", "consistency", "a", "warning", 100, 50),  # 0.50
        RuleOutcome("COMPLETENESS", "completeness", "m", "info", 100, 100),  # not scored
    ]
    score, dims = score_results(results)
    assert dims == {"accuracy": 95.0, "consistency": 50.0}
    assert score == round((0.25 * 95 + 0.15 * 50) / 0.40, 2)
    assert ranks({"a": 90, "b": 95, "c": 90, "d": None}) == {"a": 2, "b": 1, "c": 2, "d": None}
