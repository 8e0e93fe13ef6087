"""Developers of the open portal: self-registration, API keys (hashed, revocable, expiring), quotas and
rate limits (429 with Retry-After) through the real service, and the usage they see."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from gongshu.errors import Conflict, PermissionDenied, ValidationFailed
from gongshu.open import developers
from gongshu.open.datasets import dataset_name, open_dataset
from gongshu.open.keys import authenticate, key_digest
from gongshu.open.models import OpenKey
from gongshu.open.usage import record_access
from gongshu.orgs.models import User
from gongshu.orgs.roles import SYSTEM, Role
from gongshu.orgs.schemas import TokenCreate
from gongshu.orgs.tokens import issue_token
from gongshu.orgs.uscc import uscc_check_char
from gongshu.orgs.users import principal_of
from gongshu.platform import Platform
from gongshu.store.base import utcnow
from tests.browser_support import served
from tests.open.conftest import ADDRESSES

PASSWORD = "developer-password-1"


def letter_uscc(first17: str = "N1310000MA1K00001") -> str:
    """A valid code whose registration authority is a letter (python-stdnum rejects these)."""
    return first17 + uscc_check_char(first17)


def register(platform: Platform, username: str, **extra: str) -> User:
    with platform.store.session() as session:
        user = developers.register_developer(
            session, {"username": username, "display_name": username, "password": PASSWORD, **extra}
        )
        session.expunge(user)
        return user


def api_token(platform: Platform, username: str) -> dict[str, str]:
    """An API token (gsk_) for the management routes of ``username``, as its Authorization header."""
    with platform.store.session() as session:
        issued = issue_token(session, SYSTEM, TokenCreate(name="tests", username=username))
    return {"Authorization": f"Bearer {issued.secret}"}


@pytest.fixture(scope="module")
def live(portal: Platform) -> Iterator[str]:
    with served(portal) as url:
        yield url


# --- registration ---------------------------------------------------------------------------------


def test_registration_checks_everything_at_once(portal: Platform) -> None:
    with portal.store.session() as session, pytest.raises(ValidationFailed) as failed:
        developers.register_developer(
            session, {"username": "X", "display_name": "", "password": "short", "uscc": "91310000ABC"}
        )
    assert {"username", "display_name", "password", "uscc"} <= set(failed.value.problems)


def test_registration_creates_a_developer_without_organisation(portal: Platform) -> None:
    code = letter_uscc()
    user = register(portal, "acme_dev", organisation_name="某某数据科技有限公司", uscc=code.lower())
    with portal.store.session() as session:
        stored = session.get(User, user.id)
        assert stored is not None
        assert [r.role for r in stored.roles] == [Role.DEVELOPER.value]
        assert stored.organisation_id is None
        assert stored.password_hash is not None and PASSWORD not in stored.password_hash
        assert developers.developer_profile(session, stored) == {
            "organisation_name": "某某数据科技有限公司",
            "uscc": code,  # letter-initial code accepted, stored upper-case
        }
    with portal.store.session() as session, pytest.raises(Conflict):
        developers.register_developer(
            session, {"username": "acme_dev", "display_name": "x", "password": PASSWORD}
        )


def test_registration_through_the_api(live: str) -> None:
    body = {"username": "api_dev", "display_name": "API 开发者", "password": PASSWORD}
    answer = httpx.post(f"{live}/api/v1/open/developers", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["roles"] == ["developer"]
    again = httpx.post(f"{live}/api/v1/open/developers", json=body)
    assert again.status_code == 409
    bad = httpx.post(f"{live}/api/v1/open/developers", json=body | {"username": "api_dev2", "uscc": "123"})
    assert bad.status_code == 422 and "uscc" in bad.json()["error"]["problems"]


# --- keys -----------------------------------------------------------------------------------------


def test_key_lifecycle_through_the_service(portal: Platform, live: str) -> None:
    register(portal, "key_dev")
    headers = api_token(portal, "key_dev")
    created = httpx.post(f"{live}/api/v1/open/developer/keys", json={"name": "我的应用"}, headers=headers)
    assert created.status_code == 201, created.text
    issued = created.json()
    secret = issued["secret"]
    assert secret.startswith("gok_") and issued["daily_quota"] == portal.settings.open_key_daily_quota
    with portal.store.session() as session:  # only the digest is kept
        key = session.get(OpenKey, issued["id"])
        assert key is not None and key.digest == key_digest(secret)
        assert all(secret not in str(v) for v in (key.digest, key.display_prefix, key.name))
    listed = httpx.get(f"{live}/api/v1/open/developer/keys", headers=headers).json()
    assert [k["id"] for k in listed] == [issued["id"]] and "secret" not in listed[0]

    assert httpx.get(f"{live}/api/v1/open/whoami", headers={"Authorization": secret}).json()["kind"] == "key"
    bearer = httpx.get(f"{live}/api/v1/open/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert bearer.json()["username"] == "key_dev"

    # only operators set limits
    raised = httpx.post(
        f"{live}/api/v1/open/developer/keys", json={"name": "more", "daily_quota": 10**6}, headers=headers
    )
    assert raised.status_code == 403

    revoked = httpx.post(f"{live}/api/v1/open/developer/keys/{issued['id']}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    refused = httpx.get(f"{live}/api/v1/open/whoami", headers={"Authorization": secret})
    assert refused.status_code == 401

    # another developer cannot revoke it (reported as not found)
    register(portal, "other_dev")
    other = api_token(portal, "other_dev")
    assert (
        httpx.post(f"{live}/api/v1/open/developer/keys/{issued['id']}/revoke", headers=other).status_code
        == 404
    )


def test_expired_key_is_refused(portal: Platform, live: str) -> None:
    register(portal, "expiring_dev")
    with portal.store.session() as session:
        user = session.scalar(sa.select(User).where(User.username == "expiring_dev"))
        assert user is not None
        key, secret = developers.issue_key(session, principal_of(user), "old", settings=portal.settings)
        key.expires_at = utcnow() - timedelta(minutes=1)
    assert httpx.get(f"{live}/api/v1/open/whoami", headers={"Authorization": secret}).status_code == 401
    assert (
        httpx.get(f"{live}/api/v1/open/whoami", headers={"Authorization": "gok_nonsense"}).status_code == 401
    )


def test_key_management_needs_a_user(live: str) -> None:
    assert httpx.get(f"{live}/api/v1/open/developer/keys").status_code == 401
    assert httpx.post(f"{live}/api/v1/open/developer/keys", json={"name": "x"}).status_code == 401


def test_daily_quota_and_rate_limit_answer_429_with_retry_after(portal: Platform, live: str) -> None:
    register(portal, "quota_dev")
    with portal.store.session() as session:
        _, small_quota = developers.issue_key(
            session,
            SYSTEM,
            "quota",
            settings=portal.settings,
            daily_quota=3,
            rate_per_s=100,
            username="quota_dev",
        )
        _, slow = developers.issue_key(
            session,
            SYSTEM,
            "slow",
            settings=portal.settings,
            daily_quota=1000,
            rate_per_s=1,
            username="quota_dev",
        )
    statuses = [
        httpx.get(f"{live}/api/v1/open/whoami", headers={"Authorization": small_quota}).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    over = httpx.get(f"{live}/api/v1/open/whoami", headers={"Authorization": small_quota})
    assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
    assert over.json()["error"]["code"] == "quota_exceeded"

    first = httpx.get(f"{live}/api/v1/open/whoami", headers={"Authorization": slow})
    second = httpx.get(f"{live}/api/v1/open/whoami", headers={"Authorization": slow})
    assert first.status_code == 200
    assert second.status_code == 429 and second.headers["Retry-After"] == "1"
    assert second.json()["error"]["code"] == "rate_limited"


def test_usage_per_key_per_day_and_channel(portal: Platform, live: str) -> None:
    register(portal, "usage_dev")
    headers = api_token(portal, "usage_dev")
    issued = httpx.post(f"{live}/api/v1/open/developer/keys", json={"name": "usage"}, headers=headers).json()
    with portal.store.session() as session:
        caller = authenticate(session, issued["secret"])
        dataset = open_dataset(session, dataset_name(ADDRESSES))
        for channel, rows in (("datastore_search", 10), ("datastore_search", 5), ("download", 100)):
            record_access(
                session, caller, dataset, channel=channel, fields=dataset.published_fields, rows=rows
            )
    usage = httpx.get(f"{live}/api/v1/open/developer/usage", headers=headers).json()
    (mine,) = usage
    assert mine["key"]["id"] == issued["id"] and mine["used_today"] >= 3
    assert mine["quota_left"] == mine["key"]["daily_quota"] - mine["used_today"]
    by_channel = {d["channel"]: (d["calls"], d["rows"]) for d in mine["days"]}
    assert by_channel == {"datastore_search": (2, 15), "download": (1, 100)}


def test_developer_page_registers_and_shows_keys(live: str) -> None:
    with httpx.Client(base_url=live, follow_redirects=True) as client:
        form = client.get("/open/developer")
        assert form.status_code == 200 and 'action="/open/developer/register"' in form.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        fields = {"csrf_token": token.group(1), "username": "page_dev", "display_name": "页面开发者"}
        short = client.post("/open/developer/register", data=fields | {"password": "short"})
        assert short.status_code == 422 and "page_dev" in short.text
        done = client.post("/open/developer/register", data=fields | {"password": PASSWORD})
        assert done.status_code == 200 and "page_dev" in done.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', done.text)
        assert token is not None
        made = client.post("/open/developer/keys", data={"csrf_token": token.group(1), "name": "页面密钥"})
        assert made.status_code == 201
        secret = re.search(r"(gok_[A-Za-z0-9_-]{20,})", made.text)
        assert secret is not None
        again = client.get("/open/developer")
        assert secret.group(1) not in again.text  # shown once
        assert "页面密钥" in again.text
        twin = client.get("/open/developer.json").json()
        assert twin["usage"][0]["key"]["name"] == "页面密钥"


def test_only_operators_issue_for_others(portal: Platform) -> None:
    register(portal, "nosy_dev")
    with portal.store.session() as session:
        user = session.scalar(sa.select(User).where(User.username == "nosy_dev"))
        assert user is not None
        with pytest.raises(PermissionDenied):
            developers.issue_key(
                session, principal_of(user), "x", settings=portal.settings, username="acme_dev"
            )
