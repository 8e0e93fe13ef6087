"""The collection API: mounts, runs, balanced batches, problem data as JSON/CSV/XLSX, the lake, denials.

One small demo city (every source mounted and collected once) is built per module; tests that change
it use their own mount names, so they do not depend on each other's order.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

import gongshu.orgs.passwords as passwords
from gongshu.config import Settings
from gongshu.demo import build_demo
from gongshu.orgs.schemas import TokenCreate
from gongshu.orgs.tokens import issue_token
from gongshu.orgs.users import get_user, principal_of
from gongshu.platform import Platform, open_platform
from gongshu.service import create_app

PERSONS = 1500
POPULATION = "101001001/000001"
USERS = ("admin", "security", "ga_steward", "mz_steward", "ga_reviewer", "huangpu_user")


@dataclass
class DemoApi:
    client: TestClient
    platform: Platform
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who: str, path: str, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers(who), **kw)

    def post(self, who: str, path: str, **kw: Any) -> Any:
        return self.client.post(f"/api/v1{path}", headers=self.headers(who), **kw)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoApi]:
    data_dir: Path = tmp_path_factory.mktemp("collect-api")
    platform = open_platform(Settings(data_dir=data_dir, demo=True, secret_key="k" * 40), migrate=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        build_demo(platform, persons=PERSONS)
    with platform.store.session() as session:
        tokens = {
            who: issue_token(session, principal_of(get_user(session, who)), TokenCreate(name="test")).secret
            for who in USERS
        }
    with TestClient(create_app(platform)) as client:
        yield DemoApi(client, platform, tokens)
    platform.close()


def population_spec(name: str, **changes: Any) -> dict[str, Any]:
    """The demo's population mount under another name (the same SQLite source, a full load)."""
    document: dict[str, Any] = {
        "name": name,
        "entry": POPULATION,
        "title": "实有人口（API 测试）",
        "source": {"kind": "sql", "url": "sqlite:///city/ga_population.sqlite", "table": "population"},
        "columns": {
            "record_id": "record_id",
            "id_number": {"source": "id_number", "required": True},
            "name": {"source": "name", "required": True},
            "birth_date": "birth_date",
            "update_time": "update_time",
        },
        "key": ["record_id"],
        "schedule": "manual",
    }
    return document | changes


# --- authentication and visibility --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/mounts"),
        ("POST", "/api/v1/mounts"),
        ("GET", "/api/v1/mounts/ga_population"),
        ("POST", "/api/v1/mounts/ga_population/run"),
        ("GET", "/api/v1/batches"),
        ("GET", "/api/v1/mounts/ga_population/problems"),
        ("GET", "/api/v1/mounts/ga_population/problems.csv"),
        ("GET", "/api/v1/lake/tables"),
    ],
)
def test_anonymous_callers_are_refused_401(demo: DemoApi, method: str, path: str) -> None:
    response = demo.client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_operators_see_every_mount_and_stewards_their_departments(demo: DemoApi) -> None:
    everything = demo.get("admin", "/mounts").json()
    assert {"ga_population", "mz_marriage", "scjg_enterprise", "jt_vehicle"} <= {
        m["name"] for m in everything
    }
    assert all(m["last_batch"]["balanced"] for m in everything if m["last_batch"])
    ga = demo.get("ga_steward", "/mounts").json()
    assert ga and {m["organisation"] for m in ga} == {"GA"}
    mz = demo.get("mz_steward", "/mounts").json()
    assert {m["organisation"] for m in mz} == {"MZ"}
    assert demo.get("mz_steward", "/mounts/ga_population").status_code == 404
    shown = demo.get("ga_steward", "/mounts/ga_population").json()
    assert shown["entry"] == POPULATION and shown["last_batch"]["state"] == "committed"


# --- mount, run, batch ----------------------------------------------------------------------------


