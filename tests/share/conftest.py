"""Fixtures of the sharing exchange: a private copy of the demo city and grants made the real way.

``share_platform`` copies the session's demo city (3,000 persons, every source collected) into a
fresh data directory per test module, so sharing tests can file demands, approve them and freeze
grants without touching the demo other packages read. :func:`grant_for` files a demand as the
consuming department's user, approves it as the provider's reviewer and the platform's operator
(the 有条件共享 path), and returns the grant's code.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from gongshu.catalogue.models import CatalogEntry
from gongshu.config import Settings
from gongshu.orgs import users
from gongshu.orgs.models import User
from gongshu.orgs.roles import Principal, Role
from gongshu.orgs.schemas import UserCreate
from gongshu.platform import Platform, open_platform
from gongshu.share import demands
from gongshu.share.exchange import close_call_logs
from gongshu.share.models import Demand, Grant
from gongshu.share.specs import Decision, DemandCreate
from gongshu.store.base import city_today
from tests.demo_city import Demo

POPULATION = "101001001/000001"  # 实有人口基本信息 (GA, 有条件共享, 接口 + 库表, has district_code)
ENTERPRISES = "102001001/000001"  # 市场主体登记信息 (SCJG, 无条件共享)


@pytest.fixture(scope="module")
def share_platform(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A private copy of the demo city for one test module."""
    target = tmp_path_factory.mktemp("share") / "data"
    shutil.copytree(demo.data_dir, target, ignore=shutil.ignore_patterns("share"))
    platform = open_platform(Settings(data_dir=target, demo=True), migrate=True)
    yield platform
    close_call_logs()
    platform.close()


def principal(platform: Platform, username: str) -> Principal:
    with platform.store.session() as session:
        return users.principal_of(users.get_user(session, username))


def ensure_user(platform: Platform, username: str, organisation: str, roles: list[Role]) -> Principal:
    """A user of ``organisation`` with ``roles`` (created once)."""
    with platform.store.session() as session:
        if session.scalar(sa.select(User).where(User.username == username)) is None:
            users.create_user(
                session,
                Principal("system", frozenset({Role.OPERATOR})),
                UserCreate(
                    username=username,
                    display_name=username,
                    password="gongshu-test-password",
                    organisation=organisation,
                    roles=roles,
                ),
            )
    return principal(platform, username)


def grant_for(
    platform: Platform,
    *,
    consumer: str = "D310101",
    entry: str = POPULATION,
    fields: list[str] | None = None,
    row_scope: str = "district",
    method: str = "库表",
    scenario: str = "社区人口服务",
    days: int = 90,
    **extra: Any,
) -> str:
    """File, review and grant a demand the real way; the grant's code."""
    with platform.store.session() as session:
        found = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == entry))
        provider = found.provider.code if found is not None else None
    assert provider is not None, entry
    consumer_user = ensure_user(platform, f"{consumer.lower()}_consumer_t", consumer, [Role.CONSUMER])
    reviewer = ensure_user(platform, f"{provider.lower()}_reviewer_t", provider, [Role.REVIEWER])
    operator = ensure_user(platform, "operator_t", "DSJ", [Role.OPERATOR])
    spec = DemandCreate(
        entry=entry,
        scenario=scenario,
        purpose="为辖区居民办理公共服务核验身份信息",
        legal_basis="《上海市公共数据管理办法》第二十条",
        fields=fields
        or ["record_id", "id_number", "name", "sex_code", "birth_date", "district_code", "address"],
        row_scope=row_scope,
        method=method,
        period_start=city_today(),
        period_end=city_today() + timedelta(days=days),
        **extra,
    )
    settings = platform.settings
    with platform.store.session() as session:
        demand = demands.file_demand(session, consumer_user, spec, settings=settings)
        code = demand.code
    with platform.store.session() as session:
        if demands.get_demand(session, operator, code).status == "provider_review":
            demands.decide(session, reviewer, code, Decision(approve=True, reason="同意"), settings=settings)
    with platform.store.session() as session:
        if demands.get_demand(session, operator, code).status == "platform_review":
            demands.decide(session, operator, code, Decision(approve=True, reason="同意"), settings=settings)
    with platform.store.session() as session:
        grant = session.scalar(
            sa.select(Grant.code).join(Demand, Grant.demand_id == Demand.id).where(Demand.code == code)
        )
    assert grant is not None, f"demand {code} was not granted"
    return grant


def today() -> date:
    return city_today()


def token_for(platform: Platform, username: str) -> str:
    """A fresh API token of ``username`` (its secret)."""
    from gongshu.orgs.schemas import TokenCreate
    from gongshu.orgs.tokens import issue_token

    actor = principal(platform, username)
    with platform.store.session() as session:
        return issue_token(session, actor, TokenCreate(name="share-test")).secret


def people(
    platform: Platform, *, district: str | None = None, other_than: str | None = None, n: int = 5
) -> list[tuple[str, str, str]]:
    """``n`` current (id_number, name, district_code) rows of the population resource, from the lake."""
    from gongshu.collect.stage import current_state_sql
    from gongshu.engine import connect
    from gongshu.lake import open_lake
    from gongshu.lake.specs import TableRef, Zone

    with connect() as con:
        open_lake(platform.settings).view(con, TableRef(Zone.STANDARD, "ga_population"), "changes")
        where = "id_number IS NOT NULL AND name IS NOT NULL"
        params: list[str] = []
        if district:
            where += " AND district_code = ?"
            params.append(district)
        if other_than:
            where += " AND district_code <> ?"
            params.append(other_than)
        current = current_state_sql("changes", ["record_id"])
        sql = f"SELECT id_number, name, district_code FROM ({current}) WHERE {where} ORDER BY record_id LIMIT {n}"  # noqa: E501
        return [(str(a), str(b), str(c)) for a, b, c in con.execute(sql, params).fetchall()]
