"""``datastore_search`` over the demo's publications: CKAN's semantics, its limits, and refusals that
reveal nothing (withheld fields read like unknown ones, hostile names and values never reach SQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gongshu.errors import PermissionDenied, ValidationFailed
from gongshu.open.caller import ANONYMOUS, Caller, Scope
from gongshu.open.datasets import OpenDataset, dataset_name, open_dataset
from gongshu.open.datastore import MAX_LIMIT, datastore_search, parse_sort
from gongshu.platform import Platform
from tests.demo_city import Demo
from tests.open.conftest import ADDRESSES, ENTERPRISES

ADDRESS_NAME = dataset_name(ADDRESSES)
ENTERPRISE_NAME = dataset_name(ENTERPRISES)


@pytest.fixture(scope="module")
def platform(demo: Demo) -> Platform:
    return demo.platform


def dataset(platform: Platform, name: str) -> OpenDataset:
    with platform.store.session() as session:
        return open_dataset(session, name)


def credential(name: str, fields: set[str]) -> Caller:
    """A scoped credential's caller: one dataset, some fields, valid for a day."""
    scope = Scope(1, "OA000001", frozenset(fields), datetime.now(UTC) + timedelta(days=1))
    return Caller(kind="credential", name="key:goc_test", key_id=None, scopes={name: scope}, only_scoped=True)


def search(
    platform: Platform, name: str = ADDRESS_NAME, caller: Caller = ANONYMOUS, **kw: Any
) -> dict[str, Any]:
    return datastore_search(platform, dataset(platform, name), caller, **kw)


def test_the_result_has_ckans_shape(platform: Platform) -> None:
    result = search(platform, limit=5)
    published = dataset(platform, ADDRESS_NAME).publication
    assert published is not None
    assert result["resource_id"] == f"{ADDRESS_NAME}-csv"
    assert [f["id"] for f in result["fields"]] == ["_id", *published.fields]
    assert result["fields"][1]["info"]["label"] == "地址编码" and result["fields"][0]["type"] == "int"
    assert {f["type"] for f in result["fields"]} <= {"int", "text", "float", "numeric", "timestamp", "date"}
    assert [r["_id"] for r in result["records"]] == [1, 2, 3, 4, 5]
    assert result["total"] == published.rows and result["limit"] == 5 and result["offset"] == 0
    assert result["_links"]["next"].endswith("offset=5")
    assert result["_links"]["start"].startswith("/api/3/action/datastore_search?resource_id=")


def test_paging_visits_every_row_once_in_key_order(platform: Platform) -> None:
    total = search(platform, limit=0)["total"]
    assert search(platform, limit=0)["records"] == []
    seen: list[int] = []
    keys: list[str] = []
    offset = 0
    while offset < total:
        page = search(platform, limit=97, offset=offset, fields=["address_id"])
        seen += [r["_id"] for r in page["records"]]
        keys += [r["address_id"] for r in page["records"]]
        offset += 97
    assert seen == list(range(1, total + 1))
    assert keys == sorted(keys)  # _id is the row number in key order


def test_filters_bind_values_and_lists_mean_any_of(platform: Platform) -> None:
    one = search(platform, filters={"district_code": "310101"}, limit=1000)
    assert one["total"] > 0 and all(r["district_code"] == "310101" for r in one["records"])
    both = search(platform, filters={"district_code": ["310101", "310104"]}, limit=1000)
    assert both["total"] > one["total"] and {r["district_code"] for r in both["records"]} == {
        "310101",
        "310104",
    }
    assert search(platform, filters={"district_code": []})["total"] == 0
    address = one["records"][0]["address_id"]
    exact = search(platform, filters={"address_id": address})
    assert exact["total"] == 1 and exact["records"][0]["address_id"] == address
    assert search(platform, filters={"_id": 3})["records"][0]["_id"] == 3
    assert one["filters"] == {"district_code": "310101"}


def test_q_searches_readable_text_and_per_field(platform: Platform) -> None:
    result = search(platform, q="公寓", limit=1000)
    assert result["total"] > 0
    assert all(any("公寓" in str(v) for v in r.values()) for r in result["records"])
    per_field = search(platform, q={"building_name": "公寓"}, limit=1000)
    assert 0 < per_field["total"] <= result["total"]
    assert all("公寓" in r["building_name"] for r in per_field["records"])
    narrowed = search(platform, q="公寓 黄浦区", limit=1000)
    assert narrowed["total"] < result["total"]
    assert search(platform, q="%")["total"] == 0  # LIKE wildcards are literal text
    assert search(platform, q="_")["total"] == 0


