"""Catalogue entries: validation (every problem at once), lifecycle, versions, permissions, audit."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from gongshu.catalogue import browse, entries
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.roles import Principal
from gongshu.security import audit
from tests.helpers import entry_doc, seed_basics


def _create(session: Session, actor: Principal, **changes: object) -> str:
    return entries.create_entry(session, actor, entries.parse_spec(entry_doc(**changes))).code


def _problems(session: Session, actor: Principal, **changes: object) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as raised:
        _create(session, actor, **changes)
    return raised.value.problems


def test_a_valid_entry_is_created_as_a_draft(session: Session) -> None:
    people = seed_basics(session)
    entry = entries.create_entry(session, people["ga_steward"], entries.parse_spec(entry_doc()))
    assert entry.status == "draft" and entry.version == 1 and entry.division_code == "310000"
    assert [i.name for i in entry.items] == ["id_number", "name", "sex", "birth_date"]


def test_every_problem_is_reported_at_once_keyed_by_field(session: Session) -> None:
    people = seed_basics(session)
    items = entry_doc()["items"]
    items[1]["element"] = "DE9999"
    items[2]["name"] = "Bad Name"
    items[3]["type"] = "X"
    problems = _problems(
        session,
        people["operator"],
        code="ABC",
        name=" ",
        provider="GA",
        format="纸质",
        share_type="不予共享",
        share_basis=None,
        share_methods=["接口"],
        open_type="无条件开放",
        update_cycle="每小时",
        related_codes=["bad"],
        items=items,
    )
    assert set(problems) == {
        "code",
        "name",
        "format",
        "update_cycle",
        "related_codes[0]",
        "share_basis",
        "share_methods",
        "items[0].grade",
        "items[1].element",
        "items[1].grade",
        "items[2].name",
        "items[3].type",
        "items[3].grade",
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"share_type": "有条件共享", "share_condition": ""}, "share_condition"),
        ({"share_type": "不予共享", "share_methods": [], "share_basis": None}, "share_basis"),
        ({"share_type": "无条件共享", "share_methods": []}, "share_methods"),
        ({"open_type": "有条件开放", "open_condition": None}, "open_condition"),
        ({"open_type": "不予开放", "open_basis": " "}, "open_basis"),
        ({"code": "301001001-000001"}, "code"),
        ({"provider": "NOPE"}, "provider"),
        ({"district": "310199"}, "district"),
        ({"items": []}, "items"),
    ],
)
def test_each_catalogue_rule(session: Session, changes: dict[str, object], field: str) -> None:
    people = seed_basics(session)
    assert field in _problems(session, people["operator"], **changes)


def test_graded_items_cannot_be_unconditionally_open(session: Session) -> None:
    people = seed_basics(session)
    problems = _problems(session, people["operator"], open_type="无条件开放")
    assert set(problems) == {"items[0].grade", "items[1].grade", "items[3].grade"}
    general = [dict(item, grade="一般") for item in entry_doc()["items"]]
    _create(session, people["operator"], open_type="无条件开放", items=general)


def test_shape_errors_are_keyed_problems_too(session: Session) -> None:
    with pytest.raises(ValidationFailed) as raised:
        entries.parse_spec({"code": 1, "items": [{"name": "x"}], "colour": "red"})
    assert {"name", "items[0].label", "colour"} <= set(raised.value.problems)


def test_lifecycle_with_versions_and_audit(session: Session) -> None:
    people = seed_basics(session)
    steward, operator = people["ga_steward"], people["operator"]
    code = _create(session, steward)
    entries.transition(session, steward, code, "submit")
    with pytest.raises(Conflict, match="cannot be edited"):
        entries.update_entry(session, steward, code, entries.parse_spec(entry_doc()))
    with pytest.raises(PermissionDenied):
        entries.transition(session, steward, code, "publish")
    with pytest.raises(ValidationFailed, match="reason"):
        entries.transition(session, operator, code, "return")
    entries.transition(session, operator, code, "return", note="摘要过于简单")
    entries.update_entry(session, steward, code, entries.parse_spec(entry_doc(summary="更完整的摘要说明")))
    entries.transition(session, steward, code, "submit")
    entry = entries.transition(session, operator, code, "publish")
    assert entry.status == "published" and entry.publish_date is not None
    entries.transition(session, operator, code, "mount")
    with pytest.raises(Conflict):
        entries.transition(session, operator, code, "publish")
    entries.transition(session, steward, code, "revoke", note="系统下线")
    versions = browse.list_versions(session, operator, code)
    assert [(v.version, v.change, v.status) for v in versions] == [
        (8, "revoke", "revoked"),
        (7, "mount", "mounted"),
        (6, "publish", "published"),
        (5, "submit", "submitted"),
        (4, "update", "draft"),
        (3, "return", "draft"),
        (2, "submit", "submitted"),
        (1, "create", "draft"),
    ]
    assert versions[4].document["summary"] == "更完整的摘要说明"
    assert versions[7].document["summary"] == entry_doc()["summary"]
    actions = [e.action for e in audit.list_events(session, object_id=code, limit=20)]
    assert actions == [
        "catalog.revoke",
        "catalog.mount",
        "catalog.publish",
        "catalog.submit",
        "catalog.update",
        "catalog.return",
        "catalog.submit",
        "catalog.create",
    ]


def test_stewards_catalogue_only_for_their_organisation(session: Session) -> None:
    people = seed_basics(session)
    with pytest.raises(PermissionDenied):
        _create(session, people["mz_steward"])
    with pytest.raises(PermissionDenied):
        _create(session, people["consumer"])
    code = _create(session, people["ga_steward"])
    with pytest.raises(PermissionDenied):
        entries.transition(session, people["mz_steward"], code, "submit")


def test_codes_are_unique_and_immutable(session: Session) -> None:
    people = seed_basics(session)
    code = _create(session, people["ga_steward"])
    assert "code" in _problems(session, people["ga_steward"])
    with pytest.raises(ValidationFailed) as raised:
        entries.update_entry(
            session, people["ga_steward"], code, entries.parse_spec(entry_doc(code="301001001/000002"))
        )
    assert "code" in raised.value.problems


def test_drafts_are_visible_only_to_their_provider_and_operators(session: Session) -> None:
    people = seed_basics(session)
    code = _create(session, people["ga_steward"])
    assert browse.get_entry(session, people["ga_steward"], code)
    assert browse.get_entry(session, people["operator"], code)
    for outsider in (people["mz_steward"], people["consumer"], people["citizen"]):
        with pytest.raises(NotFound):
            browse.get_entry(session, outsider, code)
    entries.transition(session, people["ga_steward"], code, "submit")
    entries.transition(session, people["operator"], code, "publish")
    assert browse.get_entry(session, people["consumer"], code)
    with pytest.raises(NotFound):  # citizens use the open portal, not the internal catalogue
        browse.get_entry(session, people["citizen"], code)
