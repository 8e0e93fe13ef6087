"""The demo city's sharing story, end to end, through the same library calls the pages, API and CLI make.

1. 黄浦区 (``huangpu_user``) files two demands for 公安's 实有人口基本信息 (有条件共享), scoped to
   its own district: one by 接口 (verification and query) and one by 库表 (landing);
2. 公安's reviewer (``ga_reviewer``) approves both within the working-day clock, then the platform
   (``admin``) approves: two grants;
3. 黄浦区 verifies and queries through the exchange and receives its landing into files;
4. the platform returns 黄浦区's rows to its district store (属地返还), reconciled;
5. the previous month's confirmation letter is prepared and 黄浦区 confirms it (PDF under
   ``share/letters``);
6. a citizen (``citizen``, living in 黄浦区) sees who accessed their data.

The demands start on the first day of the previous month, so that a finished month — and with it a
monthly letter — exists on the demo's first day. Idempotent: a second run adds nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from gongshu.catalogue.specs import ShareMethod
from gongshu.orgs import users
from gongshu.orgs.models import Organisation, User
from gongshu.orgs.roles import SYSTEM, Principal, Role
from gongshu.orgs.schemas import UserCreate
from gongshu.platform import Platform
from gongshu.quality.calendar import month_bounds, shift_month
from gongshu.share import citizens, confirmation, demands, landing, returns
from gongshu.share.exchange import call_log
from gongshu.share.models import Delivery, Demand, Grant
from gongshu.share.runtime import Caller, Exchange
from gongshu.share.slice import CURRENT_VIEW, slice_of
from gongshu.share.specs import Decision, DemandCreate, RowScope
from gongshu.store.base import city_today

POPULATION = "101001001/000001"
CONSUMER, REVIEWER, OPERATOR, CITIZEN = "huangpu_user", "ga_reviewer", "admin", "citizen"
FIELDS = ["record_id", "id_number", "name", "sex_code", "birth_date", "district_code", "address"]
SCENARIOS = {
    ShareMethod.API: ("社区事务受理身份核验", "居民到社区事务受理服务中心办理业务时核验身份，减少证明材料"),
    ShareMethod.TABLE: ("社区网格化人口服务", "街道网格员开展人口走访、为老服务，需按日更新本区实有人口"),
}
LEGAL_BASIS = "《上海市数据条例》第三十三条；《上海市公共数据共享管理办法》"
Progress = Callable[[str], None]


@dataclass
class ShareSummary:
    grants: list[str] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    landed_rows: int = 0
    returned: list[str] = field(default_factory=list)
    letter: str | None = None
    citizen_accesses: int = 0


def share_demo(platform: Platform, *, password: str, progress: Progress | None = None) -> ShareSummary:
    """Run the demo's sharing story (see the module docstring)."""
    say = progress or (lambda _message: None)
    summary = ShareSummary()
    settings = platform.settings
    month_before = shift_month(city_today().strftime("%Y-%m"), -1)
    start = month_bounds(month_before)[0].date()
    with platform.store.session() as session:
        consumer = users.principal_of(users.get_user(session, CONSUMER))
        reviewer = users.principal_of(users.get_user(session, REVIEWER))
        operator = users.principal_of(users.get_user(session, OPERATOR))
        existing = {
            d.method: d.code
            for d in session.scalars(sa.select(Demand).where(Demand.created_by == consumer.name))
        }
    for method, (scenario, purpose) in SCENARIOS.items():
        code = existing.get(method.value)
        if code is None:
            spec = DemandCreate(
                entry=POPULATION,
                scenario=scenario,
                purpose=purpose,
                legal_basis=LEGAL_BASIS,
                fields=FIELDS,
                row_scope=RowScope.DISTRICT,
                method=method,
                period_start=start,
                period_end=start + timedelta(days=365),
                daily_quota=50_000,
                rate_per_second=200,
            )
            with platform.store.session() as session:
                code = demands.file_demand(session, consumer, spec, settings=settings, today=start).code
            say(f"  黄浦区 filed demand {code} ({method.value}, {scenario}) → 待公安局审核")
            with platform.store.session() as session:
                demand = demands.decide(
                    session, reviewer, code, Decision(approve=True, reason="场景合理，同意共享本区数据"),
                    settings=settings, today=start + timedelta(days=2),
                )  # fmt: skip
                say(f"  公安局 approved {code} on day 2 (deadline {demand.provider_due}) → 待平台审核")
            with platform.store.session() as session:
                demands.decide(
                    session, operator, code, Decision(approve=True, reason="同意"), settings=settings
                )
        with platform.store.session() as session:
            grant = session.scalar(
                sa.select(Grant).join(Demand, Grant.demand_id == Demand.id).where(Demand.code == code)
            )
            assert grant is not None
            summary.grants.append(grant.code)
    api_grant, table_grant = summary.grants
    person = citizen_person(platform)
    summary.answers = _calls(platform, consumer.organisation_id, api_grant, person)
    say(f"  黄浦区 verification and query calls: {summary.answers}")
    summary.landed_rows = _landing(platform, consumer, table_grant)
    say(f"  landing 落地 to files: {summary.landed_rows:,} rows in total")
    results = returns.district_return_to_folders(
        platform, operator, POPULATION, settings.data_dir / "share" / "return"
    )
    summary.returned = [
        f"{r.district}: {r.target_rows or 0:,} rows, {'reconciled' if r.reconciled else 'DIFFERENCE'}"
        for r in results
    ]
    say(f"  district return 属地返还: {'; '.join(summary.returned) or 'none'}")
    summary.letter = _letter(platform, consumer, month_before)
    say(f"  confirmation letter 确认函 {month_before}: {summary.letter}")
    summary.citizen_accesses = _citizen(platform, password, person)
    say(f"  citizen 市民 sees {summary.citizen_accesses} accesses to their data")
    return summary