def test_sort_fields_and_distinct(platform: Platform) -> None:
    down = search(platform, sort="address_id desc", limit=3, fields=["address_id"])
    assert [r["address_id"] for r in down["records"]] == sorted(
        (r["address_id"] for r in down["records"]), reverse=True
    )
    assert list(down["records"][0]) == ["_id", "address_id"]
    two = search(platform, sort='district_code asc, "address_id" desc', limit=50)
    pairs = [(r["district_code"], r["address_id"]) for r in two["records"]]
    assert pairs == sorted(pairs, key=lambda p: (p[0], [-ord(c) for c in p[1]]))
    distinct = search(platform, fields=["district_name"], distinct=True, limit=100)
    names = [r["district_name"] for r in distinct["records"]]
    assert len(names) == len(set(names)) == distinct["total"] and "_id" not in distinct["records"][0]
    assert parse_sort(" a ASC ,b", ["a", "b"]) == [("a", "ASC"), ("b", "ASC")]


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"limit": MAX_LIMIT + 1}, "limit"),
        ({"limit": -1}, "limit"),
        ({"offset": -5}, "offset"),
        ({"sort": "address_id sideways"}, "sort"),
        ({"sort": "address_id; DROP TABLE x"}, "sort"),
        ({"sort": "nope asc"}, "sort"),
        ({"fields": ["nope"]}, "fields"),
        ({"filters": {"nope": 1}}, "filters"),
        ({"filters": {"address_id": {"$ne": 1}}}, "filters"),
        ({"filters": {"lon": "not a number"}}, "filters"),
        ({"q": {"nope": "x"}}, "q"),
    ],
)
def test_bad_parameters_are_refused_by_name(platform: Platform, kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        search(platform, **kwargs)
    assert key in raised.value.problems


@pytest.mark.parametrize(
    "name",
    [
        'address_id" OR 1=1 --',
        "address_id) UNION SELECT * FROM read_csv('/etc/passwd') --",
        'address_id"',
        "ADDRESS_ID",
        "*",
    ],
)
def test_injection_shaped_field_names_are_unknown_fields(platform: Platform, name: str) -> None:
    for kwargs in ({"fields": [name]}, {"filters": {name: "1"}}, {"sort": name}, {"q": {name: "x"}}):
        with pytest.raises(ValidationFailed):
            search(platform, **kwargs)


def test_injection_shaped_values_are_bound(platform: Platform) -> None:
    total = search(platform, limit=0)["total"]
    for value in ["' OR '1'='1", "x'; DROP TABLE t; --", "310101' --", "\\"]:
        assert search(platform, filters={"address_id": value})["total"] == 0
        assert search(platform, q=value)["total"] == 0
    assert search(platform, limit=0)["total"] == total


def test_anonymous_cannot_read_a_conditional_dataset(platform: Platform) -> None:
    with pytest.raises(PermissionDenied) as raised:
        search(platform, ENTERPRISE_NAME)
    assert raised.value.hint is not None and f"/open/datasets/{ENTERPRISE_NAME}/apply" in raised.value.hint


def test_a_credential_reads_only_its_approved_fields(platform: Platform) -> None:
    caller = credential(ENTERPRISE_NAME, {"reg_no", "ent_name", "legal_rep_id_number"})
    result = search(platform, ENTERPRISE_NAME, caller, limit=3)
    assert [f["id"] for f in result["fields"]] == ["_id", "reg_no", "ent_name"]  # never the 重要 item
    assert all(set(r) == {"_id", "reg_no", "ent_name"} for r in result["records"])
    messages = {}
    for field in ("legal_rep_id_number", "uscc", "no_such_field"):  # 重要, not approved, unknown
        with pytest.raises(ValidationFailed) as raised:
            search(platform, ENTERPRISE_NAME, caller, fields=[field])
        messages[field] = raised.value.problems["fields"][0].replace(field, "X")
        with pytest.raises(ValidationFailed):
            search(platform, ENTERPRISE_NAME, caller, filters={field: "1"})
        with pytest.raises(ValidationFailed):
            search(platform, ENTERPRISE_NAME, caller, sort=f"{field} desc")
    assert len(set(messages.values())) == 1  # withheld and unknown read alike
    assert search(platform, ENTERPRISE_NAME, caller, q="有限公司", limit=1)["total"] > 0
    with pytest.raises(PermissionDenied):  # a credential reads nothing outside its scope
        search(platform, ADDRESS_NAME, caller)
