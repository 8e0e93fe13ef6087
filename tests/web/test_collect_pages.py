"""The collection pages: mounts, a mount, a batch, problem data feedback and the mount form (and twins).

One small demo city (every source mounted and collected once) is built per module and replaces the
page tests' seeded platform, so the shared ``client`` / ``make_client`` fixtures (and the browser
test's live server) run against it. Tests that change it use their own entries and mount names.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from test_browser import ARTIFACTS, browser_page, live_url  # noqa: F401  (fixtures used by the browser test)
from web_support import csrf_of, sign_in

import gongshu.orgs.passwords as passwords
from gongshu.config import Settings
from gongshu.demo import DEMO_PASSWORD, build_demo
from gongshu.platform import Platform, open_platform
from gongshu.web import i18n

PERSONS = 1500
POPULATION = "101001001/000001"
RESIDENCE = "101001002/000001"  # published, not mounted by the demo: the form test mounts it
MIGRATION = "301001003/000001"  # published, not mounted by the demo: the browser test mounts it
TEMPLATES = Path(str(resources.files("gongshu.web").joinpath("templates/collect")))

Client = Callable[[str | None], TestClient]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The demo city instead of the page tests' small seed (same fixture name, so it replaces it here)."""
    data_dir: Path = tmp_path_factory.mktemp("collect-pages")
    opened = open_platform(Settings(data_dir=data_dir, demo=True, secret_key="p" * 40), migrate=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        build_demo(opened, persons=PERSONS)
    yield opened
    opened.close()


@pytest.fixture
def as_user(make_client: Any) -> Client:
    """A client signed in as a demo user (or a visitor for ``None``)."""

    def build(username: str | None) -> TestClient:
        client: TestClient = make_client(None)
        return sign_in(client, username, DEMO_PASSWORD) if username else client

    return build


def post(client: TestClient, path: str, data: dict[str, Any], *, page: str, **kw: Any) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_of(client, page)}, **kw)


def latest_batch(client: TestClient, mount: str) -> dict[str, Any]:
    batch: dict[str, Any] = client.get(f"/mounts/{mount}.json").json()["batches"][0]
    return batch


# --- pages and twins --------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["ga_steward", "admin"])
def test_every_collection_page_renders_for_a_steward_and_an_operator(as_user: Client, username: str) -> None:
    client = as_user(username)
    batch = latest_batch(client, "ga_population")
    pages = [
        (
            "/mounts",
            ["ga_population", "mz_marriage" if username == "admin" else "ga_population", "已提交", "✔"],
        ),
        ("/mounts/ga_population", ["立即归集", "挂载规格", "record_id", batch["id"]]),
        (f"/batches/{batch['id']}", ["读入", "写入", "隔离", "✔", "原始库", "标准库"]),
        ("/problems", ["问题数据反馈", "待处理"]),
        ("/problems?mount=ga_population&status=all", ["ga_population", "下载问题数据", "各批次问题处理情况"]),
        (f"/catalog/{POPULATION}/mount", ["挂载数据源", "字段映射", "公民身份号码"]),
    ]
    for path, texts in pages:
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        for text in texts:
            assert text in page.text, (path, text)
        twin = path.replace("?", ".json?", 1) if "?" in path else f"{path}.json"
        assert client.get(twin).status_code == 200, twin


def test_the_batch_page_shows_the_balance_equation(as_user: Client) -> None:
    client = as_user("ga_steward")
    batch = latest_batch(client, "ga_population")
    counts = batch["counts"]
    assert counts["read"] == counts["written"] + counts["quarantined"]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get(f"/batches/{batch['id']}").text))
    assert f"读入 {counts['read']:,} = 写入 {counts['written']:,} + 隔离 {counts['quarantined']:,} ✔" in text
    data = client.get(f"/batches/{batch['id']}.json").json()
    assert data["batch"]["balanced"] is True
    assert data["rules"] and all(r["reason"] for r in data["rules"]), data["rules"]
    english = client.get(f"/batches/{batch['id']}?lang=en").text
    assert "Read" in english and "Quarantined" in english