def citizen_person(platform: Platform) -> tuple[str, str]:
    """The demo citizen: the first 黄浦区 resident of the population resource (id_number, name)."""
    from gongshu.engine import connect
    from gongshu.lake import open_lake

    with platform.store.session() as session:
        grant = session.scalar(sa.select(Grant).where(Grant.district_code == "310101").order_by(Grant.id))
        assert grant is not None
        granted = slice_of(session, grant)
    with connect() as con:
        granted.register(open_lake(platform.settings), con)
        row = con.execute(
            f"SELECT id_number, name FROM {CURRENT_VIEW} WHERE district_code = '310101' "  # noqa: S608
            "AND id_number IS NOT NULL ORDER BY record_id LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


def _calls(platform: Platform, org_id: int | None, code: str, person: tuple[str, str]) -> dict[str, int]:
    id_number, name = person
    with platform.store.session() as session:
        org = session.get(Organisation, org_id)
        caller = Caller(f"user:{CONSUMER}", org_id, org.code if org else "")
    exchange = Exchange(platform)
    exchange.index.load_one(code)
    exchange.seed_meter()

    async def run() -> dict[str, int]:
        answers: dict[str, int] = {}
        for values in (
            {"id_number": id_number, "name": name},
            {"id_number": id_number, "name": name + "某"},
            {"id_number": "310101190001010017", "name": name},
        ):
            answer = await exchange.verify(caller, code, values)
            key = str(answer.body.get("result", answer.status))
            answers[f"verify:{key}"] = answers.get(f"verify:{key}", 0) + 1
        found = await exchange.query(caller, code, {"id_number": id_number})
        answers["query:rows"] = len(found.body.get("rows", []))
        return answers

    return asyncio.run(run())


def _landing(platform: Platform, consumer: Principal, code: str) -> int:
    with platform.store.session() as session:
        delivery = session.scalar(
            sa.select(Delivery).join(Grant).where(Grant.code == code, Delivery.purpose == "landing")
        )
        if delivery is None:
            delivery = landing.create_delivery(
                session, consumer, code, kind="files", target="share/landing/huangpu", table="population",
                subscribed=True,
            )  # fmt: skip
        delivery_id = delivery.id
    run = landing.run_delivery(platform, consumer, delivery_id, trigger="demo")
    return int(run.target_rows or 0)


def _letter(platform: Platform, consumer: Principal, month: str) -> str:
    with platform.store.session() as session:
        confirmation.prepare_letters(session, month)
    with platform.store.session() as session:
        org = session.get(Organisation, consumer.organisation_id)
        assert org is not None
        row = confirmation.get_confirmation(session, consumer, org.code, month)
        if row.status != "confirmed":
            confirmation.confirm(session, consumer, org.code, month, log=call_log(platform))
        content = confirmation.letter(session, consumer, org.code, month, log=call_log(platform))
    folder = platform.settings.data_dir / "share" / "letters"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / confirmation.letter_filename(org.code, month)
    try:
        target.write_bytes(confirmation.letter_pdf(content))
    except Exception as error:  # no Chromium: the letter page and its confirmation still work
        return f"confirmed (PDF not printed: {error})"
    return f"confirmed, PDF {target}"


def _citizen(platform: Platform, password: str, person: tuple[str, str]) -> int:
    id_number, name = person
    with platform.store.session() as session:
        if session.scalar(sa.select(User).where(User.username == CITIZEN)) is None:
            account = UserCreate(
                username=CITIZEN, display_name=f"市民{name[0]}某", password=password, roles=[Role.CITIZEN]
            )
            users.create_user(session, SYSTEM, account)
            citizens.bind_identity(session, SYSTEM, CITIZEN, id_number, settings=platform.settings)
    with platform.store.session() as session:
        me = users.principal_of(users.get_user(session, CITIZEN))
    return len(citizens.accesses_of(platform, me))
