"""Subscriptions (订阅推送): a subscribed delivery receives each batch's delta with no manual run.

The collect pipeline calls :func:`gongshu.share.returns.deliver_subscribed` after every committed
batch; a delivery that fails or is refused is recorded on its run and noted on the batch, and never
fails the batch.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from gongshu.orgs.roles import SYSTEM, Principal
from gongshu.platform import Platform
from gongshu.share import grants, landing
from gongshu.share.models import DeliveryRun
from tests.share.conftest import grant_for, principal
from tests.share.test_landing import (
    HUANGPU,
    change_population,
    current_rows,
    expected_landing,
    read_landed,
    remount_population,
)


@pytest.fixture(scope="module")
def platform(share_platform: Platform) -> Platform:
    remount_population(share_platform)
    return share_platform


@pytest.fixture(scope="module")
def huangpu(platform: Platform) -> str:
    return grant_for(platform)


@pytest.fixture(scope="module")
def consumer(platform: Platform, huangpu: str) -> Principal:
    return principal(platform, "d310101_consumer_t")


def create(platform: Platform, actor: Principal, grant: str, **values: Any) -> int:
    with platform.store.session() as session:
        return landing.create_delivery(session, actor, grant, table="population", **values).id


def runs_of(platform: Platform, delivery: int) -> list[DeliveryRun]:
    with platform.store.session() as session:
        query = sa.select(DeliveryRun).where(DeliveryRun.delivery_id == delivery).order_by(DeliveryRun.id)
        return list(session.scalars(query))


def test_a_subscribed_landing_receives_each_batch_without_a_manual_run(
    platform: Platform, huangpu: str, consumer: Principal
) -> None:
    subscribed = create(platform, consumer, huangpu, kind="files", target="landing/sub", subscribed=True)
    manual = create(platform, consumer, huangpu, kind="files", target="landing/manual")
    first, second = sorted(current_rows(platform, HUANGPU))[:2]

    change_population(platform, {first: {"name": "订阅甲"}})
    (initial,) = runs_of(platform, subscribed)
    assert (initial.trigger, initial.state, initial.reconciled) == ("subscription", "done", True)
    assert initial.rows_upserted == len(current_rows(platform, HUANGPU))  # the first run lands everything

    batch = change_population(platform, {second: {"name": "订阅乙"}})
    delta = runs_of(platform, subscribed)[-1]
    assert (delta.from_seq, delta.to_seq) == (initial.to_seq, initial.to_seq + 1)
    assert (delta.rows_upserted, delta.rows_deleted, delta.reconciled) == (1, 0, True)
    assert read_landed(platform.settings.data_dir / "landing" / "sub") == expected_landing(platform, HUANGPU)
    assert not runs_of(platform, manual)  # only subscribed deliveries are pushed
    assert not [n for n in batch.notes if "订阅推送" in n]


def test_a_failing_subscription_never_fails_the_batch(
    platform: Platform, huangpu: str, consumer: Principal
) -> None:
    unreachable = create(
        platform,
        SYSTEM,
        huangpu,
        kind="postgresql",
        target="postgresql+psycopg://nobody@127.0.0.1:1/nowhere",  # nothing listens on port 1
        subscribed=True,
    )
    refused_grant = grant_for(platform, scenario="社区人口服务（订阅）")
    refused = create(
        platform, consumer, refused_grant, kind="files", target="landing/refused", subscribed=True
    )
    with platform.store.session() as session:
        grants.change_status(session, SYSTEM, refused_grant, "suspend", reason="核查期间暂停")

    batch = change_population(platform, {sorted(current_rows(platform, HUANGPU))[3]: {"name": "订阅丙"}})
    assert batch.balanced and batch.rows_updated == 1  # the batch is committed whatever the targets did
    (failed,) = runs_of(platform, unreachable)
    assert failed.state == "failed" and (failed.error or "").startswith("target_unavailable")
    (denied,) = runs_of(platform, refused)
    assert denied.state == "failed" and denied.detail["refusal"] == "grant_suspended"
    notes = [n for n in batch.notes if "订阅推送" in n]
    assert len(notes) == 2 and any("grant_suspended" in n for n in notes)
    assert not (platform.settings.data_dir / "landing" / "refused").exists()
