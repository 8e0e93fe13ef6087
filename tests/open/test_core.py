"""The open portal's core decisions: which entries are open, who reads which 信息项, keys, quotas."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from gongshu.catalogue.models import CatalogEntry
from gongshu.config import Settings
from gongshu.errors import AuthenticationFailed, NotFound
from gongshu.open.caller import ANONYMOUS, Caller, Scope
from gongshu.open.datasets import dataset_name, entry_code, load_open_datasets, open_dataset
from gongshu.open.keys import authenticate, create_key, key_digest, revoke_key
from gongshu.open.models import OpenApplication, OpenKey
from gongshu.open.quota import OpenMeter
from gongshu.orgs.models import User
from gongshu.orgs.roles import SYSTEM, Role
from gongshu.platform import Platform
from gongshu.share.errors import QuotaExceeded
from gongshu.store.base import city_today, utcnow
from tests.demo_city import Demo
from tests.open.conftest import ADDRESSES, ENTERPRISES, NOT_OPEN, portal_user


def test_names_round_trip() -> None:
    assert dataset_name("103001001/000001") == "103001001-000001"
    assert entry_code("103001001-000001") == "103001001/000001"
    assert entry_code("103001001/000001") == "103001001/000001"


def test_only_open_published_entries_are_datasets(demo: Demo) -> None:
    with demo.platform.store.session() as session:
        datasets = load_open_datasets(session)
        codes = {d.code for d in datasets}
        entries = {e.code: e for e in session.scalars(sa.select(CatalogEntry))}
    assert ADDRESSES in codes and ENTERPRISES in codes
    assert NOT_OPEN not in codes
    for code in codes:
        assert entries[code].open_type in ("无条件开放", "有条件开放")
        assert entries[code].status in ("published", "mounted")
    expected = {
        code
        for code, e in entries.items()
        if e.open_type != "不予开放" and e.status in ("published", "mounted")
    }
    assert codes == expected


def test_not_open_is_reported_like_unknown(demo: Demo) -> None:
    with demo.platform.store.session() as session:
        with pytest.raises(NotFound) as hidden:
            open_dataset(session, dataset_name(NOT_OPEN))
        with pytest.raises(NotFound) as unknown:
            open_dataset(session, "999999999-999999")
    assert type(hidden.value) is type(unknown.value)
    assert "no open dataset" in hidden.value.message and "no open dataset" in unknown.value.message


def test_only_general_items_are_published(demo: Demo) -> None:
    with demo.platform.store.session() as session:
        enterprises = open_dataset(session, dataset_name(ENTERPRISES))
    assert "legal_rep_id_number" not in enterprises.published_fields
    assert "uscc" in enterprises.published_fields
    assert all(f.grade == "一般" for f in enterprises.fields if f.published)


def test_callers_read_by_open_type_and_scope(demo: Demo) -> None:
    with demo.platform.store.session() as session:
        addresses = open_dataset(session, dataset_name(ADDRESSES))
        enterprises = open_dataset(session, dataset_name(ENTERPRISES))
    assert ANONYMOUS.readable_fields(addresses) == addresses.published_fields
    assert ANONYMOUS.readable_fields(enterprises) == ()
    scope = Scope(1, "OA000001", frozenset({"uscc", "ent_name", "legal_rep_id_number"}), utcnow())
    holder = Caller(kind="credential", name="key:goc_x", scopes={enterprises.name: scope}, only_scoped=True)
    # the scope never opens an item that is not published, whatever the application says
    assert holder.readable_fields(enterprises) == ("uscc", "ent_name")
    assert holder.readable_fields(addresses) == ()  # a credential reads only its scope
    user = Caller(kind="user", name="user:x", scopes={enterprises.name: scope})
    assert user.readable_fields(addresses) == addresses.published_fields


def test_keys_are_hashed_revocable_and_expire(portal: Platform) -> None:
    developer = portal_user(portal, "core_dev", [Role.DEVELOPER])
    with portal.store.session() as session:
        user = session.get(User, developer.user_id)
        assert user is not None
        key, secret = create_key(session, user, "test", actor=developer)
        assert secret.startswith("gok_") and key.digest == key_digest(secret)
        stored = session.scalars(sa.select(OpenKey.digest)).all()
        assert secret not in stored
    with portal.store.session() as session:
        caller = authenticate(session, secret)
        assert caller.kind == "key" and caller.username == "core_dev" and not caller.scopes
    with portal.store.session() as session:
        revoke_key(session, developer, key.id)
    with portal.store.session() as session, pytest.raises(AuthenticationFailed):
        authenticate(session, secret)
    with portal.store.session() as session:
        user = session.get(User, developer.user_id)
        assert user is not None
        _, old = create_key(session, user, "old", actor=SYSTEM, expires_at=utcnow() - timedelta(seconds=1))
    with portal.store.session() as session, pytest.raises(AuthenticationFailed):
        authenticate(session, old)
    with portal.store.session() as session, pytest.raises(AuthenticationFailed):
        authenticate(session, "gok_" + "x" * 43)


def test_credentials_carry_only_approved_unexpired_scopes(portal: Platform) -> None:
    applicant = portal_user(portal, "core_enterprise", [Role.DEVELOPER])
    with portal.store.session() as session:
        entry = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == ENTERPRISES))
        user = session.get(User, applicant.user_id)
        assert entry is not None and user is not None
        application = OpenApplication(
            code="OA900001",
            entry_id=entry.id,
            applicant_id=user.id,
            applicant_org="测试科技有限公司",
            contact="联系人",
            purpose="企业征信产品研发",
            scenario="信用评估",
            fields=["uscc", "ent_name"],
            duration_days=30,
            state="approved",
            due_on=city_today(),
            valid_until=utcnow() + timedelta(days=30),
        )
        session.add(application)
        session.flush()
        _, secret = create_key(session, user, "credential", actor=SYSTEM, application=application)
    with portal.store.session() as session:
        caller = authenticate(session, secret)
        enterprises = open_dataset(session, dataset_name(ENTERPRISES))
        assert caller.kind == "credential"
        assert caller.readable_fields(enterprises) == ("uscc", "ent_name")
        application = session.scalars(
            sa.select(OpenApplication).where(OpenApplication.code == "OA900001")
        ).one()
        application.valid_until = utcnow() - timedelta(seconds=1)
    with portal.store.session() as session:
        caller = authenticate(session, secret)
        enterprises = open_dataset(session, dataset_name(ENTERPRISES))
        assert caller.readable_fields(enterprises) == ()


def test_meter_limits_rate_and_daily_quota() -> None:
    settings = Settings(open_anonymous_daily_quota=3, open_anonymous_rate_per_s=2)
    meter = OpenMeter(settings)
    now = 1_800_000_000.0
    meter.admit(ANONYMOUS, "10.0.0.1", now)
    meter.admit(ANONYMOUS, "10.0.0.1", now)
    with pytest.raises(QuotaExceeded) as limited:
        meter.admit(ANONYMOUS, "10.0.0.1", now)
    assert limited.value.reason == "rate_limited" and limited.value.retry_after >= 1
    meter.admit(ANONYMOUS, "10.0.0.2", now)  # another address has its own bucket
    meter.admit(ANONYMOUS, "10.0.0.1", now + 1.0)
    with pytest.raises(QuotaExceeded) as quota:
        meter.admit(ANONYMOUS, "10.0.0.1", now + 10.0)
    assert quota.value.reason == "quota_exceeded" and quota.value.retry_after > 1
    key = Caller(kind="key", name="key:gok_x", key_id=7, daily_quota=100, rate_per_s=1)
    meter.admit(key, "10.0.0.1", now + 20.0)  # the key's own limits, not the address's
    with pytest.raises(QuotaExceeded):
        meter.admit(key, "10.0.0.1", now + 20.0)
    assert meter.used(key) == 1
