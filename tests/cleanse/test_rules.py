"""The rule set as data: loading, validation, binding rules to columns, plan validation."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gongshu.city import DEFECTS
from gongshu.cleanse import DEFECT_RULES, ColumnBinding, TableRule, load_ruleset, parse_ruleset, plan_table
from gongshu.cleanse.kinds import check_kind
from gongshu.errors import NotFound, ValidationFailed
from tests.cleanse.conftest import raw_table, run


def test_every_rule_is_named_and_compilable() -> None:
    ruleset = load_ruleset()
    assert len(ruleset.rules) >= 25
    for rule in ruleset:
        check_kind(rule)
        assert rule.name_zh and rule.name_en
        if rule.severity is not None:
            assert rule.reason_zh and rule.reason_en, rule.id


def test_defect_rules_cover_the_city_defects_with_blocking_rules() -> None:
    ruleset = load_ruleset()
    assert set(DEFECT_RULES) == set(DEFECTS) - {"duplicate_key"}
    assert {ruleset.get(r).severity for r in DEFECT_RULES.values()} == {"blocking"}


def test_summaries_list_every_rule_for_docs_and_pages() -> None:
    summaries = load_ruleset().summaries()
    assert {s["id"] for s in summaries} >= set(DEFECT_RULES.values())
    assert set(summaries[0]) >= {"id", "name_zh", "name_en", "severity", "elements", "types", "description"}


def test_rules_of_a_binding_run_text_first_then_transforms_then_checks() -> None:
    ids = [r.id for r in load_ruleset().for_binding("DE0101", "C", required=True)]
    assert ids == [
        "TEXT_CLEAN",
        "ID_UPGRADE",
        "REQUIRED",
        "ID_FORMAT",
        "ID_AREA_CODE",
        "ID_BIRTH_DATE",
        "ID_CHECK",
    ]


def test_explicit_rules_replace_or_adjust_the_defaults() -> None:
    ruleset = load_ruleset()
    assert [r.id for r in ruleset.for_binding("DE0101", "C", ("ID_CHECK",))] == ["TEXT_CLEAN", "ID_CHECK"]
    adjusted = [r.id for r in ruleset.for_binding("DE0103", "C", ("+CODE_SYNONYMS", "-CODE_UNKNOWN"))]
    assert adjusted == ["TEXT_CLEAN", "CODE_SYNONYMS"]
    with pytest.raises(NotFound):
        ruleset.for_binding("DE0101", "C", ("NO_SUCH_RULE",))


def test_a_rules_document_is_validated() -> None:
    document: dict[str, Any] = {
        "text_profiles": {"t": {"ascii": False}},
        "element_profiles": {"DE0101": "missing"},
        "type_profiles": {"C": "t"},
        "rules": [
            {"id": "A", "name_zh": "甲", "name_en": "A", "kind": "text"},
            {"id": "A", "name_zh": "甲", "name_en": "A", "kind": "text"},
            {"id": "bad id", "name_zh": "乙", "name_en": "B", "kind": "pattern", "severity": "fatal"},
        ],
    }
    with pytest.raises(ValidationFailed) as caught:
        parse_ruleset(document)
    fields = set(caught.value.problems)
    assert {"rules", "profiles", "rules[2].id", "rules[2].severity"} <= fields


def test_a_new_pattern_rule_is_added_as_data() -> None:
    shipped = yaml.safe_load(
        __import__("importlib.resources", fromlist=["files"])
        .files("gongshu.cleanse")
        .joinpath("data/rules.yaml")
        .read_text("utf-8")
    )
    shipped["rules"].append(
        {
            "id": "GRADE_FORMAT",
            "name_zh": "年级格式错误",
            "name_en": "Malformed grade",
            "kind": "pattern",
            "severity": "warning",
            "elements": ["DE0503"],
            "reason_zh": "年级应为“一年级”…“高三”",
            "reason_en": "a grade is 一年级 … 高三",
            "params": {"pattern": "^(一|二|三|四|五|六)年级$|^(初|高)(一|二|三)$"},
        }
    )
    plan = plan_table([ColumnBinding("grade", "年级", "DE0503", "C", 10)], ruleset=parse_ruleset(shipped))
    rows = run(plan, raw_table({"年级": ["三年级", "高三", "大一"]}))
    assert [r["grade__GRADE_FORMAT"] for r in rows] == [False, False, True]


def test_installation_elements_can_replace_the_shipped_code_sets() -> None:
    elements = [
        {"code": "DE9001", "name": "血型", "type": "C", "length": 2, "codes": {"A": "A型", "B": "B型"}}
    ]
    rules = load_ruleset()
    document_rules = [
        r.model_copy(update={"elements": (*r.elements, "DE9001")}) if r.id == "CODE_UNKNOWN" else r
        for r in rules
    ]
    ruleset = type(rules)(tuple(document_rules), rules.profiles, rules.element_profiles, rules.type_profiles)
    plan = plan_table([ColumnBinding("blood", "血型", "DE9001", "C", 2)], ruleset=ruleset, elements=elements)
    rows = run(plan, raw_table({"血型": ["a", "AB"]}))
    assert [r["blood__CODE_UNKNOWN"] for r in rows] == [True, True]


@pytest.mark.parametrize(
    ("bindings", "field"),
    [
        (
            [ColumnBinding("a", "a", "DE0101", "C"), ColumnBinding("a", "b", "DE0102", "C")],
            "bindings[1].name",
        ),
        ([ColumnBinding("a__b", "a", "DE0101", "C")], "bindings[0].name"),
        ([ColumnBinding("a", "a", "DE9999", "C")], "bindings[0].element"),
        ([ColumnBinding("a", "a", "DE0101", "X")], "bindings[0].type"),
    ],
)
def test_bad_bindings_are_refused_with_the_field(bindings: list[ColumnBinding], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        plan_table(bindings)
    assert field in caught.value.problems


def test_bad_table_rules_and_kept_columns_are_refused() -> None:
    bindings = [ColumnBinding("addr", "地址", "DE0301", "C", 200)]
    with pytest.raises(ValidationFailed):
        plan_table(bindings, table_rules=[TableRule("COORD_DISTRICT", {"lon": "addr"})])
    with pytest.raises(ValidationFailed):
        plan_table(bindings, table_rules=[TableRule("NOPE", {})])
    with pytest.raises(ValidationFailed):
        plan_table(bindings).standardise("raw", keep=["addr"])


def test_table_rules_are_inferred_and_can_be_switched_off() -> None:
    bindings = [
        ColumnBinding("addr", "地址", "DE0301", "C", 200),
        ColumnBinding("dc", "区划", "DE0302", "C", 6),
        ColumnBinding("lon", "经度", "DE0304", "N"),
        ColumnBinding("lat", "纬度", "DE0305", "N"),
    ]
    inferred = [
        c.rule_id for c in plan_table(bindings).checks if c.rule_id in ("ADDRESS_DISTRICT", "COORD_DISTRICT")
    ]
    assert inferred == ["ADDRESS_DISTRICT", "COORD_DISTRICT", "COORD_DISTRICT"]
    assert not {c.rule_id for c in plan_table(bindings, infer=False).checks} & {
        "ADDRESS_DISTRICT",
        "COORD_DISTRICT",
    }
