"""The portal's public pages (开放门户): home, dataset page, departments — through the real app.

Runs on a private copy of the demo city (previews are recorded as accesses). What the public must
never see: a 不予开放 dataset (404 exactly like an unknown one), an item that is not published
(重要/核心), a 有条件开放 dataset's rows without an approved application.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gongshu.catalogue.models import CatalogEntry
from gongshu.catalogue.specs import Theme
from gongshu.open.datasets import dataset_name
from gongshu.open.index import group_name
from gongshu.open.models import OpenAccess
from gongshu.open.portal import theme_key
from gongshu.open.publish import publish_all
from gongshu.platform import Platform
from gongshu.service import create_app
from gongshu.web import i18n
from gongshu.web.routes.open_portal import compact_count
from tests.browser_support import ARTIFACTS, chromium, served
from tests.open.conftest import ADDRESSES, ENTERPRISES, NOT_OPEN

ADDRESSES_NAME = dataset_name(ADDRESSES)
ENTERPRISES_NAME = dataset_name(ENTERPRISES)
NOT_OPEN_NAME = dataset_name(NOT_OPEN)
TEMPLATES = Path(__file__).resolve().parents[2] / "gongshu" / "web" / "templates" / "open"
MY_TEMPLATES = ("home.html", "dataset.html", "departments.html", "department.html")
PAGES = ("/open", "/open/departments", "/open/departments/GHZY", f"/open/datasets/{ADDRESSES_NAME}")


@pytest.fixture(scope="module")
def published(portal: Platform) -> Platform:
    """The portal copy with every open, mounted entry published (idempotent after the demo's batches)."""
    publish_all(portal)
    return portal


@pytest.fixture(scope="module")
def client(published: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(published)) as test_client:
        yield test_client


def entry_of(platform: Platform, code: str) -> CatalogEntry:
    with platform.store.session() as session:
        entry = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == code))
        assert entry is not None
        session.expunge(entry)
        return entry


def previews(platform: Platform, code: str) -> int:
    with platform.store.session() as session:
        return (
            session.scalar(
                sa.select(sa.func.count(OpenAccess.id))
                .join(CatalogEntry, CatalogEntry.id == OpenAccess.entry_id)
                .where(CatalogEntry.code == code, OpenAccess.channel == "preview")
            )
            or 0
        )


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_pages_render_in_both_languages(client: TestClient, lang: str) -> None:
    title = i18n.translate(lang, "open_portal.home_title")
    for path in PAGES:
        response = client.get(path, params={"lang": lang})
        assert response.status_code == 200, (path, response.text[:500])
        assert f'<html lang="{lang}">' in response.text
        assert "open_portal." not in response.text, f"an untranslated key on {path}"
    home = client.get("/open", params={"lang": lang}).text
    assert title in home
    assert home.count('class="op-theme') >= 12
    assert 'action="/open/datasets"' in home and 'name="q"' in home
    assert 'href="/open/datasets?groups=urban"' in home  # 城市建设 as its CKAN group
    dataset = client.get(f"/open/datasets/{ADDRESSES_NAME}", params={"lang": lang}).text
    assert "标准地址信息" in dataset
    assert i18n.translate(lang, "open_portal.f_open_type") in dataset
    assert 'href="/open/departments/GHZY"' in dataset


def test_a_dataset_that_is_not_open_is_a_404_like_an_unknown_one(
    client: TestClient, published: Platform
) -> None:
    hidden = client.get(f"/open/datasets/{NOT_OPEN_NAME}")
    unknown = client.get("/open/datasets/999999999-999999")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.text.replace(NOT_OPEN_NAME, "X") == unknown.text.replace("999999999-999999", "X")
    title = entry_of(published, NOT_OPEN).name
    assert title not in hidden.text
    twin = client.get(f"/open/datasets/{NOT_OPEN_NAME}.json")
    assert twin.status_code == 404 and title not in twin.text
    for path in ("/open", "/open/departments", "/open.json", "/open/departments.json"):
        assert title not in client.get(path).text
    # a department with nothing open is not listed and has no page
    assert client.get("/open/departments/GA").status_code == 404


