"""Bulk delivery (落地) and district return (属地返还): the granted slice, incrementally, into another store.

A delivery is one target of one grant: a PostgreSQL or MariaDB table, or a folder of Parquet files.
Each run reads the resource's standard-zone change log after the delivery's checkpoint (the last
``_batch_seq`` delivered), reduces it to each key's latest change and writes the granted slice of it:
only the granted 信息项, masked as the grant says, only the granted rows — :class:`GrantSlice`
compiles all of that, nothing here decides it again. Rows deleted at source and rows that left the
granted scope become deletes. The checkpoint is written into the target in the same transaction as
the rows (the ``_gongshu_landing`` table, or the folder's ``manifest.json`` replaced atomically) and
the target's checkpoint wins on resume: a crash between the target and the metadata store neither
re-delivers nor loses a change.

Every run then reconciles (对账) the source's current granted slice with the target: row counts and
an order-independent SHA-256 over the rows' digests. A difference is reported on the run — how many
keys are missing, extra or changed, with a few example keys — never repaired silently
(``full=True`` re-delivers everything). A grant that is not active, or whose share method is not
库表 / 文件, delivers nothing: the run fails with the refusal code. Every run leaves one call-log
record and one ``share.delivery.run`` audit event (counts only). See docs/share-landing.md.

Example::

    delivery = create_delivery(session, consumer, "SQ000001", kind="postgresql",
                               target="postgresql+psycopg://etl@10.0.0.5/huangpu", table="population")
    run = run_delivery(platform, consumer, delivery.id)
    assert run.reconciled
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, object_session

from gongshu.engine import connect
from gongshu.errors import Conflict, GongshuError, NotFound, PermissionDenied, ValidationFailed
from gongshu.lake import open_lake
from gongshu.orgs.roles import Principal, Role
from gongshu.platform import Platform
from gongshu.security import audit
from gongshu.share import grants
from gongshu.share.calllog import CallRecord
from gongshu.share.errors import DENIAL_REASONS, ShareDenied
from gongshu.share.exchange import call_log, subject_key
from gongshu.share.landing_source import (
    KeyCodec,
    Reconciliation,
    Source,
    reconcile,
)
from gongshu.share.landing_targets import TargetUnavailable, open_target
from gongshu.share.models import Delivery, DeliveryRun, Grant
from gongshu.share.slice import GrantSlice, slice_of
from gongshu.share.specs import METHOD_APIS, Api, RowScope
from gongshu.store.base import utcnow

KINDS = ("postgresql", "mariadb", "files")
PURPOSES = ("landing", "return")
#: The SQLAlchemy driver each database kind must name in its URL.
DRIVERS = {"postgresql": "postgresql+psycopg", "mariadb": "mysql+pymysql"}
TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: Target passwords live in environment variables of this shape, so a delivery cannot name a secret.
PASSWORD_ENV = re.compile(r"^GONGSHU_TARGET_[A-Z0-9_]{1,80}$")
#: Exit status of ``gongshu share delivery run`` when source and target do not reconcile.
NOT_RECONCILED_EXIT = 9
_REFUSALS = {
    "suspended": "grant_suspended",
    "revoked": "grant_revoked",
    "frozen": "grant_frozen",
    "expired": "grant_expired",
    "not_yet_valid": "grant_not_yet_valid",
}


# -- schemas -----------------------------------------------------------------------------------


class DeliveryCreate(BaseModel):
    """A landing (落地) or district return (属地返还) target for a grant."""

    model_config = ConfigDict(extra="forbid")

    grant: str = Field(max_length=20, description="授权编号, e.g. SQ000001")
    kind: Literal["postgresql", "mariadb", "files"]
    target: str = Field(
        min_length=1,
        max_length=2000,
        description="postgresql+psycopg://user@host/db, mysql+pymysql://user@host/db (no password), "
        "or a folder (relative to the data directory)",
    )
    table: str = Field(max_length=63, description="target table (or file) name: a-z, 0-9, _")
    purpose: Literal["landing", "return"] = "landing"
    password_env: str | None = Field(
        default=None,
        max_length=100,
        description="environment variable holding the password, GONGSHU_TARGET_…",
    )
    subscribed: bool = Field(default=False, description="push the delta after every collected batch (订阅)")


class DeliveryRunPublic(BaseModel):
    id: int
    delivery: int
    trigger: str
    state: str
    started_at: datetime
    finished_at: datetime | None
    from_seq: int
    to_seq: int
    rows_upserted: int
    rows_deleted: int
    source_rows: int | None
    target_rows: int | None
    source_hash: str | None
    target_hash: str | None
    reconciled: bool | None
    detail: dict[str, Any]
    error: str | None


class DeliveryPublic(BaseModel):
    id: int
    grant: str
    grant_state: str
    consumer: str
    provider: str
    entry: str
    purpose: str
    kind: str
    target: str
    table: str
    password_env: str | None
    subscribed: bool
    active: bool
    checkpoint: int
    created_by: str
    created_at: datetime
    last_run: DeliveryRunPublic | None
    runs: list[DeliveryRunPublic] = Field(default_factory=list)


@dataclass(frozen=True)
class DistrictResult:
    """One district's share of a district return: its grant, delivery, run and reconciliation."""

    district: str
    state: str  # done | failed | refused | no_grant (pending before its run)
    grant: str | None = None
    delivery: int | None = None
    table: str | None = None
    run: int | None = None
    rows_upserted: int = 0
    rows_deleted: int = 0
    source_rows: int | None = None
    target_rows: int | None = None
    source_hash: str | None = None
    target_hash: str | None = None
    reconciled: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def document(self) -> dict[str, Any]:
        return asdict(self)


