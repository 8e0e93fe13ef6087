"""Deny by default, and no leaks: 10,000 randomised attempts against the exchange's grant rules.

Each attempt is one of: another consumer's grant, an expired, revoked, suspended or frozen grant,
a person of another district, 信息项 outside the grant, another scenario's name — mixed with
legitimate calls. Every refusal must carry its code and no data; every answer must hold only granted
信息项 of granted rows, masked by grade; and the call log must hold exactly one record per call.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from gongshu.platform import Platform
from gongshu.share import grants
from gongshu.share.exchange import call_log
from gongshu.share.lakesql import run_sql
from gongshu.share.models import Grant
from gongshu.share.runtime import Caller, Exchange, VerificationIndex, digest
from gongshu.store.base import utcnow
from tests.share.conftest import grant_for, people, principal

HUANGPU, XUHUI = "310101", "310104"
FIELDS = ["record_id", "id_number", "name", "sex_code", "district_code"]
ATTEMPTS = 10_000


@pytest.fixture(scope="module")
def world(share_platform: Platform) -> dict[str, object]:
    def api(scenario: str, consumer: str = "D310101") -> str:
        return grant_for(
            share_platform,
            consumer=consumer,
            scenario=scenario,
            method="接口",
            fields=FIELDS,
            rate_per_second=100_000,
            daily_quota=10_000_000,
        )

    codes = {
        "active": api("社区身份核验"),
        "other_scenario": api("养老服务资格核验"),
        "xuhui": api("徐汇社区核验", "D310104"),
        "expired": api("已过期场景"),
        "revoked": api("已撤销场景"),
        "suspended": api("已暂停场景"),
        "frozen": api("已冻结场景"),
        "table": grant_for(share_platform, scenario="库表场景", fields=FIELDS),  # 库表: no API
    }
    operator = principal(share_platform, "operator_t")
    with share_platform.store.session() as session:
        grants.change_status(session, operator, codes["revoked"], "revoke", reason="场景终止")
        grants.change_status(session, operator, codes["suspended"], "suspend", reason="安全检查")
        session.execute(
            sa.update(Grant)
            .where(Grant.code == codes["expired"])
            .values(expires_at=utcnow() - timedelta(minutes=1), updated_at=utcnow())
        )
        session.execute(
            sa.update(Grant)
            .where(Grant.code == codes["frozen"])
            .values(frozen_at=utcnow(), updated_at=utcnow())
        )
    huangpu = principal(share_platform, "d310101_consumer_t")
    xuhui = principal(share_platform, "d310104_consumer_t")
    return {
        "codes": codes,
        "huangpu": Caller(huangpu.name, huangpu.organisation_id, "D310101"),
        "xuhui": Caller(xuhui.name, xuhui.organisation_id, "D310104"),
        "own": people(share_platform, district=HUANGPU, n=40),
        "others": people(share_platform, other_than=HUANGPU, n=40),
    }


def test_ten_thousand_attempts_leak_nothing(share_platform: Platform, world: dict[str, object]) -> None:
    codes: dict[str, str] = world["codes"]  # type: ignore[assignment]
    huangpu: Caller = world["huangpu"]  # type: ignore[assignment]
    xuhui: Caller = world["xuhui"]  # type: ignore[assignment]
    own: list[tuple[str, str, str]] = world["own"]  # type: ignore[assignment]
    others: list[tuple[str, str, str]] = world["others"]  # type: ignore[assignment]
    exchange = Exchange(share_platform)
    exchange.start()
    log = call_log(share_platform)
    before = log.count()
    rng = random.Random(20261121)
    tally: dict[str, int] = {}
    leaks: list[str] = []
    own_ids = {p[0] for p in own}

    async def attempt(kind: str) -> None:
        person = rng.choice(own)
        values = {"id_number": person[0], "name": person[1]}
        if kind == "wrong_consumer":
            answer = await exchange.verify(xuhui, codes["active"], values)
            expect = "forbidden"
        elif kind in ("expired", "revoked", "suspended", "frozen"):
            if rng.random() < 0.5:
                answer = await exchange.verify(huangpu, codes[kind], values)
            else:
                answer = await exchange.query(huangpu, codes[kind], {"id_number": person[0]})
            expect = {
                "expired": "grant_expired",
                "revoked": "grant_revoked",
                "suspended": "grant_suspended",
                "frozen": "grant_frozen",
            }[kind]
        elif kind == "unknown_grant":
            answer = await exchange.verify(huangpu, f"SQ{rng.randrange(900000, 999999)}", values)
            expect = "forbidden"
        elif kind == "extra_fields":
            extra = rng.choice(["phone", "address", "marital_code", "education_code"])
            if rng.random() < 0.5:
                answer = await exchange.query(
                    huangpu, codes["active"], {"id_number": person[0]}, fields=[extra]
                )
            else:
                answer = await exchange.query(huangpu, codes["active"], {extra: "x"})
            expect = "fields_not_granted"
        elif kind == "extra_verify_field":
            values["phone"] = "13800000000"
            answer = await exchange.verify(huangpu, codes["active"], values)
            expect = "fields_not_granted"
        elif kind == "other_scenario":
            answer = await exchange.verify(huangpu, codes["active"], values, scenario="养老服务资格核验")
            expect = "scenario_mismatch"
        elif kind == "method":
            answer = await exchange.verify(huangpu, codes["table"], values)
            expect = "method_not_granted"
        elif kind == "other_district_verify":
            stranger = rng.choice(others)
            answer = await exchange.verify(
                huangpu, codes["active"], {"id_number": stranger[0], "name": stranger[1]}
            )
            if answer.status != 200 or answer.body.get("result") != "no_record":
                leaks.append(f"other district verified: {answer.body}")
            tally[kind] = tally.get(kind, 0) + 1
            return
        elif kind == "other_district_query":
            stranger = rng.choice(others)
            answer = await exchange.query(huangpu, codes["active"], {"id_number": stranger[0]})
            if answer.status != 200 or answer.body["rows"] or answer.body["total"]:
                leaks.append(f"other district queried: {answer.body}")
            tally[kind] = tally.get(kind, 0) + 1
            return
        else:  # legitimate
            answer = await exchange.verify(huangpu, codes["active"], values)
            if answer.body.get("result") != "match" or set(answer.body) != {"result", "label", "request_id"}:
                leaks.append(f"legitimate verification answered {answer.body}")
            tally[kind] = tally.get(kind, 0) + 1
            return
        tally[kind] = tally.get(kind, 0) + 1
        code = answer.body.get("error", {}).get("code")
        if answer.status < 400 or code != expect or set(answer.body) != {"error"}:
            leaks.append(f"{kind}: expected {expect}, got {answer.status} {answer.body}")

    kinds = [
        "wrong_consumer", "expired", "revoked", "suspended", "frozen", "unknown_grant", "extra_fields",
        "extra_verify_field", "other_scenario", "method", "other_district_verify", "legitimate",
    ]  # fmt: skip

    async def run_all() -> None:
        plan = [rng.choice(kinds) for _ in range(ATTEMPTS - 200)]
        plan += ["other_district_query"] * 200  # queries run DuckDB: a smaller share keeps it quick
        for start in range(0, len(plan), 64):  # 64 at a time, as concurrent callers would
            await asyncio.gather(*(attempt(kind) for kind in plan[start : start + 64]))

    asyncio.run(run_all())
    assert not leaks, leaks[:5]
    assert sum(tally.values()) == ATTEMPTS
    assert all(tally.get(k, 0) > 300 for k in kinds), tally
    assert log.count() - before == ATTEMPTS  # exactly one record per answered call
    # a legitimate query: granted 信息项 only, own district only, masked by grade
    answer = asyncio.run(exchange.query(huangpu, codes["active"], {"district_code": HUANGPU}, limit=1000))
    exchange.stop()
    assert answer.status == 200
    rows = answer.body["rows"]
    assert rows and all(set(r) == set(FIELDS) for r in rows)
    assert all(r["district_code"] == HUANGPU for r in rows)
    assert not own_ids & {r["id_number"] for r in rows}  # 核心 ID numbers never leave in clear


def test_lake_sql_sees_only_the_granted_view(share_platform: Platform, world: dict[str, object]) -> None:
    codes: dict[str, str] = world["codes"]  # type: ignore[assignment]
    huangpu = principal(share_platform, "d310101_consumer_t")
    sql_grant = codes["table"]
    answer = run_sql(
        share_platform, huangpu, sql_grant, "SELECT district_code, count(*) FROM granted GROUP BY 1"
    )
    assert answer.rows == [(HUANGPU, answer.rows[0][1])]
    assert run_sql(share_platform, huangpu, sql_grant, "SELECT * FROM granted LIMIT 1").columns == FIELDS
    for hostile in (
        "SELECT * FROM read_parquet('/etc/passwd')",
        "SELECT * FROM ga_population_raw",
        "COPY granted TO '/tmp/x.csv'",
        "SELECT 1; SELECT 2",
        "ATTACH '/tmp/x.db' AS x",
        "SET enable_external_access = true",
    ):
        with pytest.raises(Exception) as refused:
            run_sql(share_platform, huangpu, sql_grant, hostile)
        assert getattr(refused.value, "code", "") == "validation", hostile
    xuhui = principal(share_platform, "d310104_consumer_t")
    with pytest.raises(Exception) as other:
        run_sql(share_platform, xuhui, sql_grant, "SELECT * FROM granted")
    assert getattr(other.value, "reason", "") == "forbidden"


def test_revocation_takes_effect_within_the_refresh_interval(share_platform: Platform) -> None:
    code = grant_for(share_platform, method="接口", fields=FIELDS, scenario="撤销时效测试")
    caller_p = principal(share_platform, "d310101_consumer_t")
    caller = Caller(caller_p.name, caller_p.organisation_id, "D310101")
    (id_number, name, _), *_ = people(share_platform, district=HUANGPU, n=1)
    exchange = Exchange(share_platform)
    exchange.index.refresh_s = 0.2
    exchange.start()
    try:
        first = asyncio.run(exchange.verify(caller, code, {"id_number": id_number, "name": name}))
        assert first.body["result"] == "match"
        with share_platform.store.session() as session:
            grants.change_status(
                session, principal(share_platform, "operator_t"), code, "revoke", reason="撤销"
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            answer = asyncio.run(exchange.verify(caller, code, {"id_number": id_number, "name": name}))
            if answer.status == 403:
                break
            time.sleep(0.05)
        assert answer.body["error"]["code"] == "grant_revoked"
    finally:
        exchange.stop()


def test_verification_does_the_same_work_for_every_answer() -> None:
    secret = b"k" * 32
    index = VerificationIndex(
        {f"31010119900101{i:04d}": digest(secret, [f"名{i}"]) for i in range(50_000)}, secret
    )
    cases = {
        "match": ("310101199001010042", ["名42"]),
        "mismatch": ("310101199001010042", ["名43"]),
        "no_record": ("310101199001019999X", ["名42"]),
    }
    assert {k: index.check(*v) for k, v in cases.items()} == {k: k for k in cases}
    samples: dict[str, list[int]] = {k: [] for k in cases}
    clock = time.perf_counter_ns
    for _ in range(20_000):
        for kind, (key, values) in cases.items():  # interleaved, so machine noise hits all alike
            t = clock()
            index.check(key, values)
            samples[kind].append(clock() - t)
    medians = {k: statistics.median(v) for k, v in samples.items()}
    assert max(medians.values()) / min(medians.values()) < 1.3, medians


def test_rate_limit_and_daily_quota_answer_429_with_retry_after(share_platform: Platform) -> None:
    code = grant_for(
        share_platform, method="接口", fields=FIELDS, scenario="配额测试", rate_per_second=5, daily_quota=12
    )
    caller_p = principal(share_platform, "d310101_consumer_t")
    caller = Caller(caller_p.name, caller_p.organisation_id, "D310101")
    (id_number, name, _), *_ = people(share_platform, district=HUANGPU, n=1)
    exchange = Exchange(share_platform)
    exchange.start()
    values = {"id_number": id_number, "name": name}

    async def burst(n: int) -> list[int]:
        return [(await exchange.verify(caller, code, values)).status for _ in range(n)]

    first = asyncio.run(burst(8))
    assert first[:5] == [200] * 5 and 429 in first[5:]
    limited = asyncio.run(exchange.verify(caller, code, values))
    assert limited.status == 429 and limited.body["error"]["code"] == "rate_limited"
    assert limited.headers["Retry-After"] == "1"
    answered = first.count(200)
    while answered < 12:
        time.sleep(0.25)
        answered += asyncio.run(burst(1)).count(200)
    time.sleep(1.1)
    over = asyncio.run(exchange.verify(caller, code, values))
    assert over.status == 429 and over.body["error"]["code"] == "quota_exceeded"
    assert 1 <= int(over.headers["Retry-After"]) <= 86_400
    exchange.stop()