def test_a_steward_mounts_runs_and_the_batch_balances(demo: DemoApi) -> None:
    created = demo.post("ga_steward", "/mounts", json=population_spec("ga_population_api"))
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "ga_population_api" and created.json()["last_batch"] is None

    ran = demo.post("ga_steward", "/mounts/ga_population_api/run")
    assert ran.status_code == 200, ran.text
    result = ran.json()
    assert result["balanced"] is True
    assert result["rows_read"] > 0
    assert result["rows_read"] == result["rows_written"] + result["rows_quarantined"]

    listed = demo.get("ga_steward", "/batches", params={"mount": "ga_population_api"}).json()
    assert listed["total"] == 1
    [batch] = listed["batches"]
    assert batch["id"] == result["batch_id"] and batch["trigger"] == "api" and batch["balanced"] is True
    counts = batch["counts"]
    assert counts["read"] == counts["written"] + counts["quarantined"] == result["rows_read"]

    shown = demo.get("ga_steward", f"/batches/{batch['id']}").json()
    assert shown["state"] == "committed" and shown["snapshots"]["standard"] is not None
    assert demo.get("mz_steward", f"/batches/{batch['id']}").status_code == 404
    assert demo.get("admin", f"/batches/{batch['id']}").status_code == 200
    assert demo.get("ga_steward", "/batches", params={"state": "committed", "limit": 1}).json()["total"] >= 2


def test_validation_problems_come_back_keyed_422(demo: DemoApi) -> None:
    document = population_spec("Not-A-Table", columns={"no_such_item": "x"}, schedule="sometimes")
    response = demo.post("ga_steward", "/mounts", json=document)
    assert response.status_code == 422
    assert {"name", "schedule"} <= set(response.json()["error"]["problems"])
    unknown = demo.post(
        "ga_steward", "/mounts", json=population_spec("ga_unknown", columns={"no_such": "x"}, key=[])
    )
    assert unknown.status_code == 422
    assert "columns.no_such" in unknown.json()["error"]["problems"]
    duplicate = demo.post("ga_steward", "/mounts", json=population_spec("ga_population"))
    assert duplicate.status_code == 409


def test_other_departments_and_readers_may_not_mount_change_or_run(demo: DemoApi) -> None:
    foreign = demo.post("mz_steward", "/mounts", json=population_spec("mz_takes_ga"))
    assert foreign.status_code == 403
    assert demo.post("mz_steward", "/mounts/ga_population/run").status_code == 404
    assert demo.post("mz_steward", "/mounts/ga_population/pause").status_code == 404
    # the GA reviewer is of the provider but no steward: batches and problem rows hold personal data
    assert demo.get("ga_reviewer", "/mounts/ga_population").status_code == 404
    assert demo.get("ga_reviewer", "/mounts/ga_population/problems").status_code == 404
    assert demo.post("ga_reviewer", "/mounts/ga_population/run").status_code == 404
    assert demo.post("ga_reviewer", "/mounts/ga_population/pause").status_code == 404
    replaced = demo.client.put(
        "/api/v1/mounts/ga_population",
        json=population_spec("ga_population"),
        headers=demo.headers("mz_steward"),
    )
    assert replaced.status_code == 404