def test_items_that_are_not_published_never_appear(client: TestClient, published: Platform) -> None:
    entry = entry_of(published, ENTERPRISES)
    hidden = [item for item in entry.items if item.grade != "一般"]
    assert any(item.name == "legal_rep_id_number" and item.grade == "重要" for item in hidden)
    important = next(item for item in hidden if item.name == "legal_rep_id_number")
    for lang in ("zh-CN", "en"):
        html = client.get(f"/open/datasets/{ENTERPRISES_NAME}", params={"lang": lang}).text
        twin = client.get(f"/open/datasets/{ENTERPRISES_NAME}.json", params={"lang": lang}).text
        assert important.name not in html + twin and important.label not in html + twin
        for item in hidden:  # as a cell or a JSON string (short labels such as 住所 occur inside others)
            assert f"<code>{item.name}</code>" not in html and f">{item.label}<" not in html, item.name
            assert f'"{item.name}"' not in twin and f'"{item.label}"' not in twin, item.name
    data = client.get(f"/open/datasets/{ENTERPRISES_NAME}.json").json()
    assert [i["name"] for i in data["items"]] == [i.name for i in entry.items if i.grade == "一般"]
    assert data["hidden_items"] == len(hidden)


def test_preview_for_unconditional_data_and_not_for_conditional_data_anonymously(
    client: TestClient, published: Platform
) -> None:
    before = previews(published, ADDRESSES)
    data = client.get(f"/open/datasets/{ADDRESSES_NAME}.json").json()
    preview = data["preview"]
    assert preview is not None and len(preview["rows"]) == 10 and preview["total"] >= 10
    assert preview["fields"] == [i["name"] for i in data["items"]]
    assert previews(published, ADDRESSES) == before + 1
    assert data["access"] == {
        "may_read": True,
        "readable_fields": preview["fields"],
        "scope": None,
        "apply_url": None,
    }
    assert [d["url"] for d in data["downloads"]] == [
        f"/open/datasets/{ADDRESSES_NAME}/download.{fmt}" for fmt in ("csv", "json", "xlsx")
    ]
    for download in data["downloads"]:
        assert re.fullmatch(r"[0-9a-f]{64}", download["sha256"]) and download["rows"] == preview["total"]
    page = client.get(f"/open/datasets/{ADDRESSES_NAME}").text
    assert page.count("<tr>") >= 10 + 1 and f'href="/open/datasets/{ADDRESSES_NAME}/download.csv"' in page

    before = previews(published, ENTERPRISES)
    data = client.get(f"/open/datasets/{ENTERPRISES_NAME}.json").json()
    assert data["preview"] is None
    assert data["access"]["may_read"] is False
    assert data["access"]["apply_url"] == f"/open/datasets/{ENTERPRISES_NAME}/apply"
    assert all(d["url"] is None for d in data["downloads"])
    assert previews(published, ENTERPRISES) == before
    page = client.get(f"/open/datasets/{ENTERPRISES_NAME}", params={"lang": "zh-CN"}).text
    assert f'href="/open/datasets/{ENTERPRISES_NAME}/apply"' in page
    assert "download.csv" not in page
    assert i18n.translate("zh-CN", "open_portal.preview_locked") in page


def test_json_twins(client: TestClient) -> None:
    home = client.get("/open.json").json()
    assert set(home["stats"]) == {"datasets", "departments", "rows", "downloads", "api_calls"}
    assert home["stats"]["datasets"] >= 2 and home["stats"]["rows"] > 0
    assert len(home["themes"]) == 12 and sum(t["count"] for t in home["themes"]) <= home["stats"]["datasets"]
    assert home["newest"] and {"name", "title", "open_type"} <= set(home["newest"][0])

    departments = client.get("/open/departments.json").json()["departments"]
    codes = {d["code"] for d in departments}
    assert {"GHZY", "SCJG"} <= codes and "GA" not in codes
    ghzy = client.get("/open/departments/GHZY.json").json()
    assert ADDRESSES_NAME in {d["name"] for d in ghzy["datasets"]}
    assert {"received", "replied", "median_days"} <= set(ghzy["requests"])
    assert ghzy["on_time"]["on_time"] + ghzy["on_time"]["overdue"] + ghzy["on_time"]["irregular"] == len(
        ghzy["datasets"]
    )

    dataset = client.get(f"/open/datasets/{ADDRESSES_NAME}.json").json()
    fields = dataset["dataset"]
    for key in ("code", "title", "summary", "provider_code", "theme", "update_cycle", "open_type", "format"):
        assert fields[key], key
    assert fields["code"] == ADDRESSES and fields["provider_code"] == "GHZY"
    api = dataset["api"]
    assert f"/api/3/action/package_show?id={ADDRESSES_NAME}" in api["package_show"]
    assert (
        f"resource_id={ADDRESSES_NAME}-csv" in api["datastore_search"]
        and "filters=" in api["datastore_search"]
    )
    assert "RemoteCKAN" in api["python"] and api["key_header"].startswith("Authorization: ")
    assert api["dcat"]["ttl"].endswith(f"/open/datasets/{ADDRESSES_NAME}/dcat.ttl")
    assert dataset["history"] and dataset["history"][0]["rows"] == fields["rows"]
    assert dataset["freshness"]["status"] in ("on_time", "overdue", "irregular")
    assert dataset["quality"] is not None and 0 <= dataset["quality"]["score"] <= 100