def run_public(run: DeliveryRun) -> DeliveryRunPublic:
    return DeliveryRunPublic(
        id=run.id,
        delivery=run.delivery_id,
        trigger=run.trigger,
        state=run.state,
        started_at=run.started_at,
        finished_at=run.finished_at,
        from_seq=run.from_seq,
        to_seq=run.to_seq,
        rows_upserted=run.rows_upserted,
        rows_deleted=run.rows_deleted,
        source_rows=run.source_rows,
        target_rows=run.target_rows,
        source_hash=run.source_hash,
        target_hash=run.target_hash,
        reconciled=run.reconciled,
        detail=run.detail or {},
        error=run.error,
    )


def delivery_public(delivery: Delivery, *, runs: Sequence[DeliveryRun] = ()) -> DeliveryPublic:
    """A delivery with its last run (and ``runs``, newest first, when given)."""
    grant = delivery.grant
    session = object_session(delivery)
    last = None
    if session is not None:
        query = sa.select(DeliveryRun).where(DeliveryRun.delivery_id == delivery.id)
        last = session.scalar(query.order_by(DeliveryRun.id.desc()).limit(1))
    return DeliveryPublic(
        id=delivery.id,
        grant=grant.code,
        grant_state=grants.effective_state(grant),
        consumer=grant.consumer.code,
        provider=grant.provider.code,
        entry=grant.entry.code,
        purpose=delivery.purpose,
        kind=delivery.kind,
        target=delivery.target,
        table=delivery.table,
        password_env=delivery.password_env,
        subscribed=delivery.subscribed,
        active=delivery.active,
        checkpoint=delivery.checkpoint,
        created_by=delivery.created_by,
        created_at=delivery.created_at,
        last_run=run_public(last) if last is not None else None,
        runs=[run_public(r) for r in runs],
    )


# -- deliveries --------------------------------------------------------------------------------


