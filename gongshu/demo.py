"""The demo city, end to end: schema, organisations, people, the synthetic city's sources and catalogue.

``gongshu demo`` calls :func:`build_demo` and then serves the pages. Everything is idempotent:
running it again on the same data directory adds only what is missing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue import entries
from gongshu.catalogue.models import CatalogEntry
from gongshu.catalogue.specs import DEFAULT_CODE_PATTERN, Status
from gongshu.city import CityResult, generate_city
from gongshu.city.catalogue import catalogue_documents, mount_documents, organisation_documents
from gongshu.collect import mounts
from gongshu.collect.models import Mount
from gongshu.collect.pipeline import BatchResult, run_mount
from gongshu.orgs import organisations, users
from gongshu.orgs.models import Organisation, User
from gongshu.orgs.roles import SYSTEM, Principal, Role
from gongshu.orgs.schemas import OrganisationCreate, UserCreate
from gongshu.platform import Platform

#: Printed by the demo; demo accounts exist only in demo data directories.
DEMO_PASSWORD = "gongshu-demo"
Progress = Callable[[str], None]


@dataclass
class DemoSummary:
    persons: int
    organisations: Counter[str] = field(default_factory=Counter)
    districts: int = 0
    users: list[tuple[str, str, str]] = field(default_factory=list)  # username, roles, organisation
    entries_by_status: Counter[str] = field(default_factory=Counter)
    city: CityResult | None = None
    batches: list[BatchResult] = field(default_factory=list)
    share: Any = None  # gongshu.share.demo.ShareSummary
    open: Any = None  # gongshu.open.demo.OpenSummary
    seconds: float = 0.0


def build_demo(
    platform: Platform, *, persons: int, seed: int = 20260101, progress: Progress | None = None
) -> DemoSummary:
    """Build (or top up) the demo city in ``platform``'s data directory."""
    started = time.perf_counter()
    say = progress or (lambda _message: None)
    summary = DemoSummary(persons=persons)
    say("organisations and people 机构与用户")
    with platform.store.session() as session:
        seed_organisations(session)
        _seed_users(session)
    say(f"synthetic city 合成城市: {persons:,} persons")
    summary.city = generate_city(platform.settings.data_dir / "city", persons=persons, seed=seed)
    say("resource catalogue 资源目录")
    with platform.store.session() as session:
        _seed_catalogue(session, platform.settings.resource_code_pattern)
        _summarise(session, summary)
    say("mount and collect 挂载与归集")
    summary.batches = collect_demo(platform, progress=say)
    say("sharing exchange 共享交换")
    from gongshu.share.demo import share_demo

    summary.share = share_demo(platform, password=DEMO_PASSWORD, progress=say)
    say("open-data portal 开放门户")
    from gongshu.open.demo import open_demo

    summary.open = open_demo(platform, password=DEMO_PASSWORD, progress=say)
    summary.seconds = time.perf_counter() - started
    return summary


def seed_organisations(session: Session) -> None:
    """The demo organisations that are missing (the data centre, departments, district bodies)."""
    existing = set(session.scalars(sa.select(Organisation.code)))
    documents = organisation_documents()
    # parents before children, so a district bureau can name its district office
    for doc in sorted(documents, key=lambda d: d.get("parent") is not None):
        if doc["code"] in existing:
            continue
        # the city's files call the division "district"; absent, the schema's default (the city) applies
        fields = {key: value for key, value in doc.items() if key != "district" and value is not None}
        if doc.get("district"):
            fields["division"] = str(doc["district"])
        organisations.create_organisation(session, SYSTEM, OrganisationCreate.model_validate(fields))


def demo_accounts(session: Session) -> list[UserCreate]:
    """One operator, a steward for every organisation, and one of each other government role."""
    accounts = [
        UserCreate(
            username="admin",
            display_name="平台管理员",
            password=DEMO_PASSWORD,
            organisation="DSJ",
            roles=[Role.OPERATOR, Role.SECURITY],
        ),
        UserCreate(
            username="security",
            display_name="安全管理员",
            password=DEMO_PASSWORD,
            organisation="DSJ",
            roles=[Role.SECURITY],
        ),
        UserCreate(
            username="huangpu_user",
            display_name="黄浦区用数人员",
            password=DEMO_PASSWORD,
            organisation="D310101",
            roles=[Role.CONSUMER],
        ),
        UserCreate(
            username="ga_reviewer",
            display_name="市公安局审核员",
            password=DEMO_PASSWORD,
            organisation="GA",
            roles=[Role.REVIEWER],
        ),
    ]
    for org in session.scalars(sa.select(Organisation).where(Organisation.kind != "center")):
        accounts.append(
            UserCreate(
                username=f"{org.code.lower().replace('-', '_')}_steward",
                display_name=f"{org.name}数据管理员",
                password=DEMO_PASSWORD,
                organisation=org.code,
                roles=[Role.STEWARD],
            )
        )
    return accounts


def _seed_users(session: Session) -> None:
    existing = set(session.scalars(sa.select(User.username)))
    known_orgs = set(session.scalars(sa.select(Organisation.code)))
    for account in demo_accounts(session):
        if account.username not in existing and (account.organisation in known_orgs):
            users.create_user(session, SYSTEM, account)


def _seed_catalogue(session: Session, code_pattern: str) -> None:
    """Stewards catalogue and submit their entries; the operator publishes them."""
    existing = set(session.scalars(sa.select(CatalogEntry.code)))
    operator = users.principal_of(users.get_user(session, "admin"))
    for document in catalogue_documents():
        if document["code"] not in existing:
            author = _steward_of(session, document["provider"])
            publish_entry(session, document, author=author, publisher=operator, code_pattern=code_pattern)


