"""Downloads and dumps through the real service: whole published files with their digests, a
credential's streamed projection, 403/404, the access log, 429 with Retry-After, bounded memory."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from gongshu.catalogue.models import CatalogEntry
from gongshu.open.datasets import dataset_name, open_dataset
from gongshu.open.downloads import BATCH_ROWS, stream_csv
from gongshu.open.keys import create_key
from gongshu.open.models import OpenAccess, OpenApplication
from gongshu.orgs.models import User
from gongshu.orgs.roles import Role
from gongshu.platform import Platform, open_platform
from tests.browser_support import served
from tests.open.conftest import ADDRESSES, ENTERPRISES, NOT_OPEN, portal_user

ADDRESS_NAME = dataset_name(ADDRESSES)
ENTERPRISE_NAME = dataset_name(ENTERPRISES)
APPROVED = ["reg_no", "ent_name", "district_code", "legal_rep_id_number"]  # the 重要 one is never readable


@pytest.fixture(scope="module")
def site(portal: Platform) -> Iterator[str]:
    """The service over the portal copy, with anonymous limits these tests do not reach."""
    settings = portal.settings.model_copy(
        update={"open_anonymous_rate_per_s": 10_000, "open_anonymous_daily_quota": 1_000_000}
    )
    platform = open_platform(settings)
    try:
        with served(platform) as base:
            yield base
    finally:
        platform.close()


@pytest.fixture(scope="module")
def keys(portal: Platform) -> dict[str, str]:
    """A developer key limited to one call a second, and a credential approved for some fields."""
    actor = portal_user(portal, "od_developer", [Role.DEVELOPER])
    with portal.store.session() as session:
        user = session.scalar(sa.select(User).where(User.username == "od_developer"))
        entry = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == ENTERPRISES))
        assert user is not None and entry is not None
        application = OpenApplication(
            code="OA990001",
            entry_id=entry.id,
            applicant_id=user.id,
            applicant_org="测试科技有限公司",
            contact="测试",
            purpose="downloads test",
            scenario="企业征信",
            fields=APPROVED,
            duration_days=30,
            state="approved",
            due_on=date.today(),
            decided_at=datetime.now(UTC),
            valid_until=datetime.now(UTC) + timedelta(days=30),
        )
        session.add(application)
        session.flush()
        _, slow = create_key(session, user, "slow", actor=actor, rate_per_s=1)
        _, scoped = create_key(session, user, "credential", actor=actor, application=application)
    return {"slow": slow, "credential": scoped}


def publication_file(portal: Platform, name: str, fmt: str) -> tuple[Path, dict[str, object]]:
    with portal.store.session() as session:
        publication = open_dataset(session, name).publication
    assert publication is not None
    document = publication.files[fmt]
    return portal.settings.data_dir / str(document["path"]), document


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_anyone_downloads_an_unconditional_dataset_with_its_digest(
    portal: Platform, site: str, fmt: str
) -> None:
    path, document = publication_file(portal, ADDRESS_NAME, fmt)
    response = httpx.get(f"{site}/open/datasets/{ADDRESS_NAME}/download.{fmt}")
    assert response.status_code == 200
    assert response.content == path.read_bytes()
    digest = hashlib.sha256(response.content).hexdigest()
    assert digest == document["sha256"] and response.headers["etag"] == f'"{digest}"'
    assert response.headers["digest"] == "sha-256=" + base64.b64encode(bytes.fromhex(digest)).decode()
    disposition = response.headers["content-disposition"]
    assert f'filename="{ADDRESS_NAME}.{fmt}"' in disposition
    assert f"filename*=UTF-8''{quote('标准地址信息.' + fmt)}" in disposition
    again = httpx.get(
        f"{site}/open/datasets/{ADDRESS_NAME}/download.{fmt}", headers={"If-None-Match": f'"{digest}"'}
    )
    assert again.status_code == 304 and again.content == b""


def test_downloads_are_logged(portal: Platform, site: str) -> None:
    with portal.store.session() as session:
        before = session.scalar(
            sa.select(sa.func.count(OpenAccess.id)).where(OpenAccess.channel == "download")
        )
    assert httpx.get(f"{site}/open/datasets/{ADDRESS_NAME}/download.csv").status_code == 200
    assert httpx.get(f"{site}/datastore/dump/{ADDRESS_NAME}-csv").status_code == 200
    with portal.store.session() as session:
        rows = session.scalars(sa.select(OpenAccess).order_by(OpenAccess.id.desc()).limit(2)).all()
        after = session.scalar(
            sa.select(sa.func.count(OpenAccess.id)).where(OpenAccess.channel == "download")
        )
        publication = open_dataset(session, ADDRESS_NAME).publication
    assert after == (before or 0) + 1
    assert [(r.channel, r.format, r.caller) for r in rows] == [
        ("dump", "csv", "anonymous"),
        ("download", "csv", "anonymous"),
    ]
    assert (
        publication is not None
        and rows[0].rows == publication.rows
        and rows[0].fields == list(publication.fields)
    )


def test_the_dump_url_serves_each_format(portal: Platform, site: str) -> None:
    csv_path, _ = publication_file(portal, ADDRESS_NAME, "csv")
    json_path, _ = publication_file(portal, ADDRESS_NAME, "json")
    assert httpx.get(f"{site}/datastore/dump/{ADDRESS_NAME}-csv").content == csv_path.read_bytes()
    assert httpx.get(f"{site}/datastore/dump/{ADDRESS_NAME}-json").content == json_path.read_bytes()
    assert (
        httpx.get(f"{site}/datastore/dump/{ADDRESS_NAME}-csv?format=json").content == json_path.read_bytes()
    )
    assert httpx.get(f"{site}/datastore/dump/{ADDRESS_NAME}-csv?format=parquet").status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        f"/open/datasets/{dataset_name(NOT_OPEN)}/download.csv",  # 不予开放
        f"/datastore/dump/{dataset_name(NOT_OPEN)}-csv",
        "/open/datasets/999999999-999999/download.csv",
        f"/open/datasets/{ADDRESS_NAME}/download.parquet",
        f"/open/datasets/{ADDRESS_NAME}/download.exe",
        "/datastore/dump/nothing",
        f"/datastore/dump/{ADDRESS_NAME}-pdf",
    ],
)
def test_unknown_and_closed_datasets_are_404(site: str, path: str) -> None:
    assert httpx.get(site + path).status_code == 404


def test_a_conditional_dataset_is_403_with_a_hint_to_apply(site: str) -> None:
    for path in (f"/open/datasets/{ENTERPRISE_NAME}/download.csv", f"/datastore/dump/{ENTERPRISE_NAME}-csv"):
        response = httpx.get(site + path)
        assert response.status_code == 403
        assert f"/open/datasets/{ENTERPRISE_NAME}/apply" in response.text
        assert "legal_rep" not in response.text


def test_a_credential_gets_a_streamed_projection_of_its_fields(
    portal: Platform, site: str, keys: dict[str, str]
) -> None:
    headers = {"Authorization": keys["credential"]}
    with portal.store.session() as session:
        publication = open_dataset(session, ENTERPRISE_NAME).publication
    assert publication is not None
    response = httpx.get(f"{site}/open/datasets/{ENTERPRISE_NAME}/download.csv", headers=headers)
    assert response.status_code == 200 and "etag" not in response.headers
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["reg_no", "ent_name", "district_code"]  # approved and published, catalogue order
    assert len(rows) == publication.rows + 1
    records = httpx.get(f"{site}/datastore/dump/{ENTERPRISE_NAME}-json", headers=headers).json()
    assert len(records) == publication.rows and set(records[0]) == {"reg_no", "ent_name", "district_code"}
    assert [r["reg_no"] for r in records] == [r[0] for r in rows[1:]]
    book = httpx.get(f"{site}/open/datasets/{ENTERPRISE_NAME}/download.xlsx", headers=headers)
    sheet = openpyxl.load_workbook(io.BytesIO(book.content), read_only=True).active
    assert sheet is not None and next(sheet.iter_rows(values_only=True)) == (
        "reg_no",
        "ent_name",
        "district_code",
    )
    assert httpx.get(f"{site}/open/datasets/{ADDRESS_NAME}/download.csv", headers=headers).status_code == 403
    with portal.store.session() as session:
        access = session.scalar(sa.select(OpenAccess).order_by(OpenAccess.id.desc()).limit(1))
    assert access is not None and access.application_id is not None
    assert access.fields == ["reg_no", "ent_name", "district_code"]
    assert not (portal.settings.data_dir / "work" / "open-downloads").exists() or not list(
        (portal.settings.data_dir / "work" / "open-downloads").iterdir()
    )  # the projected workbook is deleted after sending


def test_a_one_per_second_key_gets_429_with_retry_after(site: str, keys: dict[str, str]) -> None:
    headers = {"Authorization": keys["slow"]}
    time.sleep(1.1)
    codes = []
    for _ in range(3):
        response = httpx.get(f"{site}/open/datasets/{ADDRESS_NAME}/download.json", headers=headers)
        codes.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
            break
    assert codes[0] == 200 and 429 in codes


def test_a_csv_projection_streams_in_bounded_memory(tmp_path: Path) -> None:
    rows = 600_000
    table = pa.table(
        {
            "_id": pa.array(range(1, rows + 1), pa.int64()),
            "code": pa.array([f"3101{i:011d}" for i in range(rows)]),
            "name": pa.array([f"上海市某区某路{i % 997}号 楼宇名称较长的一段文本" for i in range(rows)]),
            "secret": pa.array(["x" * 40] * rows),
        }
    )
    parquet = tmp_path / "big.parquet"
    pq.write_table(table, parquet, row_group_size=100_000)
    del table
    pool = pa.default_memory_pool()
    baseline, peak, total, largest = pool.bytes_allocated(), 0, 0, 0
    for chunk in stream_csv(parquet, ["code", "name"]):
        total += len(chunk)
        largest = max(largest, len(chunk))
        peak = max(peak, pool.bytes_allocated() - baseline)
    assert total > 40_000_000  # far more than is ever held at once
    assert largest < BATCH_ROWS * 200  # one batch of rows at a time
    assert peak < 16 * 1024 * 1024, f"Arrow held {peak / 1e6:.0f} MB while streaming {total / 1e6:.0f} MB"
