"""Publication (发布): what the open datasets publish, that it matches the standard zone, and that it is
idempotent per batch, versioned after new batches, pruned, and never half-written by a crash."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from gongshu.catalogue.models import CatalogEntry
from gongshu.collect.pipeline import run_mount
from gongshu.collect.sqlbits import idents
from gongshu.collect.stage import current_state_sql
from gongshu.engine import connect
from gongshu.lake import open_lake
from gongshu.lake.specs import TableRef, Zone
from gongshu.open.datasets import OPEN_GRADES, dataset_name
from gongshu.open.models import OpenPublication
from gongshu.open.publish import (
    FILE_NAMES,
    ROW_ID,
    current_publication,
    prune,
    publish_all,
    publish_entry,
    sha256_of,
    version_dir,
)
from gongshu.orgs.roles import SYSTEM
from gongshu.platform import Platform
from gongshu.security.models import AuditEvent
from gongshu.share.slice import resource_of
from tests.open.conftest import ADDRESSES, ENTERPRISES, NOT_OPEN

ADDRESS_NAME = dataset_name(ADDRESSES)


def publication_of(platform: Platform, code: str) -> OpenPublication | None:
    with platform.store.session() as session:
        entry_id = session.scalar(sa.select(CatalogEntry.id).where(CatalogEntry.code == code))
        assert entry_id is not None
        return current_publication(session, entry_id)


def standard_state(platform: Platform, code: str, fields: list[str]) -> list[tuple[Any, ...]]:
    """The standard zone's current state of ``code``, projected on ``fields``, sorted by the mount key."""
    with platform.store.session() as session:
        entry_id = session.scalar(sa.select(CatalogEntry.id).where(CatalogEntry.code == code))
        assert entry_id is not None
        resource = resource_of(session, entry_id)
    with open_lake(platform.settings) as lake, contextlib.closing(connect()) as con:
        lake.view(con, TableRef(Zone.STANDARD, resource.mount), "changes")
        sql = current_state_sql("changes", resource.key)
        return con.execute(f"SELECT {idents(fields)} FROM ({sql}) ORDER BY {idents(resource.key)}").fetchall()


def test_the_demo_publishes_its_open_entries(portal: Platform) -> None:
    addresses = publication_of(portal, ADDRESSES)
    enterprises = publication_of(portal, ENTERPRISES)
    assert addresses is not None and addresses.version >= 1 and addresses.rows > 100
    assert enterprises is not None and enterprises.rows > 50
    assert publication_of(portal, NOT_OPEN) is None  # 不予开放: never published
    assert addresses.datastore == f"open/{ADDRESS_NAME}/v{addresses.version}/data.parquet"
    with portal.store.session() as session:
        events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "open.publish")).all()
        assert {e.object_id for e in events} >= {ADDRESS_NAME, dataset_name(ENTERPRISES)}


def test_no_important_item_is_ever_published(portal: Platform) -> None:
    publication = publication_of(portal, ENTERPRISES)
    assert publication is not None
    with portal.store.session() as session:
        entry = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == ENTERPRISES))
        assert entry is not None
        withheld = [i.name for i in entry.items if i.grade not in OPEN_GRADES]
        published = [i.name for i in entry.items if i.grade in OPEN_GRADES]
    assert "legal_rep_id_number" in withheld
    assert publication.fields == published  # catalogue order, only 一般
    secrets = [str(row[0]) for row in standard_state(portal, ENTERPRISES, withheld[:1]) if row[0]]
    assert len(secrets) > 10
    folder = portal.settings.data_dir / version_dir(Path(), dataset_name(ENTERPRISES), publication.version)
    for fmt, name in FILE_NAMES.items():
        path = folder / name
        if fmt == "parquet":
            assert set(pq.read_schema(path).names) == {ROW_ID, *published}
            continue
        if fmt == "xlsx":
            sheet = openpyxl.load_workbook(path, read_only=True).active
            assert sheet is not None
            text = "\n".join(",".join(str(v) for v in row) for row in sheet.iter_rows(values_only=True))
        else:
            text = path.read_text("utf-8")
        for name_ in withheld:
            assert name_ not in text
        assert not any(secret in text for secret in secrets), f"a withheld value leaked into {fmt}"


