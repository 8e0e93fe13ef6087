"""Verification (核验) and query (查询) over HTTP: the answers, the grant's limits and the call log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gongshu.platform import Platform
from gongshu.service.app import create_app
from gongshu.share.exchange import call_log
from tests.share.conftest import grant_for, people, token_for

HUANGPU = "310101"


@pytest.fixture(scope="module")
def client(share_platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(share_platform)) as opened:
        yield opened


@pytest.fixture(scope="module")
def api_grant(share_platform: Platform) -> str:
    return grant_for(share_platform, method="接口", scenario="社区事务受理身份核验")


@pytest.fixture(scope="module")
def token(share_platform: Platform, api_grant: str) -> str:
    return token_for(share_platform, "d310101_consumer_t")


def test_verify_answers_only_match_mismatch_or_no_record(
    client: TestClient, share_platform: Platform, api_grant: str, token: str
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    (id_number, name, _), *_ = people(share_platform, district=HUANGPU)
    url = f"/api/v1/share/grants/{api_grant}/verify"
    match = client.post(url, json={"values": {"id_number": id_number, "name": name}}, headers=auth)
    assert match.status_code == 200, match.text
    assert match.json()["result"] == "match" and match.json()["label"] == "一致"
    assert set(match.json()) == {"result", "label", "request_id"}
    wrong = client.post(url, json={"values": {"id_number": id_number, "name": name + "某"}}, headers=auth)
    assert wrong.json()["result"] == "mismatch"
    elsewhere, *_ = people(share_platform, other_than=HUANGPU)
    other = client.post(url, json={"values": {"id_number": elsewhere[0], "name": elsewhere[1]}}, headers=auth)
    assert other.json()["result"] == "no_record"  # outside the district grant: as if absent
    # the same answers through the documented route (no fast path: a different app instance path)
    lower = client.post(
        url, json={"values": {"id_number": id_number.lower(), "name": f" {name} "}}, headers=auth
    )
    assert lower.json()["result"] == "match"


def test_query_returns_granted_fields_masked(
    client: TestClient, share_platform: Platform, api_grant: str, token: str
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    (id_number, name, _), *_ = people(share_platform, district=HUANGPU)
    url = f"/api/v1/share/grants/{api_grant}/query"
    answer = client.post(url, json={"filters": {"id_number": id_number}}, headers=auth)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 1
    row = body["rows"][0]
    assert set(row) == set(body["fields"])
    assert "phone" not in row  # not granted
    assert row["id_number"] != id_number and row["id_number"][0] == id_number[0]  # 核心: masked
    assert row["name"] != name or len(name) == 1
    refused = client.post(url, json={"filters": {"phone": "13800000000"}}, headers=auth)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "fields_not_granted"


def test_refusals_and_call_log(
    client: TestClient, share_platform: Platform, api_grant: str, token: str
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    before = call_log(share_platform).count()
    unknown = client.post(
        "/api/v1/share/grants/SQ999999/verify", json={"values": {"id_number": "1", "name": "x"}}, headers=auth
    )
    assert unknown.status_code == 403 and unknown.json()["error"]["code"] == "forbidden"
    none = client.post(
        f"/api/v1/share/grants/{api_grant}/verify", json={"values": {"id_number": "1", "name": "x"}}
    )
    assert none.status_code == 401
    bad = client.post(f"/api/v1/share/grants/{api_grant}/verify", content=b"{", headers=auth)
    assert bad.status_code == 422
    assert (
        call_log(share_platform).count() == before + 1
    )  # the refused call is logged; unauthenticated are not
    assert client.get("/healthz").json() == {"status": "ok"}


def test_metering_counts_answered_calls_by_resource_and_grant(
    client: TestClient, share_platform: Platform, api_grant: str, token: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from gongshu.share.metering import calls_by_resource
    from gongshu.store.base import city_today

    log = call_log(share_platform)
    by_grant = log.grant_counts(since=city_today())
    auth = {"Authorization": f"Bearer {token}"}
    (id_number, name, _), *_ = people(share_platform, district=HUANGPU)
    for _ in range(3):
        client.post(
            f"/api/v1/share/grants/{api_grant}/verify",
            json={"values": {"id_number": id_number, "name": name}},
            headers=auth,
        )
    assert log.grant_counts(since=city_today())[api_grant] == by_grant.get(api_grant, 0) + 3
    now = datetime.now(UTC)
    counts = log.resource_counts(since=now - timedelta(hours=1), until=now + timedelta(hours=1))
    assert counts["101001001/000001"] >= 3
    month = city_today().strftime("%Y-%m")
    assert calls_by_resource(share_platform, month)["101001001/000001"][0] == counts["101001001/000001"]


def test_a_new_batch_drops_the_verification_indexes_built_before_it(
    share_platform: Platform, api_grant: str
) -> None:
    import asyncio

    import sqlalchemy as sa

    from gongshu.collect.models import Batch, Mount
    from gongshu.share.runtime import Caller, Exchange
    from tests.share.conftest import principal

    consumer = principal(share_platform, "d310101_consumer_t")
    exchange = Exchange(share_platform)
    exchange.index.load_one(api_grant)
    (id_number, name, _), *_ = people(share_platform, district=HUANGPU)
    caller = Caller(consumer.name, consumer.organisation_id, "D310101")
    answer = asyncio.run(exchange.verify(caller, api_grant, {"id_number": id_number, "name": name}))
    assert answer.body["result"] == "match"
    assert exchange.refresh_data() == 0  # nothing new: the index stays
    with share_platform.store.session() as session:
        mount = session.scalar(sa.select(Mount).where(Mount.name == "ga_population"))
        assert mount is not None
        last = session.scalar(sa.select(sa.func.max(Batch.seq)).where(Batch.mount_id == mount.id)) or 0
        session.add(
            Batch(id=f"test-{last + 1}", mount_id=mount.id, seq=last + 1, state="committed", started_by="t")
        )
    try:
        assert exchange.refresh_data() == 1  # the next verification rebuilds from the new state
        again = asyncio.run(exchange.verify(caller, api_grant, {"id_number": id_number, "name": name}))
        assert again.body["result"] == "match"
    finally:
        with share_platform.store.session() as session:
            session.execute(sa.delete(Batch).where(Batch.id == f"test-{last + 1}"))