def create_delivery(
    session: Session,
    actor: Principal,
    grant_code: str,
    *,
    kind: str,
    target: str,
    table: str,
    purpose: str = "landing",
    password_env: str | None = None,
    subscribed: bool = False,
) -> Delivery:
    """A new delivery target of a grant (audited).

    Landings are created by the consumer's users and operators, district returns by operators.
    Raises ValidationFailed for a bad target (every problem at once), ShareDenied when the grant is
    not active or its share method is not 库表 / 文件, Conflict when the target is already delivered to.
    """
    grant = grants.get_grant(session, actor, grant_code)
    if purpose not in PURPOSES:
        raise ValidationFailed({"purpose": [f"purpose is landing or return, not {purpose!r}"]})
    if not _may_deliver(actor, grant, purpose):
        raise PermissionDenied(
            "landing is for the consumer's users and operators; district returns for operators"
        )
    problems = _target_problems(actor, kind, target, table, password_env)
    if purpose == "return" and grant.row_scope != RowScope.DISTRICT:
        problems.setdefault("purpose", []).append(
            "属地返还 needs a district-scoped grant (row_scope district)"
        )
    if problems:
        raise ValidationFailed(problems)
    refusal = refusal_of(grant, purpose)
    if refusal is not None:
        raise _denied(refusal)
    if not slice_of(session, grant).key:
        raise ValidationFailed({"grant": ["the resource's mount declares no key: deliveries upsert by key"]})
    clash = session.scalar(
        sa.select(Delivery.id).where(
            Delivery.active.is_(True),
            Delivery.kind == kind,
            Delivery.target == target,
            Delivery.table == table,
        )
    )
    if clash is not None:
        raise Conflict(f"delivery {clash} already writes {table} at this target", value=clash)
    delivery = Delivery(
        grant_id=grant.id,
        purpose=purpose,
        kind=kind,
        target=target,
        password_env=password_env,
        table=table,
        subscribed=subscribed,
        checkpoint=0,
        created_by=actor.name,
    )
    session.add(delivery)
    session.flush()
    audit.record(
        session,
        actor=actor.name,
        action="share.delivery.create",
        object_type="share_delivery",
        object_id=delivery.id,
        detail={
            "grant": grant.code,
            "purpose": purpose,
            "kind": kind,
            "table": table,
            "subscribed": subscribed,
        },
    )
    return delivery


def get_delivery(session: Session, actor: Principal, delivery_id: int) -> Delivery:
    """A delivery its grant's consumer, provider, operators or security officers may see (else 404)."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or not grants.may_see(actor, delivery.grant):
        raise NotFound(f"no delivery {delivery_id}", value=delivery_id)
    return delivery


def list_deliveries(
    session: Session,
    actor: Principal,
    *,
    grant: str | None = None,
    purpose: str | None = None,
    limit: int = 200,
) -> list[Delivery]:
    """Deliveries the actor may see, newest first."""
    query = sa.select(Delivery).join(Grant, Delivery.grant_id == Grant.id).order_by(Delivery.id.desc())
    if not actor.has(Role.OPERATOR, Role.SECURITY):
        org = actor.organisation_id
        query = query.where(sa.or_(Grant.consumer_id == org, Grant.provider_id == org))
    if grant is not None:
        query = query.where(Grant.code == grant)
    if purpose is not None:
        query = query.where(Delivery.purpose == purpose)
    return list(session.scalars(query.limit(limit)).unique())


def delivery_runs(
    session: Session, actor: Principal, delivery_id: int, *, limit: int = 50
) -> list[DeliveryRun]:
    """A delivery's runs, newest first."""
    delivery = get_delivery(session, actor, delivery_id)
    query = sa.select(DeliveryRun).where(DeliveryRun.delivery_id == delivery.id)
    return list(session.scalars(query.order_by(DeliveryRun.id.desc()).limit(limit)))


def _may_deliver(actor: Principal, grant: Grant, purpose: str) -> bool:
    if actor.has(Role.OPERATOR):
        return True
    return (
        purpose == "landing"
        and actor.organisation_id is not None
        and actor.organisation_id == grant.consumer_id
    )


