"""Fixtures of the open portal: a private copy of the demo city per test module, and portal users.

``portal`` copies the session's demo city (3,000 persons, every source collected and published)
into a fresh data directory, so tests can register developers, file applications and moderate
showcases without touching the demo other packages read.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from gongshu.config import Settings
from gongshu.orgs import users
from gongshu.orgs.models import User
from gongshu.orgs.roles import SYSTEM, Principal, Role
from gongshu.orgs.schemas import UserCreate
from gongshu.platform import Platform, open_platform
from gongshu.share.exchange import close_call_logs
from tests.demo_city import Demo

ADDRESSES = "103001001/000001"  # 标准地址信息 (GHZY, 无条件开放, mounted)
ENTERPRISES = "102001001/000001"  # 市场主体登记信息 (SCJG, 有条件开放, mounted; legal_rep_id_number is 重要)
NOT_OPEN = "101001001/000001"  # 实有人口基本信息 (GA, 不予开放)
PASSWORD = "gongshu-test-password"


@pytest.fixture(scope="module")
def portal(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A private copy of the demo city for one test module."""
    target = tmp_path_factory.mktemp("open") / "data"
    shutil.copytree(demo.data_dir, target, ignore=shutil.ignore_patterns("share"))
    platform = open_platform(Settings(data_dir=target, demo=True), migrate=True)
    yield platform
    close_call_logs()
    platform.close()


def portal_user(
    platform: Platform, username: str, roles: list[Role], organisation: str | None = None
) -> Principal:
    """A user with ``roles`` (created once), e.g. a developer or a department's reviewer."""
    with platform.store.session() as session:
        if session.scalar(sa.select(User).where(User.username == username)) is None:
            users.create_user(
                session,
                SYSTEM,
                UserCreate(
                    username=username,
                    display_name=username,
                    password=PASSWORD,
                    organisation=organisation,
                    roles=roles,
                ),
            )
        return users.principal_of(users.get_user(session, username))
