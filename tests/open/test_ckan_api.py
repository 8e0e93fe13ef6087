"""The CKAN Action API driven by the unmodified ``ckanapi`` client against the real service.

Search, paging through every dataset exactly once, facets against fq drill-down, sorts, the other
read actions, GET and POST, the ``/api/action`` alias, CKAN's error mapping, quotas, and attempts to
reach what is not open (a 不予开放 entry, a conditional dataset's rows, a 重要 信息项) — none leaks.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import ckanapi
import pytest
import requests
import sqlalchemy as sa

from gongshu.catalogue.models import CatalogEntry
from gongshu.config import Settings
from gongshu.open.datasets import dataset_name, is_open
from gongshu.open.keys import create_key
from gongshu.open.models import OpenAccess
from gongshu.orgs.models import User
from gongshu.orgs.roles import SYSTEM, Role
from gongshu.platform import Platform, open_platform
from gongshu.share.exchange import close_call_logs
from tests.browser_support import served
from tests.demo_city import Demo
from tests.open.conftest import ADDRESSES, ENTERPRISES, NOT_OPEN, portal_user

ADDRESSES_NAME = dataset_name(ADDRESSES)
ENTERPRISES_NAME = dataset_name(ENTERPRISES)
NOT_OPEN_NAME = dataset_name(NOT_OPEN)
FACETS = ["organization", "groups", "res_format", "update_cycle", "open_type", "tags"]


@pytest.fixture(scope="module")
def site(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, str]]:
    """A private copy of the demo served for real, with anonymous limits high enough to page freely."""
    target = tmp_path_factory.mktemp("ckan") / "data"
    shutil.copytree(demo.data_dir, target, ignore=shutil.ignore_patterns("share"))
    settings = Settings(
        data_dir=target,
        demo=True,
        open_anonymous_rate_per_s=100_000,
        open_anonymous_daily_quota=10_000_000,
        open_refresh_s=0.2,
    )
    platform = open_platform(settings, migrate=True)
    with served(platform) as url:
        yield platform, url
    close_call_logs()
    platform.close()


@pytest.fixture()
def ckan(site: tuple[Platform, str]) -> Iterator[ckanapi.RemoteCKAN]:
    with ckanapi.RemoteCKAN(site[1]) as remote:
        yield remote


def hidden_entries(platform: Platform) -> list[CatalogEntry]:
    """Every catalogue entry the portal must not show (不予开放, drafts, under review, revoked)."""
    with platform.store.session() as session:
        entries = [e for e in session.scalars(sa.select(CatalogEntry)).unique() if not is_open(e)]
        session.expunge_all()
    return entries


def call(url: str, action: str, *, method: str = "GET", **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{url}/api/3/action/{action}", timeout=30, **kwargs)


# --- the site and search ------------------------------------------------------------------------


def test_status_show_on_both_paths(site: tuple[Platform, str], ckan: ckanapi.RemoteCKAN) -> None:
    status = ckan.action.status_show()  # ckanapi posts JSON to /api/action/status_show
    assert status["ckan_version"].startswith("2.")
    assert "datastore" in status["extensions"]
    answer = call(site[1], "status_show")
    assert answer.status_code == 200
    body = answer.json()
    assert body["success"] is True and body["result"]["site_url"] == status["site_url"]
    assert body["help"].endswith("/api/3/action/help_show?name=status_show")
    assert "site" in requests.get(body["help"], timeout=30).json()["result"]  # help_show: its doc


def test_paging_visits_every_dataset_exactly_once(ckan: ckanapi.RemoteCKAN) -> None:
    names = ckan.action.package_list()
    assert ADDRESSES_NAME in names and ENTERPRISES_NAME in names and NOT_OPEN_NAME not in names
    assert len(names) == len(set(names)) >= 10
    for sort in (
        "metadata_modified desc",
        "name asc",
        "title_string desc",
        "score desc, metadata_modified desc",
    ):
        seen: list[str] = []
        start = 0
        while True:
            page = ckan.action.package_search(rows=4, start=start, sort=sort)
            assert page["count"] == len(names)
            seen += [p["name"] for p in page["results"]]
            if not page["results"]:
                break
            start += 4
        assert sorted(seen) == sorted(names), sort  # each exactly once
    assert ckan.action.package_list(limit=3, offset=2) == names[2:5]


def test_facets_agree_with_fq_drill_down(ckan: ckanapi.RemoteCKAN) -> None:
    found = ckan.action.package_search(rows=0, **{"facet.field": FACETS, "facet.limit": -1})
    total = found["count"]
    assert set(found["search_facets"]) == set(FACETS)
    for field in FACETS:
        items = found["search_facets"][field]["items"]
        assert items, field
        assert {i["name"]: i["count"] for i in items} == found["facets"][field]
        for item in items:
            drilled = ckan.action.package_search(fq=f'{field}:"{item["name"]}"', rows=1000)
            assert drilled["count"] == item["count"], (field, item)
            excluded = ckan.action.package_search(fq=f'-{field}:"{item["name"]}"', rows=0)
            assert excluded["count"] == total - item["count"]
        if field in ("organization", "update_cycle", "open_type"):  # one value per dataset
            assert sum(i["count"] for i in items) == total, field
    scjg = ckan.action.package_search(fq='organization:scjg open_type:"有条件开放"', rows=100)
    assert ENTERPRISES_NAME in [p["name"] for p in scjg["results"]]
    assert all(p["organization"]["name"] == "scjg" for p in scjg["results"])
    either = ckan.action.package_search(fq="organization:(scjg OR ghzy)", rows=0)
    by_org = found["facets"]["organization"]
    assert either["count"] == by_org.get("scjg", 0) + by_org.get("ghzy", 0)


def test_sorts(ckan: ckanapi.RemoteCKAN) -> None:
    def listed(sort: str) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = ckan.action.package_search(rows=1000, sort=sort)["results"]
        return results

    titles = [p["title"] for p in listed("title_string asc")]
    assert titles == sorted(titles)
    assert [p["title"] for p in listed("title_string desc")] == sorted(titles, reverse=True)
    names = [p["name"] for p in listed("name asc")]
    assert names == sorted(names)
    assert [p["name"] for p in listed("name desc")] == sorted(names, reverse=True)
    modified = [p["metadata_modified"] for p in listed("metadata_modified desc")]
    assert modified == sorted(modified, reverse=True)
    with pytest.raises(ckanapi.errors.ValidationError):
        ckan.action.package_search(sort="secret_field desc")


def test_chinese_query_and_fq(ckan: ckanapi.RemoteCKAN) -> None:
    found = ckan.action.package_search(q="标准地址")
    assert found["results"][0]["name"] == ADDRESSES_NAME
    short = ckan.action.package_search(q="地址")
    assert ADDRESSES_NAME in [p["name"] for p in short["results"]]
    fielded = ckan.action.package_search(q=f"name:{ADDRESSES_NAME}")
    assert [p["name"] for p in fielded["results"]] == [ADDRESSES_NAME]
    none = ckan.action.package_search(q="标准地址", fq="organization:scjg")
    assert none["count"] == 0


# --- the other actions --------------------------------------------------------------------------


def test_package_show_and_its_resources(ckan: ckanapi.RemoteCKAN, site: tuple[Platform, str]) -> None:
    package = ckan.action.package_show(id=ADDRESSES_NAME)
    assert package["title"] == "标准地址信息" and package["state"] == "active" and package["private"] is False
    assert package["license_id"] == "cc-by" and package["isopen"] is True
    assert package["organization"]["name"] == "ghzy" and package["organization"]["is_organization"] is True
    assert ckan.action.package_show(id=package["id"])["name"] == ADDRESSES_NAME  # by id
    assert ckan.action.package_show(id=ADDRESSES)["id"] == package["id"]  # by 资源代码
    extras = {e["key"]: e["value"] for e in package["extras"]}
    assert extras["资源代码"] == ADDRESSES and extras["开放属性"] == "无条件开放"
    formats = {r["format"]: r for r in package["resources"]}
    assert {"CSV", "JSON"} <= set(formats) and package["num_resources"] == len(package["resources"])
    csv = formats["CSV"]
    assert csv["id"] == f"{ADDRESSES_NAME}-csv" and csv["datastore_active"] is True
    assert csv["hash"].startswith("sha256:") and csv["size"] > 0 and csv["rows"] > 0
    assert csv["url"] == f"{site[1]}/open/datasets/{ADDRESSES_NAME}/download.csv"
    assert ckan.action.resource_show(id=csv["id"]) == csv
    assert all(not r["datastore_active"] for r in package["resources"] if r["format"] != "CSV")

    conditional = ckan.action.package_show(id=ENTERPRISES_NAME)
    assert conditional["license_id"] == "gongshu-conditional" and conditional["isopen"] is False
    assert conditional["resources"], "a conditional dataset's resources are listed"
    for resource in conditional["resources"]:
        assert resource["url"].endswith(f"/open/datasets/{ENTERPRISES_NAME}/apply")
        assert resource["datastore_active"] is False


def test_organizations_groups_tags(ckan: ckanapi.RemoteCKAN) -> None:
    names = ckan.action.organization_list()
    assert "ghzy" in names and "scjg" in names and names == sorted(names)
    full = ckan.action.organization_list(all_fields=True, sort="package_count desc", limit=100)
    counts = [o["package_count"] for o in full]
    assert counts == sorted(counts, reverse=True) and sum(counts) == len(ckan.action.package_list())
    assert ckan.action.organization_list(limit=2, offset=1) == names[1:3]
    ghzy = ckan.action.organization_show(id="ghzy", include_datasets=True)
    assert ghzy["title"] == "上海市规划和自然资源局" and ghzy["type"] == "organization"
    assert ADDRESSES_NAME in [p["name"] for p in ghzy["packages"]]
    assert ckan.action.organization_show(id=ghzy["id"])["name"] == "ghzy"
    with pytest.raises(ckanapi.errors.NotFound):
        ckan.action.organization_show(id="no-such-department")

    groups = ckan.action.group_list(all_fields=True)
    assert len(groups) == 12 and {"economy", "transport"} <= {g["name"] for g in groups}
    theme = ckan.action.package_show(id=ADDRESSES_NAME)["groups"]
    if theme:
        group = ckan.action.group_show(id=theme[0]["name"], include_datasets=True)
        assert ADDRESSES_NAME in [p["name"] for p in group["packages"]]

    tags = ckan.action.tag_list()
    assert tags == sorted(tags) and len(tags) == len(set(tags))
    some = tags[0]
    assert some in ckan.action.tag_list(query=some[:1])
    assert ckan.action.tag_list(all_fields=True)[0]["name"] == some


def test_datastore_search_records_the_access(ckan: ckanapi.RemoteCKAN, site: tuple[Platform, str]) -> None:
    with site[0].store.session() as session:
        before = session.scalar(
            sa.select(sa.func.count(OpenAccess.id)).where(OpenAccess.channel == "datastore_search")
        )
    found = ckan.action.datastore_search(resource_id=f"{ADDRESSES_NAME}-csv", limit=5)
    assert len(found["records"]) == 5 and found["total"] > 5
    assert found["fields"][0]["id"] == "_id"
    field = found["fields"][1]["id"]
    value = found["records"][0][field]
    filtered = ckan.action.datastore_search(
        resource_id=f"{ADDRESSES_NAME}-csv", filters={field: value}, limit=3
    )
    assert filtered["records"] and all(r[field] == value for r in filtered["records"])
    with site[0].store.session() as session:
        after = session.scalar(
            sa.select(sa.func.count(OpenAccess.id)).where(OpenAccess.channel == "datastore_search")
        )
    assert after == (before or 0) + 2
    answer = call(
        site[1],
        "datastore_search",
        params={"resource_id": f"{ADDRESSES_NAME}-csv", "filters": json.dumps({field: value})},
    )
    assert answer.status_code == 200 and answer.json()["result"]["records"]


# --- GET, POST, alias ---------------------------------------------------------------------------


def test_get_and_post_forms(site: tuple[Platform, str]) -> None:
    url = site[1]
    get = call(
        url,
        "package_search",
        params={"q": "地址", "facet.field": '["organization","res_format"]', "rows": "2"},
    )
    assert get.status_code == 200
    result = get.json()["result"]
    assert set(result["facets"]) == {"organization", "res_format"} and len(result["results"]) <= 2
    posted = call(
        url, "package_search", method="POST", json={"q": "地址", "facet.field": ["organization"], "rows": 2}
    )
    assert posted.json()["result"]["count"] == result["count"]
    form = call(url, "package_search", method="POST", data={"q": "地址", "rows": "2"})
    assert form.json()["result"]["count"] == result["count"]
    alias = requests.get(f"{url}/api/action/package_show", params={"id": ADDRESSES_NAME}, timeout=30)
    assert alias.status_code == 200 and alias.json()["result"]["name"] == ADDRESSES_NAME
    with ckanapi.RemoteCKAN(url, get_only=True) as remote:
        assert remote.action.package_search(q="地址", rows=1)["count"] == result["count"]


# --- errors -------------------------------------------------------------------------------------


def test_error_mapping(site: tuple[Platform, str], ckan: ckanapi.RemoteCKAN) -> None:
    url = site[1]
    with pytest.raises(ckanapi.errors.NotFound):
        ckan.action.package_show(id="999999999-999999")
    with pytest.raises(ckanapi.errors.ValidationError) as invalid:
        ckan.action.package_search(rows=1001)
    assert "rows" in invalid.value.error_dict
    with pytest.raises(ckanapi.errors.ValidationError):
        ckan.action.package_search(rows="many")
    with pytest.raises(ckanapi.errors.NotAuthorized):
        ckan.action.datastore_search(resource_id=f"{ENTERPRISES_NAME}-csv")
    with pytest.raises(ckanapi.errors.SearchQueryError):
        ckan.action.package_search(fq="secret_field:1")

    unknown = call(url, "package_create", method="POST", json={})
    assert unknown.status_code == 400
    body = unknown.json()
    assert (
        body["success"] is False
        and body["error"]["message"] == "Bad request - Action name not known: package_create"
    )
    missing = call(url, "package_show", params={"id": "999999999-999999"})
    assert missing.status_code == 404 and missing.json()["error"]["__type"] == "Not Found Error"
    too_many = call(url, "package_search", params={"rows": "5000"})
    assert too_many.status_code == 409 and too_many.json()["error"]["__type"] == "Validation Error"
    denied = call(url, "datastore_search", params={"resource_id": f"{ENTERPRISES_NAME}-csv"})
    assert denied.status_code == 403 and denied.json()["error"]["__type"] == "Authorization Error"
    not_json = call(
        url, "package_search", method="POST", data=b"[1, 2]", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["success"] is False

    bad_key = call(url, "status_show", headers={"Authorization": "gok_not-a-real-key"})
    assert bad_key.status_code == 401 and bad_key.json()["error"]["__type"] == "Authorization Error"
    with (
        ckanapi.RemoteCKAN(url, apikey="gok_not-a-real-key") as remote,
        pytest.raises(ckanapi.errors.NotAuthorized),
    ):
        remote.action.package_list()


def test_quota_answers_429_with_retry_after(site: tuple[Platform, str]) -> None:
    platform, url = site
    portal_user(platform, "ckan_dev", [Role.CONSUMER])
    with platform.store.session() as session:
        user = session.scalars(sa.select(User).where(User.username == "ckan_dev")).one()
        _, secret = create_key(session, user, "slow", actor=SYSTEM, rate_per_s=1, daily_quota=1000)
    answers = [call(url, "status_show", headers={"Authorization": secret}) for _ in range(3)]
    assert answers[0].status_code == 200
    limited = [a for a in answers if a.status_code == 429]
    assert limited, [a.status_code for a in answers]
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert limited[0].json()["success"] is False


# --- leakage --------------------------------------------------------------------------------------


def test_nothing_hidden_leaks(site: tuple[Platform, str], ckan: ckanapi.RemoteCKAN) -> None:
    platform, url = site
    hidden = hidden_entries(platform)
    assert NOT_OPEN in {e.code for e in hidden}
    with pytest.raises(ckanapi.errors.NotFound):
        ckan.action.package_show(id=NOT_OPEN_NAME)
    with pytest.raises(ckanapi.errors.NotFound):
        ckan.action.package_show(id=NOT_OPEN)
    for fmt in ("csv", "json", "xlsx"):
        with pytest.raises(ckanapi.errors.NotFound):
            ckan.action.resource_show(id=f"{NOT_OPEN_NAME}-{fmt}")
    with pytest.raises(ckanapi.errors.NotFound):
        ckan.action.datastore_search(resource_id=f"{NOT_OPEN_NAME}-csv")
    assert ckan.action.package_search(fq=f"name:{NOT_OPEN_NAME}")["count"] == 0

    bodies = [
        call(url, "package_list").text,
        call(url, "package_search", params={"rows": "1000", "facet.field": json.dumps(FACETS)}).text,
        call(url, "organization_list", params={"all_fields": "true"}).text,
        call(url, "tag_list").text,
        call(url, "group_list", params={"all_fields": "true"}).text,
    ]
    for entry in hidden:
        bodies.append(call(url, "package_search", params={"q": entry.name, "rows": "1000"}).text)
        bodies.append(call(url, "package_search", params={"fq": f'name:"{dataset_name(entry.code)}"'}).text)
        bodies.append(call(url, "package_show", params={"id": entry.code}).text)
    for body in bodies:
        for entry in hidden:
            assert entry.code not in body and dataset_name(entry.code) not in body, entry.code
            assert f'"{entry.name}"' not in body, entry.name  # never as a title

    # a 重要 信息项 of the conditional dataset is never named, and never readable
    for name in (ENTERPRISES_NAME, ADDRESSES_NAME):
        assert "legal_rep_id_number" not in call(url, "package_show", params={"id": name}).text
    asked = call(
        url,
        "datastore_search",
        params={"resource_id": f"{ADDRESSES_NAME}-csv", "fields": "legal_rep_id_number"},
    )
    assert asked.status_code == 409
    unknown = call(
        url, "datastore_search", params={"resource_id": f"{ADDRESSES_NAME}-csv", "fields": "no_such_field"}
    )
    assert asked.json()["error"].keys() == unknown.json()["error"].keys()
    anonymous = call(
        url,
        "datastore_search",
        params={"resource_id": f"{ENTERPRISES_NAME}-csv", "fields": "legal_rep_id_number"},
    )
    assert anonymous.status_code == 403 and "records" not in anonymous.text
    with pytest.raises(ckanapi.errors.NotAuthorized):
        ckan.action.datastore_search(resource_id=f"{ENTERPRISES_NAME}-csv", q="公司")


# --- the search page ------------------------------------------------------------------------------


def test_search_page_json_twin(site: tuple[Platform, str]) -> None:
    url = site[1]
    everything = requests.get(f"{url}/open/datasets.json", timeout=30).json()
    assert everything["total"] == len(
        requests.get(f"{url}/api/3/action/package_list", timeout=30).json()["result"]
    )
    facets = {f["name"]: f for f in everything["facets"]}
    assert {"organization", "groups", "res_format", "update_cycle", "open_type"} <= set(facets)
    ghzy = next(v for v in facets["organization"]["values"] if v["value"] == "ghzy")
    drilled = requests.get(
        f"{url}{ghzy['href'].replace('/open/datasets', '/open/datasets.json', 1)}", timeout=30
    ).json()
    assert drilled["total"] == ghzy["count"] and drilled["active"][0]["label"] == "上海市规划和自然资源局"
    found = requests.get(
        f"{url}/open/datasets.json", params={"q": "标准地址", "organization": "ghzy"}, timeout=30
    )
    assert found.json()["results"][0]["name"] == ADDRESSES_NAME
    two = requests.get(
        f"{url}/open/datasets.json", params=[("organization", "ghzy"), ("organization", "scjg")], timeout=30
    ).json()
    by_org = {v["value"]: v["count"] for v in facets["organization"]["values"]}
    assert two["total"] == by_org["ghzy"] + by_org["scjg"]
    html = requests.get(f"{url}/open/datasets", params={"q": NOT_OPEN_NAME}, timeout=30).text
    assert f"/open/datasets/{NOT_OPEN_NAME}" not in html
    english = requests.get(f"{url}/open/datasets", params={"lang": "en"}, timeout=30).text
    assert "Department" in english and "Update cycle" in english


def test_search_page_in_a_browser(site: tuple[Platform, str]) -> None:
    from tests.browser_support import ARTIFACTS, chromium

    url = site[1]
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(f"{url}/open/datasets")
        assert page.locator("h1").inner_text() == "数据目录"
        page.fill("#open-q", "地址")
        page.press("#open-q", "Enter")
        page.wait_for_url("**/open/datasets?q=*")
        first = page.locator(".open-result h3 a").first
        assert "地址" in first.inner_text()
        page.locator("[data-facet=organization] a.facet-value").first.click()
        page.wait_for_url("**organization=*")
        assert page.locator(".active-filters .chip").count() >= 1
        assert page.locator(".open-result").count() >= 1
        page.screenshot(path=str(ARTIFACTS / "open-search-results.png"), full_page=True)
        page.locator(".open-result h3 a").first.click()
        page.wait_for_url("**/open/datasets/*")
        assert page.url.split("/open/datasets/")[1]