def _target_problems(
    actor: Principal, kind: str, target: str, table: str, password_env: str | None
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not TABLE_NAME.fullmatch(table):
        problems["table"] = ["a table name is a-z, then a-z 0-9 _ (at most 63 characters)"]
    if kind == "files":
        folder = Path(target)
        if folder.is_absolute() and not actor.has(Role.OPERATOR):
            problems["target"] = [
                "only operators deliver to absolute folders; give one relative to the data dir"
            ]
        elif ".." in folder.parts:
            problems["target"] = ["the folder may not climb out of the data directory (..)"]
        if password_env:
            problems["password_env"] = ["a folder takes no password"]
        return problems
    if kind not in DRIVERS:
        problems["kind"] = [f"kind is one of {', '.join(KINDS)}, not {kind!r}"]
        return problems
    problems.update(_url_problems(kind, target))
    if password_env is not None and not PASSWORD_ENV.fullmatch(password_env):
        problems["password_env"] = ["name an environment variable GONGSHU_TARGET_… (A-Z 0-9 _)"]
    return problems


def _url_problems(kind: str, target: str) -> dict[str, list[str]]:
    try:
        url = sa.engine.make_url(target)
    except (sa.exc.ArgumentError, ValueError):
        return {"target": ["not a database URL, e.g. postgresql+psycopg://user@host:5432/db"]}
    problems = []
    if url.drivername != DRIVERS[kind]:
        problems.append(f"a {kind} target's URL starts with {DRIVERS[kind]}://")
    if url.password is not None:
        problems.append("no password in the URL: put it in an environment variable named by password_env")
    if not url.database:
        problems.append("the URL names the database")
    return {"target": problems} if problems else {}


def _api(purpose: str) -> Api:
    return Api.RETURN if purpose == "return" else Api.LANDING


def refusal_of(grant: Grant, purpose: str) -> str | None:
    """The refusal code of a delivery under ``grant`` now, or None when it may deliver."""
    state = grants.effective_state(grant)
    if state != "active":
        return _REFUSALS.get(state, "forbidden")
    if _api(purpose) not in METHOD_APIS.get(grant.method, frozenset()):
        return "method_not_granted"
    return None


def _denied(reason: str) -> ShareDenied:
    zh, en = DENIAL_REASONS[reason]
    return ShareDenied(reason, f"{en} ({zh})")


# -- a run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What a run needs from the metadata store, read once under the delivery's lock."""

    delivery_id: int
    run_id: int
    actor: str
    purpose: str
    kind: str
    target: str
    table: str
    password_env: str | None
    store_checkpoint: int
    grant: str
    consumer: str
    scenario: str
    entry: str
    fields: tuple[str, ...]
    slice: GrantSlice | None  # None when refused
    refusal: str | None

    @property
    def api(self) -> Api:
        return _api(self.purpose)


@dataclass
class _Outcome:
    start: int
    to_seq: int
    full: bool
    upserted: int
    deleted: int
    subjects: tuple[str, ...]
    reconciliation: Reconciliation
    detail: dict[str, Any]


def run_delivery(
    platform: Platform, actor: Principal, delivery_id: int, *, trigger: str = "manual", full: bool = False
) -> DeliveryRun:
    """Deliver what changed since the checkpoint (everything with ``full``), then reconcile.

    Returns the finished run: ``state`` done, with ``reconciled`` False when source and target
    differ (see ``detail``). Raises ShareDenied when the grant refuses (the run is recorded as
    failed with the code), TargetUnavailable when the target failed (nothing committed there),
    Conflict when the delivery is running in another process.
    """
    with platform.store.session() as session:
        get_delivery(session, actor, delivery_id)  # 404 before anything is locked or recorded
    work = platform.settings.data_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    with _delivery_lock(work / f"delivery-{delivery_id}.lock", delivery_id):
        started = time.perf_counter()
        plan = _begin(platform, actor, delivery_id, trigger)
        if plan.refusal is not None:
            _log_call(platform, plan, started, rows=0, result=plan.refusal, status=403)
            raise _denied(plan.refusal)
        try:
            outcome = _deliver(platform, plan, full=full)
        except Exception as error:
            failure = as_failure(error)
            _fail(platform, plan, failure)
            _log_call(platform, plan, started, rows=0, result=failure.code, status=failure.http_status)
            if failure is error or not isinstance(error, sa.exc.SQLAlchemyError | OSError):
                raise
            raise failure from None  # the driver's text may quote values: only its first line is kept
        run = _finish(platform, plan, outcome)
        _log_call(
            platform, plan, started, rows=outcome.upserted, result="ok", status=200, subjects=outcome.subjects
        )
        return run


def _begin(platform: Platform, actor: Principal, delivery_id: int, trigger: str) -> Plan:
    with platform.store.session() as session:
        delivery = get_delivery(session, actor, delivery_id)
        grant = delivery.grant
        if not _may_deliver(actor, grant, delivery.purpose):
            raise PermissionDenied("running a delivery is for its consumer's users and operators")
        if not delivery.active:
            raise Conflict(f"delivery {delivery_id} is inactive", value=delivery_id)
        for stale in session.scalars(
            sa.select(DeliveryRun).where(
                DeliveryRun.delivery_id == delivery.id, DeliveryRun.state == "running"
            )
        ):
            stale.state, stale.finished_at = "failed", utcnow()
            stale.error = "interrupted: the target's checkpoint decides what the next run delivers"
        refusal = refusal_of(grant, delivery.purpose)
        run = DeliveryRun(
            delivery_id=delivery.id, trigger=trigger, from_seq=delivery.checkpoint, state="running"
        )
        if refusal is not None:
            zh, en = DENIAL_REASONS[refusal]
            run.state, run.finished_at, run.error = "failed", utcnow(), f"{refusal}: {en} ({zh})"
            run.detail = {"refusal": refusal}
        session.add(run)
        session.flush()
        plan = Plan(
            delivery_id=delivery.id,
            run_id=run.id,
            actor=actor.name,
            purpose=delivery.purpose,
            kind=delivery.kind,
            target=delivery.target,
            table=delivery.table,
            password_env=delivery.password_env,
            store_checkpoint=delivery.checkpoint,
            grant=grant.code,
            consumer=grant.consumer.code,
            scenario=grant.scenario,
            entry=grant.entry.code,
            fields=tuple(grant.fields),
            slice=None if refusal is not None else slice_of(session, grant),
            refusal=refusal,
        )
        if refusal is not None:
            _audit_run(session, plan, run, refusal)
        return plan


def _deliver(platform: Platform, plan: Plan, *, full: bool) -> _Outcome:
    assert plan.slice is not None
    keys = KeyCodec.of(plan.slice, platform.settings.resolve_secret())
    with open_lake(platform.settings) as lake, contextlib.closing(connect()) as con:
        source = Source(plan.slice, con, keys, has_data=plan.slice.register(lake, con))
        target = open_target(platform, plan)
        try:
            found = target.checkpoint(take_over=full)
            full = full or found is None
            start = 0 if full or found is None else found
            to_seq = max(start, source.max_seq())
            delta = source.delta(start, full=full)
            upserted, deleted = target.write(
                delta, start=start, to_seq=to_seq, full=full, subject_key=subject_key(platform.settings)
            )
            _crash_point("landing_after_target_commit")
            reconciliation = reconcile(source.current(), target.rows(), keys)
        finally:
            target.close()
    detail: dict[str, Any] = {"full": full, **target.notes}
    if found != plan.store_checkpoint and (found is not None or plan.store_checkpoint):
        detail["checkpoint"] = {"store": plan.store_checkpoint, "target": found}
    return _Outcome(start, to_seq, full, upserted, deleted, tuple(delta.subjects), reconciliation, detail)


def _finish(platform: Platform, plan: Plan, outcome: _Outcome) -> DeliveryRun:
    rec = outcome.reconciliation
    with platform.store.session() as session:
        run = session.get(DeliveryRun, plan.run_id)
        delivery = session.get(Delivery, plan.delivery_id)
        assert run is not None and delivery is not None
        run.state, run.finished_at = "done", utcnow()
        run.from_seq, run.to_seq = outcome.start, outcome.to_seq
        run.rows_upserted, run.rows_deleted = outcome.upserted, outcome.deleted
        run.source_rows, run.target_rows = rec.source_rows, rec.target_rows
        run.source_hash, run.target_hash, run.reconciled = rec.source_hash, rec.target_hash, rec.reconciled
        run.detail = outcome.detail | ({"difference": rec.difference} if rec.difference else {})
        delivery.checkpoint = outcome.to_seq
        _audit_run(session, plan, run, "ok")
        return run


def _fail(platform: Platform, plan: Plan, error: GongshuError) -> None:
    with platform.store.session() as session:
        run = session.get(DeliveryRun, plan.run_id)
        assert run is not None
        run.state, run.finished_at, run.error = "failed", utcnow(), f"{error.code}: {error.message}"
        _audit_run(session, plan, run, error.code)


def as_failure(error: Exception) -> GongshuError:
    """The error a failed run records: the library's own, or the target's first line (never its values)."""
    if isinstance(error, GongshuError):
        return error
    if isinstance(error, sa.exc.SQLAlchemyError | OSError):
        origin = error.orig if isinstance(error, sa.exc.DBAPIError) else error
        first = (str(origin).strip().splitlines() or [type(origin).__name__])[0]
        return TargetUnavailable(f"the target failed: {first[:300]}", hint="check the target and run again")
    return GongshuError(f"the delivery failed: {type(error).__name__}")


def _audit_run(session: Session, plan: Plan, run: DeliveryRun, result: str) -> None:
    audit.record(
        session,
        actor=plan.actor,
        action="share.delivery.run",
        object_type="share_delivery",
        object_id=plan.delivery_id,
        detail={
            "run": run.id,
            "grant": plan.grant,
            "purpose": plan.purpose,
            "trigger": run.trigger,
            "result": result,
            "from_seq": run.from_seq,
            "to_seq": run.to_seq,
            "upserted": run.rows_upserted,
            "deleted": run.rows_deleted,
            "source_rows": run.source_rows,
            "target_rows": run.target_rows,
            "reconciled": run.reconciled,
        },
    )


def _log_call(
    platform: Platform,
    plan: Plan,
    started: float,
    *,
    rows: int,
    result: str,
    status: int,
    subjects: tuple[str, ...] = (),
) -> None:
    """The run's one call-log record; written outside any store transaction (the log anchors into it)."""
    call_log(platform).append(
        CallRecord(
            at=utcnow(),
            request_id=uuid.uuid4().hex,
            actor=plan.actor,
            consumer=plan.consumer,
            grant=plan.grant,
            scenario=plan.scenario,
            resource=plan.entry,
            api=plan.api.value,
            fields=tuple(plan.slice.fields) if plan.slice is not None else plan.fields,
            rows=rows,
            result=result,
            status=status,
            latency_us=int((time.perf_counter() - started) * 1_000_000),
            subjects=subjects,
        )
    )


@contextlib.contextmanager
def _delivery_lock(path: Path, delivery_id: int) -> Iterator[None]:
    """One run per delivery across processes; the OS releases the lock if we are killed."""
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(
                f"delivery {delivery_id} is running in another process", hint="wait for it"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _crash_point(point: str) -> None:
    """Test hook: ``GONGSHU_CRASH_AT=<point>`` kills the process here as ``kill -9`` would."""
    if os.environ.get("GONGSHU_CRASH_AT") == point:
        os._exit(137)
