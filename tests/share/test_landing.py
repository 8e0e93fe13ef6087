"""Landing (落地) into a folder: the granted slice only, masked, incremental, crash-safe, reconciled.

The population resource is collected again under a mount of this copy's own (see
:func:`remount_population`); a second batch comes from really changing GA's SQLite source system
and running the collect pipeline. The consumer is Huangpu's big data centre (D310101) with a
district-scoped 库表 grant: only 黄浦区's rows and the granted 信息项 may land, graded ones masked.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gongshu.collect import mounts
from gongshu.collect.models import Mount
from gongshu.collect.pipeline import run_mount
from gongshu.collect.stage import BatchResult, current_state_sql
from gongshu.engine import connect
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.lake import TableRef, Zone, open_lake
from gongshu.orgs.roles import SYSTEM, Principal, Role
from gongshu.platform import Platform
from gongshu.security.models import AuditEvent
from gongshu.service.app import create_app
from gongshu.service.routes import share_delivery
from gongshu.share import grants, landing, returns
from gongshu.share.calllog import record_subjects
from gongshu.share.errors import ShareDenied
from gongshu.share.exchange import call_log, subject_key
from gongshu.share.models import Delivery, DeliveryRun, Grant
from gongshu.share.slice import mask_value
from gongshu.store.base import utcnow
from tests.share.conftest import ensure_user, grant_for, principal, token_for

MOUNT = "ga_population_l"
FIELDS = ["record_id", "id_number", "name", "sex_code", "birth_date", "district_code", "address"]
MASKED = {
    "id_number": ("核心", "C"),
    "name": ("重要", "C"),
    "birth_date": ("重要", "D"),
    "address": ("重要", "C"),
}
HUANGPU, XUHUI = "310101", "310104"


# -- support, also used by test_landing_databases and test_subscriptions ---------------------------


def remount_population(platform: Platform) -> None:
    """Collect GA's population source under :data:`MOUNT`, with soft deletes (status 2 = 注销).

    The copied lake tables keep the session demo's absolute locations (Iceberg metadata), so a new
    batch of ``ga_population`` cannot be committed in the copy: a second mount of the same source
    and entry gets tables of its own. The original is paused, leaving the resource one active mount.
    """
    with platform.store.session() as session:
        if session.scalar(sa.select(Mount.id).where(Mount.name == MOUNT)) is not None:
            return
        original = mounts.get_mount(session, SYSTEM, "ga_population")
        deletes = {"mode": "soft", "column": "status", "values": ["2"]}
        spec = mounts.parse_mount_spec(dict(original.spec) | {"name": MOUNT, "deletes": deletes})
        mounts.set_active(session, SYSTEM, "ga_population", False)
        mounts.create_mount(session, SYSTEM, spec)
    run_mount(platform, SYSTEM, MOUNT)


def current_rows(platform: Platform, district: str | None = None) -> dict[str, dict[str, Any]]:
    """The resource's current state (clear values) by record_id, from the lake."""
    with connect() as con:
        open_lake(platform.settings).view(con, TableRef(Zone.STANDARD, MOUNT), "changes")
        relation = con.sql(current_state_sql("changes", ["record_id"]))
        names = relation.columns
        rows = [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    return {r["record_id"]: r for r in rows if district is None or r["district_code"] == district}


def change_population(platform: Platform, changes: dict[str, dict[str, str]]) -> BatchResult:
    """Change rows in GA's source system (update_time moves past the cursor) and collect the batch."""
    with contextlib.closing(
        sqlite3.connect(platform.settings.data_dir / "city" / "ga_population.sqlite")
    ) as db:
        last = db.execute("SELECT max(update_time) FROM population").fetchone()[0]
        stamp = (datetime.fromisoformat(last) + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
        for record_id, values in changes.items():
            assigned = values | {"update_time": stamp}
            columns = ", ".join(f"{column} = ?" for column in assigned)
            db.execute(
                f"UPDATE population SET {columns} WHERE record_id = ?", [*assigned.values(), record_id]
            )
        db.commit()
    return run_mount(platform, SYSTEM, MOUNT)


def read_landed(folder: Path) -> dict[str, dict[str, Any]]:
    """What a consumer reads from a landing folder: the manifest's files replayed in order, by key."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    state: dict[str, dict[str, Any]] = {}
    for listed in manifest["files"]:
        if listed["full"]:
            state.clear()
        for row in pq.read_table(folder / listed["name"]).to_pylist():
            if row.pop("_op") == "D":
                state.pop(row["_key_record_id"], None)
            else:
                state[row["_key_record_id"]] = row
    return state


def expected_landing(platform: Platform, district: str) -> dict[str, dict[str, Any]]:
    """The granted slice as it should land: granted 信息项 only, graded ones masked, as text."""
    landed: dict[str, dict[str, Any]] = {}
    for key, row in current_rows(platform, district).items():
        values = {f: mask_value(row[f], *MASKED[f]) if f in MASKED else row[f] for f in FIELDS}
        landed[key] = {"_key_record_id": key} | {f: None if v is None else str(v) for f, v in values.items()}
    return landed


@pytest.fixture(scope="module")
def platform(share_platform: Platform) -> Platform:
    remount_population(share_platform)
    return share_platform


@pytest.fixture(scope="module")
def huangpu(platform: Platform) -> str:
    """A district-scoped 库表 grant of the population to Huangpu (D310101)."""
    return grant_for(platform)


@pytest.fixture(scope="module")
def consumer(platform: Platform, huangpu: str) -> Principal:
    return principal(platform, "d310101_consumer_t")


def new_landing(platform: Platform, actor: Principal, grant: str, folder: str, **extra: Any) -> int:
    with platform.store.session() as session:
        return landing.create_delivery(
            session, actor, grant, kind="files", target=folder, table="population", **extra
        ).id


# -- tests ---------------------------------------------------------------------------------------


def test_the_first_landing_holds_only_the_granted_rows_and_columns_masked(
    platform: Platform, huangpu: str, consumer: Principal
) -> None:
    delivery = new_landing(platform, consumer, huangpu, "landing/first")
    run = landing.run_delivery(platform, consumer, delivery)
    expected = expected_landing(platform, HUANGPU)
    assert (run.state, run.reconciled, run.from_seq, run.to_seq) == ("done", True, 0, 1)
    assert run.rows_upserted == run.source_rows == run.target_rows == len(expected) > 50
    assert run.source_hash == run.target_hash

    landed = read_landed(platform.settings.data_dir / "landing" / "first")
    assert landed == expected  # only 黄浦区, only the granted 信息项, masked by grade
    assert all(set(row) == {"_key_record_id", *FIELDS} for row in landed.values())
    sample = next(iter(landed.values()))
    assert "*" in sample["id_number"] and sample["birth_date"].endswith("-**-**")

    # one call-log record: rows delivered, names of the 信息项, keyed hashes of the citizens touched
    (call,) = [
        c.record for c in call_log(platform).calls(grant=huangpu, limit=10) if c.record.api == "landing"
    ]
    ids = [str(r["id_number"]) for r in current_rows(platform, HUANGPU).values()]
    assert (call.rows, call.result, call.fields) == (len(expected), "ok", tuple(FIELDS))
    assert set(call.subjects) == set(record_subjects(subject_key(platform.settings), ids))
    with platform.store.session() as session:
        event = session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == "share.delivery.run", AuditEvent.object_id == str(delivery)
            )
        ).one()
    assert event.detail["upserted"] == len(expected) and event.detail["reconciled"] is True
    assert not any(number in json.dumps(event.detail) for number in ids)


def test_a_batch_later_only_the_changes_land_with_deletes(
    platform: Platform, huangpu: str, consumer: Principal
) -> None:
    delivery = new_landing(platform, consumer, huangpu, "landing/incremental")
    first = landing.run_delivery(platform, consumer, delivery)
    huangpu_rows = sorted(k for k, r in current_rows(platform, HUANGPU).items() if r["status"] == "1")
    xuhui_rows = current_rows(platform, XUHUI)
    renamed, moved_out, cancelled = huangpu_rows[:3]
    moved_in = min(k for k, r in xuhui_rows.items() if r["status"] == "1")
    batch = change_population(
        platform,
        {
            renamed: {"name": "欧阳新名"},
            moved_out: {"district_code": XUHUI, "address": xuhui_rows[moved_in]["address"]},
            cancelled: {"status": "2", "cancel_date": "2026-01-02"},
            moved_in: {"district_code": HUANGPU, "address": current_rows(platform)[renamed]["address"]},
        },
    )
    assert (batch.rows_updated, batch.rows_deleted, batch.rows_quarantined) == (3, 1, 0)

    second = landing.run_delivery(platform, consumer, delivery)
    assert (second.from_seq, second.to_seq) == (first.to_seq, first.to_seq + 1)
    assert (second.rows_upserted, second.rows_deleted) == (2, 2)  # renamed + moved in; moved out + cancelled
    assert second.reconciled and second.target_rows == (first.target_rows or 0) - 1
    landed = read_landed(platform.settings.data_dir / "landing" / "incremental")
    assert landed == expected_landing(platform, HUANGPU)
    assert landed[renamed]["name"] == mask_value("欧阳新名", "重要") and moved_in in landed
    assert moved_out not in landed and cancelled not in landed
    files = json.loads((platform.settings.data_dir / "landing" / "incremental" / "manifest.json").read_text())
    assert [(f["from_seq"], f["to_seq"], f["upserts"], f["deletes"]) for f in files["files"]][1:] == [
        (first.to_seq, second.to_seq, 2, 2)
    ]


CRASHING_RUN = """
import sys
from pathlib import Path
from gongshu.config import Settings
from gongshu.orgs.roles import SYSTEM
from gongshu.platform import open_platform
from gongshu.share.landing import run_delivery
run_delivery(open_platform(Settings(data_dir=Path(sys.argv[1]), demo=True)), SYSTEM, int(sys.argv[2]))
"""


def run_until_crash(platform: Platform, delivery: int) -> None:
    """A run killed (like ``kill -9``) after the target committed, before the metadata store did."""
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_RUN, str(platform.settings.data_dir), str(delivery)],
        env=os.environ | {"GONGSHU_CRASH_AT": "landing_after_target_commit"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 137, done.stderr.decode()[-2000:]


def test_a_crash_between_target_and_store_neither_redelivers_nor_loses(
    platform: Platform, huangpu: str, consumer: Principal
) -> None:
    delivery = new_landing(platform, consumer, huangpu, "landing/crash")
    run_until_crash(platform, delivery)
    folder = platform.settings.data_dir / "landing" / "crash"
    landed_cp = json.loads((folder / "manifest.json").read_text())["checkpoint"]
    with platform.store.session() as session:
        crashed = session.scalars(sa.select(DeliveryRun).where(DeliveryRun.delivery_id == delivery)).one()
        stored = session.get(Delivery, delivery)
        assert stored is not None and (crashed.state, stored.checkpoint) == ("running", 0)
    changed = sorted(current_rows(platform, HUANGPU))[5]
    change_population(platform, {changed: {"name": "司马崩溃"}})

    resumed = landing.run_delivery(platform, consumer, delivery)
    assert resumed.from_seq == landed_cp > 0  # the target's checkpoint won over the store's 0
    assert resumed.detail["checkpoint"] == {"store": 0, "target": landed_cp}
    assert (resumed.rows_upserted, resumed.reconciled) == (1, True)  # only the new change: nothing twice
    assert read_landed(folder) == expected_landing(platform, HUANGPU)
    assert len([f for f in folder.iterdir() if f.suffix == ".parquet"]) == 2
    with platform.store.session() as session:
        again = session.get(DeliveryRun, crashed.id)
        assert again is not None and again.state == "failed" and (again.error or "").startswith("interrupted")


def set_grant(platform: Platform, code: str, **values: Any) -> None:
    with platform.store.session() as session:
        grant = session.scalars(sa.select(Grant).where(Grant.code == code)).one()
        for name, value in values.items():
            setattr(grant, name, value)
        grant.updated_at = utcnow()


def test_refused_grants_deliver_nothing_and_say_why(platform: Platform, consumer: Principal) -> None:
    code = grant_for(platform, scenario="社区人口服务（拒绝）")
    delivery = new_landing(platform, consumer, code, "landing/refused")
    folder = platform.settings.data_dir / "landing" / "refused"
    with platform.store.session() as session:
        grant = session.scalars(sa.select(Grant).where(Grant.code == code)).one()
        valid_from, expires_at = grant.valid_from, grant.expires_at
    operator = ensure_user(platform, "operator_t", "DSJ", [Role.OPERATOR])
    refusals: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("grant_frozen", {"frozen_at": utcnow()}, {"frozen_at": None}),
        ("grant_expired", {"expires_at": utcnow() - timedelta(days=1)}, {"expires_at": expires_at}),
        ("grant_not_yet_valid", {"valid_from": utcnow() + timedelta(days=1)}, {"valid_from": valid_from}),
    ]
    for reason, refuse, restore in refusals:
        set_grant(platform, code, **refuse)
        with pytest.raises(ShareDenied) as denied:
            landing.run_delivery(platform, consumer, delivery)
        assert denied.value.reason == reason
        set_grant(platform, code, **restore)
    for action, reason in (("suspend", "grant_suspended"), ("revoke", "grant_revoked")):
        with platform.store.session() as session:
            grants.change_status(session, operator, code, action, reason="核查期间暂停")
        with pytest.raises(ShareDenied) as denied:
            landing.run_delivery(platform, consumer, delivery)
        assert denied.value.reason == reason

    assert not folder.exists()  # nothing delivered, not even an empty manifest
    with platform.store.session() as session:
        runs = session.scalars(
            sa.select(DeliveryRun).where(DeliveryRun.delivery_id == delivery).order_by(DeliveryRun.id)
        ).all()
    expected = ["grant_frozen", "grant_expired", "grant_not_yet_valid", "grant_suspended", "grant_revoked"]
    assert [(r.state, r.detail["refusal"], r.rows_upserted) for r in runs] == [(
        "failed", reason, 0) for reason in expected]  # fmt: skip
    logged = [c.record for c in reversed(call_log(platform).calls(grant=code))]
    assert [(c.result, c.status, c.rows) for c in logged] == [(reason, 403, 0) for reason in expected]


def test_a_grant_without_bulk_method_is_refused(platform: Platform, consumer: Principal) -> None:
    code = grant_for(platform, method="接口", scenario="社区人口核验")
    with pytest.raises(ShareDenied) as denied:
        new_landing(platform, consumer, code, "landing/api-only")
    assert denied.value.reason == "method_not_granted"


def test_targets_and_who_may_create_them_are_checked(
    platform: Platform, huangpu: str, consumer: Principal
) -> None:
    def create(actor: Principal = consumer, **values: Any) -> None:
        given = {
            "kind": "postgresql",
            "target": "postgresql+psycopg://etl@db.example/hp",
            "table": "population",
        }
        with platform.store.session() as session:
            landing.create_delivery(session, actor, huangpu, **(given | values))

    with pytest.raises(ValidationFailed) as bad:
        create(
            target="postgresql+psycopg://etl:secret@db.example/hp", table="Population", password_env="PGPASS"
        )
    assert set(bad.value.problems) == {"target", "table", "password_env"}
    with pytest.raises(ValidationFailed) as bad:
        create(kind="mariadb")  # a PostgreSQL URL for a MariaDB target
    assert "mysql+pymysql" in bad.value.problems["target"][0]
    with pytest.raises(ValidationFailed) as bad:
        create(kind="files", target="/etc/landing")  # absolute folders are for operators
    assert "target" in bad.value.problems
    with pytest.raises(PermissionDenied):
        create(kind="files", target="landing/x", purpose="return")  # 属地返还 is the platform's
    other = ensure_user(platform, "d310115_consumer_t", "D310115", [Role.CONSUMER])
    with pytest.raises(NotFound):
        create(other, kind="files", target="landing/other")  # another district cannot see the grant


def test_district_return_to_folders_reconciles_each_district(platform: Platform, huangpu: str) -> None:
    grant_for(platform, consumer="D310104")
    folder = platform.settings.data_dir / "returns"
    results = returns.district_return_to_folders(platform, SYSTEM, "101001001/000001", folder)
    assert [(r.district, r.state, r.reconciled) for r in results] == [
        (HUANGPU, "done", True),
        (XUHUI, "done", True),
    ]
    for result in results:
        assert read_landed(folder / result.district) == expected_landing(platform, result.district)
        assert result.rows_upserted == result.source_rows == len(current_rows(platform, result.district))
    missing = returns.district_return(
        platform, SYSTEM, "101001001/000001", targets={"310151": ("files", str(folder / "310151"))}
    )
    assert [(r.district, r.state) for r in missing] == [("310151", "no_grant")]


def test_the_api_creates_lists_and_runs_a_landing(platform: Platform, huangpu: str) -> None:
    app = create_app(platform)
    if not any(getattr(r, "path", "") == "/api/v1/share/deliveries" for r in app.routes):
        app.include_router(share_delivery.router, prefix="/api/v1")  # until the service registers it
    ensure_user(platform, "d310115_consumer_t", "D310115", [Role.CONSUMER])
    headers = {"Authorization": f"Bearer {token_for(platform, 'd310101_consumer_t')}"}
    body = {"grant": huangpu, "kind": "files", "target": "landing/api", "table": "population"}
    with TestClient(app) as client:
        created = client.post("/api/v1/share/deliveries", json=body, headers=headers)
        assert created.status_code == 201, created.text
        delivery = created.json()["id"]
        run = client.post(f"/api/v1/share/deliveries/{delivery}/run", headers=headers)
        assert run.status_code == 200, run.text
        assert run.json()["reconciled"] is True and run.json()["rows_upserted"] > 50
        listed = client.get("/api/v1/share/deliveries", headers=headers).json()["deliveries"]
        assert delivery in [d["id"] for d in listed]
        shown = client.get(f"/api/v1/share/deliveries/{delivery}", headers=headers).json()
        assert [r["state"] for r in shown["runs"]] == ["done"] and shown["checkpoint"] == run.json()["to_seq"]
        stranger = {"Authorization": f"Bearer {token_for(platform, 'd310115_consumer_t')}"}
        assert client.get(f"/api/v1/share/deliveries/{delivery}", headers=stranger).status_code == 404