def test_the_problem_page_lists_rows_with_reasons_totals_and_history(as_user: Client) -> None:
    client = as_user("ga_steward")
    data = client.get("/problems.json?mount=ga_population&status=all").json()
    found = data["problems_page"]
    assert found["total"] == found["open"] + found["resolved"] > 0
    assert data["by_rule"] and all(r["reason"] for r in data["by_rule"])
    assert data["history"] and data["history"][0]["quarantined"] > 0
    first = found["rows"][0]
    page = client.get("/problems?mount=ga_population&status=all").text
    assert first["problems"][0]["reason"] in page
    assert 'href="/problems/ga_population.csv?status=all"' in page
    rule = data["by_rule"][0]["rule"]
    filtered = client.get(f"/problems.json?mount=ga_population&rule={rule}").json()["problems_page"]
    assert all(any(p["rule"] == rule for p in r["problems"]) for r in filtered["rows"])
    # the department's own mounts only
    mounts = {m["name"] for m in client.get("/problems.json").json()["mounts"]}
    assert "ga_population" in mounts and "mz_marriage" not in mounts


def test_problem_downloads_from_the_page(as_user: Client) -> None:
    client = as_user("ga_steward")
    as_csv = client.get("/problems/ga_population.csv")
    assert as_csv.status_code == 200 and as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment;" in as_csv.headers["content-disposition"]
    as_xlsx = client.get("/problems/ga_population.xlsx?status=all")
    assert as_xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content), read_only=True)["问题数据"]
    assert sheet.max_row > 1


def test_visitors_sign_in_and_other_departments_see_nothing(as_user: Client) -> None:
    visitor = as_user(None)
    for path in ("/mounts", "/problems", "/mounts/ga_population", f"/catalog/{POPULATION}/mount"):
        assert visitor.get(path, follow_redirects=False).status_code == 303
        assert visitor.get(path + ".json").status_code == 401
    assert visitor.get("/problems/ga_population.csv", follow_redirects=False).status_code == 303

    mz = as_user("mz_steward")
    assert "ga_population" not in mz.get("/mounts").text
    assert mz.get("/mounts/ga_population").status_code == 404
    assert mz.get("/problems?mount=ga_population").status_code == 404
    assert mz.get("/problems/ga_population.csv").status_code == 404
    assert mz.get(f"/catalog/{POPULATION}/mount").status_code == 403
    batch = latest_batch(as_user("admin"), "ga_population")
    assert mz.get(f"/batches/{batch['id']}").status_code == 404
    run = post(mz, "/mounts/ga_population/run", {}, page="/mounts", follow_redirects=False)
    assert run.status_code == 404


def test_the_mount_button_is_for_the_providers_stewards_and_operators(as_user: Client) -> None:
    button = f'href="/catalog/{POPULATION}/mount"'
    assert button in as_user("ga_steward").get(f"/catalog/{POPULATION}").text
    assert button in as_user("admin").get(f"/catalog/{POPULATION}").text
    assert button not in as_user("mz_steward").get(f"/catalog/{POPULATION}").text
    reviewer = as_user("ga_reviewer")
    assert button not in reviewer.get(f"/catalog/{POPULATION}").text
    assert reviewer.get("/mounts/ga_population").status_code == 404  # stewards only: personal data


# --- the mount form ---------------------------------------------------------------------------------


def residence_form(**changes: Any) -> dict[str, Any]:
    """The form mounting 居住证办理信息 from the population database (enough to collect it)."""
    form: dict[str, Any] = {
        "name": "ga_residence",
        "title": "居住证（表单挂载）",
        "kind": "sql",
        "connection": "sqlite:///city/ga_population.sqlite",
        "target": "population",
        "mode": "full",
        "item": ["id_number", "name", "address", "issue_date"],
        "column": ["id_number", "name", "address", ""],
        "required": ["id_number"],
        "key": ["id_number"],
        "delete_mode": "none",
        "drift": "evolve",
        "schedule": "manual",
    }
    return form | changes