def publish_entry(
    session: Session,
    document: dict[str, Any],
    *,
    author: Principal = SYSTEM,
    publisher: Principal = SYSTEM,
    code_pattern: str = DEFAULT_CODE_PATTERN,
) -> CatalogEntry:
    """Create one catalogue entry from its document, submit it (``author``) and publish it (``publisher``)."""
    spec = entries.parse_spec(document)
    entry = entries.create_entry(session, author, spec, code_pattern=code_pattern)
    entries.transition(session, author, entry.code, "submit")
    return entries.transition(session, publisher, entry.code, "publish")


def collect_demo(platform: Platform, *, progress: Progress | None = None) -> list[BatchResult]:
    """Each department's steward mounts its sources (``city/data/mounts.yaml``) and runs one batch."""
    say = progress or (lambda _message: None)
    names: list[tuple[str, Principal]] = []
    with platform.store.session() as session:
        existing = set(session.scalars(sa.select(Mount.name)))
        for document in mount_documents():
            spec = mounts.parse_mount_spec(document)
            entry = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == spec.entry))
            if entry is None:
                continue
            steward = _steward_of(session, entry.provider.code)
            if spec.name not in existing:
                mounts.create_mount(session, steward, spec)
            names.append((spec.name, steward))
    results = []
    for name, steward in names:
        result = run_mount(platform, steward, name, trigger="demo")
        say(
            f"  {name}: read {result.rows_read:,} = written {result.rows_written:,}"
            f" + quarantined {result.rows_quarantined:,}"
            + (f" · 稽核得分 score {result.quality_score:.2f}" if result.quality_score is not None else "")
            + (f" · audit failed: {result.audit_error}" if result.audit_error else "")
        )
        results.append(result)
    return results


def _mean_score(batches: list[BatchResult]) -> str:
    scores = [b.quality_score for b in batches if b.quality_score is not None]
    return f"{sum(scores) / len(scores):.2f}" if scores else "—"


def _steward_of(session: Session, provider: str) -> Principal:
    username = f"{provider.lower().replace('-', '_')}_steward"
    user = session.scalar(sa.select(User).where(User.username == username))
    return users.principal_of(user) if user else SYSTEM


def _summarise(session: Session, summary: DemoSummary) -> None:
    kinds = sa.select(Organisation.kind, sa.func.count()).group_by(Organisation.kind)
    summary.organisations.update({kind: count for kind, count in session.execute(kinds)})
    summary.districts = len([d for d in organisations.list_divisions(session) if d.level == "district"])
    states = sa.select(CatalogEntry.status, sa.func.count()).group_by(CatalogEntry.status)
    summary.entries_by_status.update({status: count for status, count in session.execute(states)})
    summary.users = [
        (u.username, ",".join(r.role for r in u.roles), u.organisation.code if u.organisation else "")
        for u in session.scalars(sa.select(User).order_by(User.username))
    ]


def published_statuses() -> tuple[str, ...]:
    return (Status.PUBLISHED.value, Status.MOUNTED.value)


def summary_rows(summary: DemoSummary) -> list[tuple[str, Any]]:
    """The figures the CLI prints after the demo, label first."""
    city = summary.city
    return [
        ("委办局 departments", summary.organisations.get("department", 0)),
        ("区 district bodies", summary.organisations.get("district", 0)),
        ("行政区 districts", summary.districts),
        ("用户 users", len(summary.users)),
        ("资源目录 catalogue entries", sum(summary.entries_by_status.values())),
        ("已发布 published", sum(summary.entries_by_status[s] for s in published_statuses())),
        ("合成人口 persons", f"{summary.persons:,}"),
        ("源系统 source tables/files", len(city.sources) if city else 0),
        ("源记录 source records", f"{sum(s.rows for s in city.sources):,}" if city else 0),
        ("开放数据源 open-data sources", len(city.open_sources) if city else 0),
        ("开放数据记录 open-data records", f"{sum(s.rows for s in city.open_sources):,}" if city else 0),
        ("归集批次 batches", len(summary.batches)),
        ("读入 read", f"{sum(b.rows_read for b in summary.batches):,}"),
        ("写入标准库 written", f"{sum(b.rows_written for b in summary.batches):,}"),
        ("问题数据 quarantined", f"{sum(b.rows_quarantined for b in summary.batches):,}"),
        ("稽核得分 mean quality score", _mean_score(summary.batches)),
        ("共享授权 sharing grants", ", ".join(summary.share.grants) if summary.share else "—"),
        ("核验与查询 verify/query", summary.share.answers if summary.share else "—"),
        ("落地 landed rows", f"{summary.share.landed_rows:,}" if summary.share else "—"),
        ("确认函 monthly letter", summary.share.letter if summary.share else "—"),
        ("市民可见访问 citizen's accesses", summary.share.citizen_accesses if summary.share else "—"),
        ("开放数据集 open datasets (published)", _open_datasets(summary.open)),
        ("开发者调用 developer's CKAN calls", summary.open.calls if summary.open else "—"),
        ("有条件开放 conditional application", _open_application(summary.open)),
        ("耗时 seconds", f"{summary.seconds:.1f}"),
    ]


def _open_datasets(summary: Any) -> str:
    if summary is None:
        return "—"
    published = f"{summary.published} published, {summary.published_rows:,} rows"
    return f"{summary.datasets} ({published}, {summary.overdue} overdue)"


def _open_application(summary: Any) -> str:
    if summary is None:
        return "—"
    return (
        f"{summary.application} approved: {summary.credential_rows:,} rows of "
        f"{', '.join(summary.credential_fields)}; another dataset → {summary.refused_elsewhere}"
    )
