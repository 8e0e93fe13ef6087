"""Demo organisations and catalogue entries are well-formed (docs/catalogue-spec.md)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from gongshu.city import departments
from gongshu.city.catalogue import catalogue_documents, organisation_documents
from tests.city.checks import uscc_ok

ELEMENTS = {
    e["code"]: e
    for e in yaml.safe_load(Path("gongshu/catalogue/data/elements.yaml").read_text(encoding="utf-8"))
}
CODE = re.compile(r"^[1-3]\d{2}\d{3}(\d{3})?/\d{6}$")


def test_organisations() -> None:
    orgs = organisation_documents()
    codes = [o["code"] for o in orgs]
    assert len(codes) == len(set(codes))
    assert len({o["uscc"] for o in orgs}) == len(orgs)
    by_code = {o["code"]: o for o in orgs}
    for o in orgs:
        assert re.match(r"^[A-Z][A-Z0-9_-]{1,31}$", o["code"])
        assert uscc_ok(o["uscc"]) and o["uscc"][0] == "1"
        assert o["kind"] in {"center", "department", "district"}
        assert o["parent"] is None or o["parent"] in by_code
        if o["kind"] == "department":
            assert o["district"] == "310000"
    assert by_code["DSJ"]["kind"] == "center"
    assert {"GA", "MZ", "SCJG", "RS", "JW", "WJ", "GHZY", "JT"} <= set(by_code)
    assert sum(o["kind"] == "district" and o["parent"] is None for o in orgs) == 16


def test_catalogue_entries_follow_the_spec() -> None:
    entries = catalogue_documents()
    orgs = {o["code"] for o in organisation_documents()}
    assert len(entries) >= 36
    codes = [e["code"] for e in entries]
    assert len(codes) == len(set(codes))
    for e in entries:
        assert CODE.match(e["code"]) and e["provider"] in orgs
        assert all(CODE.match(c) for c in e.get("related_codes", []))
        if e["share_type"] == "不予共享":
            assert e["share_basis"]
        else:
            assert e["share_methods"]
        if e["share_type"] == "有条件共享":
            assert e["share_condition"]
        if e["open_type"] == "有条件开放":
            assert e["open_condition"]
        if e["open_type"] == "不予开放":
            assert e["open_basis"]
        names = [i["name"] for i in e["items"]]
        assert len(names) == len(set(names)) and names
        for item in e["items"]:
            assert re.match(r"^[a-z][a-z0-9_]{0,62}$", item["name"])
            assert item["element"] in ELEMENTS
            assert item["grade"] in {"一般", "重要", "核心"}
            if item["type"] in {"C", "N"}:
                assert item["length"]
            if e["open_type"] == "无条件开放":
                assert item["grade"] == "一般"
    assert {e["share_type"] for e in entries} == {"无条件共享", "有条件共享", "不予共享"}
    assert {e["open_type"] for e in entries} == {"无条件开放", "有条件开放", "不予开放"}
    assert len({e["update_cycle"] for e in entries}) >= 6
    assert {"D310115", "D310101"} <= {e["provider"] for e in entries}


def test_every_generated_table_has_an_entry_with_its_columns() -> None:
    entries = {
        (e["source"]["department"], e["source"]["name"]): e for e in catalogue_documents() if "source" in e
    }
    for dept in departments.MODULES:
        for spec in departments.specs(dept):
            entry = entries[(dept, spec.source)]
            assert [i["name"] for i in entry["items"]] == [c.name for c in spec.columns]
            grades = {i["name"]: i["grade"] for i in entry["items"]}
            for name, grade in grades.items():
                if name.endswith("id_number") or name.endswith("phone") or name == "address":
                    assert grade in {"重要", "核心"}, (spec.source, name)