def test_form_problems_show_beside_their_fields_and_the_input_is_kept(as_user: Client) -> None:
    client = as_user("ga_steward")
    form_page = f"/catalog/{RESIDENCE}/mount"
    sent = residence_form(name="Bad Name", schedule="interval", interval="soon", delete_mode="soft")
    page = post(client, form_page, sent, page=form_page)
    assert page.status_code == 422
    for field in ("name", "schedule", "delete_mode"):
        assert f'id="{field}-error"' in page.text, field
    assert 'value="Bad Name"' in page.text
    assert 'value="sqlite:///city/ga_population.sqlite"' in page.text
    assert 'id="col-address" name="column" value="address"' in page.text
    assert re.search(r'value="id_number"\s+checked', page.text)
    twin = post(client, form_page + ".json", sent, page=form_page)
    assert twin.status_code == 422 and "name" in twin.json()["error"]["problems"]
    assert client.get("/mounts/ga_residence").status_code == 404


def test_the_form_mounts_the_entry_and_run_now_collects_it(as_user: Client) -> None:
    client = as_user("ga_steward")
    form_page = f"/catalog/{RESIDENCE}/mount"
    saved = post(client, form_page, residence_form(), page=form_page, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:2000]
    assert saved.headers["location"] == "/mounts/ga_residence"
    mount = client.get("/mounts/ga_residence.json").json()["mount"]
    assert mount["spec"]["columns"]["id_number"] == {"source": "id_number", "required": True, "rules": None}
    assert "issue_date" not in mount["spec"]["columns"] and mount["drift"] == "evolve"
    assert client.get(f"/catalog/{RESIDENCE}.json").json()["entry"]["status"] == "mounted"

    ran = post(client, "/mounts/ga_residence/run", {}, page="/mounts/ga_residence", follow_redirects=False)
    assert ran.status_code == 303
    batch_page = client.get(ran.headers["location"])
    assert batch_page.status_code == 200 and "✔" in batch_page.text
    batch = latest_batch(client, "ga_residence")
    assert batch["trigger"] == "web" and batch["balanced"] is True

    # saving again updates the mount (a new version), and the edit form shows the saved values
    again = post(client, form_page, residence_form(schedule="interval", interval="6h"), page=form_page)
    assert again.status_code == 200
    assert client.get("/mounts/ga_residence.json").json()["mount"]["version"] == 2
    edit = client.get(f"{form_page}?mount=ga_residence").text
    assert 'value="6h"' in edit and 'value="population"' in edit