def test_every_message_key_of_the_portal_pages_exists() -> None:
    zh, en = i18n.catalogue("zh-CN"), i18n.catalogue("en")
    dynamic = {
        "open_portal.theme_": [
            "economy",
            "environment",
            "education",
            "transport",
            "society",
            "safety",
            "culture",
            "health",
            "livelihood",
            "organisations",
            "urban",
            "credit",
        ],
        "open_portal.fresh_": ["on_time", "overdue", "irregular"],
        "open_portal.api_intro_": ["key", "credential"],
    }
    used: set[str] = set()
    for name in MY_TEMPLATES:
        text = (TEMPLATES / name).read_text("utf-8")
        for key in re.findall(r"\bt\('([^']+)'", text):
            used.update(key + value for value in dynamic[key]) if key in dynamic else used.add(key)
    assert used
    assert used - set(zh) == set() and used - set(en) == set()
    mine = {k for k in zh if k.startswith("open_portal.")}
    assert mine == {k for k in en if k.startswith("open_portal.")}


def test_theme_keys_are_the_search_pages_group_names() -> None:
    for theme in Theme:
        assert theme_key(theme.value) == group_name(theme.value)


def test_compact_counts() -> None:
    assert compact_count(962, "zh-CN") == "962"
    assert compact_count(12_345, "zh-CN") == "1.2万"
    assert compact_count(990_000_000, "zh-CN") == "9.9亿"
    assert compact_count(12_345, "en") == "12,345"
    assert compact_count(2_500_000, "en") == "2.5M"
    assert compact_count(None, "en") == "—"


# --- in a real browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_url(published: Platform) -> Iterator[str]:
    with served(published) as url:
        yield url


@pytest.mark.browser
def test_home_in_a_browser(live_url: str) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{live_url}/open")
        expect(page.locator("h1")).to_have_text("公共数据开放平台")
        expect(page.locator(".op-theme")).to_have_count(12)
        expect(page.locator(".op-stat")).to_have_count(5)
        expect(page.locator(".op-rows").first.locator("li")).not_to_have_count(0)
        # Chinese renders: the heading is wider than a row of missing-glyph boxes would be tall
        box = page.locator("h1").bounding_box()
        assert box is not None and box["width"] > 4 * box["height"]
        page.screenshot(path=ARTIFACTS / "open-portal-home.png", full_page=True)
        page.get_by_label("搜索开放数据").fill("地址")
        page.get_by_role("button", name="搜索").click()
        page.wait_for_url(re.compile(r"/open/datasets\?q=%E5%9C%B0%E5%9D%80"))
        context.close()


@pytest.mark.browser
def test_dataset_page_in_a_browser(live_url: str) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{live_url}/open/datasets/{ADDRESSES_NAME}")
        expect(page.locator("h1")).to_have_text("标准地址信息")
        expect(page.locator("dl.fields").first).to_contain_text("上海市规划和自然资源局")
        expect(page.locator(".op-preview tbody tr")).to_have_count(10)
        expect(page.locator(".op-files a")).to_have_count(3)
        expect(page.locator(".op-api")).to_contain_text("package_show")
        expect(page.locator(".op-history tbody tr").first).to_contain_text("v")
        page.screenshot(path=ARTIFACTS / "open-portal-dataset.png", full_page=True)
        # the provider link leads to the department page
        page.locator("header.op-dataset-head a").first.click()
        expect(page).to_have_url(f"{live_url}/open/departments/GHZY")
        expect(page.locator("h1")).to_have_text("上海市规划和自然资源局")
        page.goto(f"{live_url}/open/datasets/{ENTERPRISES_NAME}")
        expect(page.get_by_role("link", name="申请使用")).to_have_attribute(
            "href", f"/open/datasets/{ENTERPRISES_NAME}/apply"
        )
        expect(page.locator(".op-preview")).to_have_count(0)
        context.close()