def test_pause_resume_and_update(demo: DemoApi) -> None:
    assert demo.post("ga_steward", "/mounts", json=population_spec("ga_population_upd")).status_code == 201
    paused = demo.post("ga_steward", "/mounts/ga_population_upd/pause").json()
    assert paused["active"] is False
    assert demo.post("admin", "/mounts/ga_population_upd/resume").json()["active"] is True
    updated = demo.client.put(
        "/api/v1/mounts/ga_population_upd",
        json=population_spec("ga_population_upd", schedule="6h"),
        headers=demo.headers("ga_steward"),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2 and updated.json()["schedule"] == "6h"


# --- problem data -----------------------------------------------------------------------------------


def test_problem_rows_as_json_with_totals_and_rule_filter(demo: DemoApi) -> None:
    found = demo.get(
        "ga_steward", "/mounts/ga_population/problems", params={"status": "all", "limit": 5}
    ).json()
    assert found["total"] == found["open"] + found["resolved"] > 0
    assert len(found["rows"]) == 5 and found["by_rule"]
    row = found["rows"][0]
    assert {
        "batch_id",
        "source",
        "row",
        "line",
        "record_key",
        "problems",
        "values",
        "status",
        "resolved_by",
    } <= set(row)
    assert row["problems"] and {"rule", "column", "reason"} <= set(row["problems"][0])
    rule = next(iter(found["by_rule"]))
    filtered = demo.get("ga_steward", "/mounts/ga_population/problems", params={"rule": rule}).json()
    assert filtered["total"] > 0
    assert all(any(p["rule"] == rule for p in r["problems"]) for r in filtered["rows"])
    assert (
        demo.get("ga_steward", "/mounts/ga_population/problems", params={"status": "bad"}).status_code == 422
    )
    assert demo.get("mz_steward", "/mounts/ga_population/problems").status_code == 404


def test_problem_downloads_csv_and_xlsx(demo: DemoApi) -> None:
    open_rows = demo.get("ga_steward", "/mounts/ga_population/problems", params={"limit": 1}).json()["open"]
    as_csv = demo.get("ga_steward", "/mounts/ga_population/problems.csv")
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = as_csv.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "ga_population-问题数据-open.csv"
    assert as_csv.content.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0][0] == "批次 batch" and len(rows) - 1 == open_rows == int(as_csv.headers["x-row-count"])

    as_xlsx = demo.get("ga_steward", "/mounts/ga_population/problems.xlsx", params={"status": "all"})
    assert as_xlsx.status_code == 200
    assert as_xlsx.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert (
        "ga_population-%E9%97%AE%E9%A2%98%E6%95%B0%E6%8D%AE-all.xlsx"
        in as_xlsx.headers["content-disposition"]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content), read_only=True)["问题数据"]
    assert sheet.max_row - 1 == int(as_xlsx.headers["x-row-count"]) >= open_rows

    assert demo.get("ga_steward", "/mounts/ga_population/problems.pdf").status_code == 422
    assert demo.get("mz_steward", "/mounts/ga_population/problems.csv").status_code == 404


def test_problem_history_per_batch(demo: DemoApi) -> None:
    history = demo.get("ga_steward", "/mounts/ga_population/problems/history").json()
    assert history and {"batch_id", "quarantined", "resolved", "resolved_by"} <= set(history[0])
    assert sum(h["quarantined"] for h in history) > 0


# --- the lake -----------------------------------------------------------------------------------------


def test_lake_tables_by_role(demo: DemoApi) -> None:
    everything = {t["table"] for t in demo.get("admin", "/lake/tables").json()}
    assert {"raw.ga_population", "standard.ga_population", "quarantine.ga_population"} <= everything
    assert "standard.mz_marriage" in everything
    assert {t["table"] for t in demo.get("security", "/lake/tables").json()} == everything
    ga = {t["table"] for t in demo.get("ga_steward", "/lake/tables").json()}
    assert "standard.ga_population" in ga and "standard.mz_marriage" not in ga
    standard = demo.get("ga_steward", "/lake/tables", params={"zone": "standard"}).json()
    assert {t["zone"] for t in standard} == {"standard"} and standard[0]["zone_label"] == "标准库"
    assert demo.get("huangpu_user", "/lake/tables").status_code == 403


def test_lake_table_history(demo: DemoApi) -> None:
    history = demo.get("ga_steward", "/lake/tables/standard.ga_population/history").json()
    assert history and history[0]["batch_id"].startswith("ga_population-")
    assert history[0]["added_records"] > 0
    assert demo.get("mz_steward", "/lake/tables/standard.ga_population/history").status_code == 404
    assert demo.get("admin", "/lake/tables/nonsense/history").status_code == 422