def test_a_pasted_yaml_spec_is_mounted_and_its_problems_shown(as_user: Client) -> None:
    client = as_user("admin")
    form_page = f"/catalog/{POPULATION}/mount"
    bad = post(client, form_page, {"document": "name: [unclosed"}, page=form_page)
    assert bad.status_code == 422 and 'id="document-error"' in bad.text
    invalid = post(client, form_page, {"document": "name: ga_pasted\nsource: {kind: sql}\n"}, page=form_page)
    assert invalid.status_code == 422 and "columns" in invalid.text
    document = (
        "name: ga_pasted\n"
        "source: {kind: sql, url: 'sqlite:///city/ga_population.sqlite', table: population}\n"
        "columns: {record_id: record_id, id_number: {source: id_number, required: true}}\n"
        "key: [record_id]\nschedule: manual\n"
    )
    saved = post(client, form_page, {"document": document}, page=form_page, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/mounts/ga_pasted"
    assert client.get("/mounts/ga_pasted.json").json()["mount"]["entry"] == POPULATION


def test_saving_the_edit_form_keeps_what_the_form_does_not_show(as_user: Client) -> None:
    client = as_user("rs_steward")
    form_page = "/catalog/304001001/000001/mount"
    before = client.get("/mounts/rs_employment.json").json()["mount"]["spec"]
    form = client.get(f"{form_page}.json?mount=rs_employment").json()["form"]
    assert form["kind"] == "file" and form["target"] == "rs_employment.xlsx"
    sent = {k: v for k, v in form.items() if k != "columns"}
    saved = post(client, form_page, sent, page=form_page, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:2000]
    after = client.get("/mounts/rs_employment.json").json()["mount"]
    assert after["version"] == 2
    assert after["spec"]["source"]["sheets"] == before["source"]["sheets"] == "就业登记*"
    assert after["spec"]["columns"] == before["columns"]


def test_the_edit_form_shows_an_existing_mount(as_user: Client) -> None:
    page = as_user("ga_steward").get(f"/catalog/{POPULATION}/mount?mount=ga_population").text
    assert 'value="sqlite:///city/ga_population.sqlite"' in page and 'value="population"' in page
    assert 'value="update_time"' in page


def test_pause_and_resume_from_the_page(as_user: Client) -> None:
    client = as_user("ga_steward")
    paused = post(client, "/mounts/ga_population/pause", {}, page="/mounts", follow_redirects=False)
    assert paused.status_code == 303
    assert client.get("/mounts/ga_population.json").json()["mount"]["active"] is False
    assert "恢复定时归集" in client.get("/mounts/ga_population").text
    post(client, "/mounts/ga_population/resume", {}, page="/mounts")
    assert client.get("/mounts/ga_population.json").json()["mount"]["active"] is True


def test_every_key_the_collection_templates_use_exists_in_both_languages() -> None:
    literal = re.compile(r"\bt\('([^']+)'\)|\bt\('([^']+)',")
    dynamic = re.compile(r"\bt\('([^']+)' ~")
    keys = {lang: set(i18n.catalogue(lang)) for lang in i18n.LANGUAGES}
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text("utf-8")
        used = {a or b for a, b in literal.findall(text)}
        for lang in i18n.LANGUAGES:
            assert used - keys[lang] == set(), (template.name, lang)
        for prefix in dynamic.findall(text):
            assert any(k.startswith(prefix) for k in keys["en"]), (template.name, prefix)


# --- in a real browser ------------------------------------------------------------------------------


@pytest.mark.browser
def test_collection_pages_in_the_browser(live_url: str, browser_page: object) -> None:  # noqa: F811
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_url}/login?next=/mounts")
    page.get_by_label("用户名").fill("ga_steward")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(f"{live_url}/mounts")
    expect(page.locator("table.mounts")).to_contain_text("ga_population")
    page.screenshot(path=ARTIFACTS / "collect-mounts.png", full_page=True)

    page.get_by_role("link", name="ga_population", exact=True).click()
    expect(page.get_by_role("button", name="立即归集")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "collect-mount.png", full_page=True)

    page.locator("table.batches a").first.click()
    expect(page.locator(".equation")).to_contain_text("读入")
    expect(page.locator(".equation .balance")).to_have_text("✔")
    page.screenshot(path=ARTIFACTS / "collect-batch.png", full_page=True)
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.locator(".equation")).to_contain_text("Read")
    page.screenshot(path=ARTIFACTS / "collect-batch-en.png", full_page=True)
    page.get_by_role("link", name="中文", exact=True).click()

    page.goto(f"{live_url}/problems?mount=ga_population&status=all")
    expect(page.locator("table.problems tbody tr").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "collect-problems.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="XLSX").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    page.goto(f"{live_url}/catalog/{MIGRATION}")
    page.get_by_role("link", name="挂载数据源").click()
    expect(page).to_have_url(f"{live_url}/catalog/{MIGRATION}/mount")
    page.get_by_label("挂载名称").fill("Bad Name")
    page.get_by_label("连接地址").fill("sqlite:///city/ga_population.sqlite")
    page.get_by_label("表名 / 文件名模式").fill("population")
    page.get_by_label("自动适应并通知").check()  # the population table has no 迁移日期: evolve, not stop
    page.get_by_label("归集周期").select_option("manual")
    page.screenshot(path=ARTIFACTS / "collect-mount-form.png", full_page=True)
    page.get_by_role("button", name="保存挂载").click()
    expect(page.locator("#name-error")).to_be_visible()
    expect(page.get_by_label("连接地址")).to_have_value("sqlite:///city/ga_population.sqlite")
    page.screenshot(path=ARTIFACTS / "collect-mount-form-invalid.png", full_page=True)

    page.get_by_label("挂载名称").fill("ga_migration")
    page.get_by_role("button", name="保存挂载").click()
    expect(page).to_have_url(f"{live_url}/mounts/ga_migration")
    page.get_by_role("button", name="立即归集").click()
    expect(page).to_have_url(re.compile(r"/batches/ga_migration-"))
    expect(page.locator(".equation .balance")).to_have_text("✔")