def test_files_match_their_hashes_and_the_standard_state(portal: Platform) -> None:
    publication = publication_of(portal, ADDRESSES)
    assert publication is not None
    expected = standard_state(portal, ADDRESSES, publication.fields)
    assert publication.rows == len(expected)
    data_dir = portal.settings.data_dir
    for fmt, document in publication.files.items():
        path = data_dir / document["path"]
        assert document["sha256"] == sha256_of(path), fmt
        assert document["bytes"] == path.stat().st_size
        assert document["rows"] == len(expected)
    table = pq.read_table(data_dir / publication.datastore)
    assert table.column(ROW_ID).to_pylist() == list(range(1, len(expected) + 1))
    assert list(zip(*(table.column(f).to_pylist() for f in publication.fields), strict=True)) == expected
    assert max(rg.num_rows for rg in _row_groups(data_dir / publication.datastore)) <= 100_000

    raw = (data_dir / publication.files["csv"]["path"]).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # UTF-8 without a byte-order mark (docs/open-data.md)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    assert rows[0] == publication.fields and len(rows) == len(expected) + 1
    assert [r[0] for r in rows[1:]] == [str(e[0]) for e in expected]

    records = json.loads((data_dir / publication.files["json"]["path"]).read_text("utf-8"))
    assert isinstance(records, list) and len(records) == len(expected)
    assert list(records[0]) == publication.fields and records[0]["address_id"] == expected[0][0]

    sheet = openpyxl.load_workbook(data_dir / publication.files["xlsx"]["path"], read_only=True).active
    assert sheet is not None
    cells = list(sheet.iter_rows(values_only=True))
    assert list(cells[0]) == publication.fields and len(cells) == len(expected) + 1


def _row_groups(path: Path) -> list[Any]:
    metadata = pq.ParquetFile(path).metadata
    return [metadata.row_group(i) for i in range(metadata.num_row_groups)]


def test_publishing_again_is_idempotent(portal: Platform) -> None:
    before = publication_of(portal, ADDRESSES)
    assert before is not None
    again = publish_entry(portal, ADDRESSES)
    assert again is not None and (again.id, again.version) == (before.id, before.version)
    assert [code for code, _ in publish_all(portal)] >= [ENTERPRISES, ADDRESSES]
    after = publication_of(portal, ADDRESSES)
    assert after is not None and after.id == before.id
    assert publish_entry(portal, NOT_OPEN) is None


def _change_addresses(platform: Platform, tag: str) -> tuple[str, str]:
    """Edit the address source: one record changed, one added. Returns (changed id, added id)."""
    path = platform.settings.data_dir / "city" / "ghzy_address.json"
    document = json.loads(path.read_text("utf-8"))
    records = document["data"]["records"]
    good = next(r for r in records if r.get("road") and r.get("address_id"))
    good["building_name"] = f"改名大厦{tag}"
    added = {**good, "address_id": f"3101990000{tag:0>5}", "building_name": f"新建大厦{tag}"}
    records.append(added)
    document["data"]["total"] = len(records)
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    return str(good["address_id"]), str(added["address_id"])


def _mount_of(platform: Platform, code: str) -> str:
    with platform.store.session() as session:
        entry_id = session.scalar(sa.select(CatalogEntry.id).where(CatalogEntry.code == code))
        assert entry_id is not None
        return resource_of(session, entry_id).mount


@pytest.fixture(scope="module")
def collecting(portal: Platform) -> Platform:
    """The portal with the address mount's lake tables of its own, so new batches can be collected.

    ``portal`` copies the demo's data directory, but its lake catalog still points at the demo's table
    folders; dropping the copy's catalog rows (never the files) and collecting again gives this copy
    tables in its own warehouse.
    """
    mount = _mount_of(portal, ADDRESSES)
    with open_lake(portal.settings) as lake:
        for ref in lake.tables():
            if ref.name == mount:
                lake.drop_table(ref)  # without purge: the demo's files stay untouched
    run_mount(portal, SYSTEM, mount)
    return portal


def test_a_new_batch_publishes_a_new_version_with_its_changes(collecting: Platform) -> None:
    portal = collecting
    before = publication_of(portal, ADDRESSES)
    assert before is not None
    changed, added = _change_addresses(portal, "1")
    run_mount(portal, SYSTEM, _mount_of(portal, ADDRESSES))  # publishes after the batch (the hook)
    after = publication_of(portal, ADDRESSES)
    assert after is not None and after.version == before.version + 1 and after.batch_id != before.batch_id
    assert after.changes == {"added": 1, "removed": 0, "changed": 1, "previous": before.version}
    assert after.rows == before.rows + 1
    table = pq.read_table(portal.settings.data_dir / after.datastore, columns=["address_id", "building_name"])
    names = dict(zip(*(c.to_pylist() for c in table.columns), strict=True))
    assert names[changed] == "改名大厦1" and names[added] == "新建大厦1"
    for version in (before.version, after.version):  # the previous version's files are kept
        assert (version_dir(portal.settings.data_dir, ADDRESS_NAME, version) / "data.csv").exists()


def test_old_versions_are_pruned_but_stay_in_the_history(collecting: Platform) -> None:
    portal = collecting
    current = publication_of(portal, ADDRESSES)
    assert current is not None and current.version >= 2
    pruned = prune(portal, current.entry_id, ADDRESS_NAME, keep=1)
    assert pruned and all(v < current.version for v in pruned)
    folder = portal.settings.data_dir / "open" / ADDRESS_NAME
    assert sorted(p.name for p in folder.iterdir()) == [f"v{current.version}"]
    with portal.store.session() as session:
        versions = session.scalars(
            sa.select(OpenPublication.version).where(OpenPublication.entry_id == current.entry_id)
        ).all()
    assert sorted(versions) == list(range(1, current.version + 1))


def _publish_in_a_process_that_dies(platform: Platform, point: str) -> int:
    code = (
        "from gongshu.config import Settings\n"
        "from gongshu.platform import open_platform\n"
        "from gongshu.open.publish import publish_entry\n"
        f"publish_entry(open_platform(Settings(data_dir={str(platform.settings.data_dir)!r}, demo=True)), "
        f"{ADDRESSES!r})\n"
    )
    env = {**os.environ, "GONGSHU_CRASH_AT": point}
    return subprocess.run([sys.executable, "-c", code], env=env, check=False, timeout=120).returncode


@pytest.mark.parametrize("point", ["publish_before_rename", "publish_after_rename"])
def test_a_crash_leaves_no_half_publication(collecting: Platform, point: str) -> None:
    portal = collecting
    before = publication_of(portal, ADDRESSES)
    assert before is not None
    _change_addresses(portal, "2" if point == "publish_before_rename" else "3")
    # commit a batch in a process that dies while its hook publishes
    mount = _mount_of(portal, ADDRESSES)
    collect = (
        "from gongshu.config import Settings\n"
        "from gongshu.platform import open_platform\n"
        "from gongshu.collect.pipeline import run_mount\n"
        "from gongshu.orgs.roles import SYSTEM\n"
        f"run_mount(open_platform(Settings(data_dir={str(portal.settings.data_dir)!r}, demo=True)), SYSTEM, "
        f"{mount!r})\n"
    )
    env = {**os.environ, "GONGSHU_CRASH_AT": point}
    died = subprocess.run([sys.executable, "-c", collect], env=env, check=False, timeout=300)
    assert died.returncode == 137
    still = publication_of(portal, ADDRESSES)
    assert still is not None and (still.id, still.version) == (before.id, before.version)
    for document in still.files.values():  # the current publication is whole
        assert sha256_of(portal.settings.data_dir / document["path"]) == document["sha256"]
    assert _publish_in_a_process_that_dies(portal, point) == 137  # and once more, for good measure
    assert publication_of(portal, ADDRESSES).version == before.version  # type: ignore[union-attr]

    published = publish_entry(portal, ADDRESSES)  # the next run completes it
    assert published is not None and published.version == before.version + 1
    folder = portal.settings.data_dir / "open" / ADDRESS_NAME
    assert not list(folder.glob(".staging-*"))
    for document in published.files.values():
        assert sha256_of(portal.settings.data_dir / document["path"]) == document["sha256"]
