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

# ruff: noqa: S608 - DuckDB identifiers are quoted with sqlbits.ident, values are sqlbits.lit literals
import contextlib
import fcntl
import hashlib
import heapq
import hmac
import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.orm import Session, object_session
from sqlalchemy.pool import NullPool

from gongshu.catalogue.models import CatalogEntry
from gongshu.collect.models import Mount
from gongshu.collect.sqlbits import ident, idents, lit
from gongshu.engine import connect
from gongshu.errors import ConfigError, Conflict, GongshuError, NotFound, PermissionDenied, ValidationFailed
from gongshu.lake import open_lake
from gongshu.orgs.models import Organisation
from gongshu.orgs.roles import SYSTEM, Principal, Role
from gongshu.platform import Platform
from gongshu.security import audit
from gongshu.share import grants
from gongshu.share.calllog import CallRecord, record_subjects
from gongshu.share.errors import DENIAL_REASONS, ShareDenied
from gongshu.share.exchange import call_log, subject_key
from gongshu.share.models import Delivery, DeliveryRun, Grant
from gongshu.share.slice import ALL_VIEW, CURRENT_VIEW, MASKED_GRADES, GrantSlice, slice_of
from gongshu.share.specs import METHOD_APIS, Api, RowScope
from gongshu.store.base import utcnow

KINDS = ("postgresql", "mariadb", "files")
PURPOSES = ("landing", "return")
#: The SQLAlchemy driver each database kind must name in its URL.
DRIVERS = {"postgresql": "postgresql+psycopg", "mariadb": "mysql+pymysql"}
TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: Target passwords live in environment variables of this shape, so a delivery cannot name a secret.
PASSWORD_ENV = re.compile(r"^GONGSHU_TARGET_[A-Z0-9_]{1,80}$")
BOOKKEEPING = "_gongshu_landing"
MANIFEST = "manifest.json"
KEY_PREFIX = "_key_"
CHUNK = 5_000
EXAMPLES = 5
#: Exit status of ``gongshu share delivery run`` when source and target do not reconcile.
NOT_RECONCILED_EXIT = 9
DELTA_VIEW = "granted_delta"
_LATEST = "ORDER BY _batch_seq DESC, _row DESC NULLS LAST"  # the change log's order (collect.stage)
_FILE = re.compile(r"^(?P<table>[a-z][a-z0-9_]*)-\d{10}-\d{10}\.parquet$")
_REFUSALS = {
    "suspended": "grant_suspended",
    "revoked": "grant_revoked",
    "frozen": "grant_frozen",
    "expired": "grant_expired",
    "not_yet_valid": "grant_not_yet_valid",
}

Key = tuple[str, ...]
Values = tuple[str | None, ...]


class TargetUnavailable(GongshuError):
    """The delivery's target store did not answer or refused the write; nothing was committed there."""

    code: ClassVar[str] = "target_unavailable"
    http_status = 502
    exit_code = 8
    transient = True


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
    refusal = _refusal(grant, purpose)
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


def _refusal(grant: Grant, purpose: str) -> str | None:
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
class _Plan:
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
    reconciliation: _Reconciliation
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
            failure = _failure(error)
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


def _begin(platform: Platform, actor: Principal, delivery_id: int, trigger: str) -> _Plan:
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
        refusal = _refusal(grant, delivery.purpose)
        run = DeliveryRun(
            delivery_id=delivery.id, trigger=trigger, from_seq=delivery.checkpoint, state="running"
        )
        if refusal is not None:
            zh, en = DENIAL_REASONS[refusal]
            run.state, run.finished_at, run.error = "failed", utcnow(), f"{refusal}: {en} ({zh})"
            run.detail = {"refusal": refusal}
        session.add(run)
        session.flush()
        plan = _Plan(
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


def _deliver(platform: Platform, plan: _Plan, *, full: bool) -> _Outcome:
    assert plan.slice is not None
    keys = _Keys.of(plan.slice, platform.settings.resolve_secret())
    with open_lake(platform.settings) as lake, contextlib.closing(connect()) as con:
        source = _Source(plan.slice, con, keys, has_data=plan.slice.register(lake, con))
        target = _open_target(platform, plan)
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
            reconciliation = _reconcile(source.current(), target.rows(), keys)
        finally:
            target.close()
    detail: dict[str, Any] = {"full": full, **target.notes}
    if found != plan.store_checkpoint and (found is not None or plan.store_checkpoint):
        detail["checkpoint"] = {"store": plan.store_checkpoint, "target": found}
    return _Outcome(start, to_seq, full, upserted, deleted, tuple(delta.subjects), reconciliation, detail)


def _finish(platform: Platform, plan: _Plan, outcome: _Outcome) -> DeliveryRun:
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


def _fail(platform: Platform, plan: _Plan, error: GongshuError) -> None:
    with platform.store.session() as session:
        run = session.get(DeliveryRun, plan.run_id)
        assert run is not None
        run.state, run.finished_at, run.error = "failed", utcnow(), f"{error.code}: {error.message}"
        _audit_run(session, plan, run, error.code)


def _failure(error: Exception) -> GongshuError:
    """The error a failed run records: the library's own, or the target's first line (never its values)."""
    if isinstance(error, GongshuError):
        return error
    if isinstance(error, sa.exc.SQLAlchemyError | OSError):
        origin = error.orig if isinstance(error, sa.exc.DBAPIError) else error
        first = (str(origin).strip().splitlines() or [type(origin).__name__])[0]
        return TargetUnavailable(f"the target failed: {first[:300]}", hint="check the target and run again")
    return GongshuError(f"the delivery failed: {type(error).__name__}")


def _audit_run(session: Session, plan: _Plan, run: DeliveryRun, result: str) -> None:
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
    plan: _Plan,
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


# -- the source: the granted slice of the change log ------------------------------------------


@dataclass(frozen=True)
class _Keys:
    """How a row's key lands: as it is when granted in clear, else as a keyed pseudonym per grant."""

    names: tuple[str, ...]
    clear: frozenset[str]  # granted and not masked: delivered as they are
    shown: frozenset[str]  # clear and of grade 一般: may appear as examples in a run's detail
    secret: bytes

    @classmethod
    def of(cls, grant_slice: GrantSlice, platform_secret: str) -> _Keys:
        columns = {c.name: c for c in grant_slice.columns}
        clear = frozenset(k for k in grant_slice.key if k in columns and not columns[k].masked)
        shown = frozenset(k for k in clear if columns[k].grade not in MASKED_GRADES)
        material = f"gongshu.share.landing\0{platform_secret}\0{grant_slice.grant}".encode()
        return cls(grant_slice.key, clear, shown, hashlib.sha256(material).digest())

    def pseudonym(self, value: str) -> str:
        return hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()[:32]

    def target(self, values: Sequence[str | None]) -> Key:
        return tuple(
            (v or "") if n in self.clear else self.pseudonym(v or "")
            for n, v in zip(self.names, values, strict=True)
        )

    def example(self, key: Key) -> str:
        """A key as a run's detail may show it: clear only for ungraded, clearly delivered columns."""
        shown = (
            v if n in self.shown or n not in self.clear else self.pseudonym(v)
            for n, v in zip(self.names, key, strict=True)
        )
        return "|".join(shown)


@dataclass
class _Delta:
    """The changes after a checkpoint: upserts (streamed once) and deletes, with the subjects seen."""

    rows: Iterator[tuple[Key, Values, Sequence[str | None]]]
    deletes: list[Key]
    subjects: dict[str, None] = field(default_factory=dict)

    def chunks(self, subject_key: bytes) -> Iterator[list[tuple[Key, Values]]]:
        chunk: list[tuple[Key, Values]] = []
        ids: list[str] = []
        for key, values, subject_ids in self.rows:
            chunk.append((key, values))
            ids.extend(i for i in subject_ids if i)
            if len(chunk) >= CHUNK:
                self._see(subject_key, ids)
                yield chunk
                chunk, ids = [], []
        if chunk:
            self._see(subject_key, ids)
            yield chunk

    def _see(self, subject_key: bytes, ids: list[str]) -> None:
        self.subjects.update(dict.fromkeys(record_subjects(subject_key, ids)))


class _Source:
    """The granted slice of one resource's change log, pinned to the snapshot registered on ``con``."""

    def __init__(
        self, grant_slice: GrantSlice, con: duckdb.DuckDBPyConnection, keys: _Keys, *, has_data: bool
    ):
        self.slice, self.con, self.keys, self.has_data = grant_slice, con, keys, has_data

    def max_seq(self) -> int:
        if not self.has_data:
            return 0
        found = self.con.execute(f"SELECT coalesce(max(_batch_seq), 0) FROM {ident(ALL_VIEW)}").fetchone()
        return int(found[0]) if found else 0

    def delta(self, start: int, *, full: bool) -> _Delta:
        """Each key's latest change after ``start``: granted rows to upsert, keys that left to delete."""
        if not self.has_data:
            return _Delta(iter(()), [])
        if full:
            return _Delta(
                self._rows(self.slice.select_sql(CURRENT_VIEW, with_subjects=True, with_key=True)), []
            )
        latest = f"QUALIFY row_number() OVER (PARTITION BY {idents(self.slice.key)} {_LATEST}) = 1"
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {ident(DELTA_VIEW)} AS SELECT * FROM {ident(ALL_VIEW)} "
            f"WHERE _batch_seq > {lit(start)} {latest}"
        )
        deletes = self._deletes(start, latest)
        upserts = self.slice.select_sql(DELTA_VIEW, where="_op <> 'D'", with_subjects=True, with_key=True)
        return _Delta(self._rows(upserts), deletes)

    def current(self) -> Iterator[tuple[Key, Values]]:
        """The granted slice of the current state, as the target should hold it."""
        if self.has_data:
            for key, values, _ids in self._rows(
                self.slice.select_sql(CURRENT_VIEW, with_key=True), subjects=False
            ):
                yield key, values

    def _deletes(self, start: int, latest: str) -> list[Key]:
        """Keys deleted at source or gone out of scope after ``start`` that were delivered before it."""
        granted = f"coalesce(({self.slice.row_filter()}), false)"
        keys = self.slice.key
        before = (
            f"SELECT {idents(keys)} FROM {ident(ALL_VIEW)} WHERE _batch_seq <= {lit(start)} "
            f"{latest} AND _op <> 'D' AND {granted}"
        )
        same = " AND ".join(f"b.{ident(k)} IS NOT DISTINCT FROM d.{ident(k)}" for k in keys)
        rows = self.con.execute(
            f"SELECT {', '.join(f'CAST(d.{ident(k)} AS VARCHAR)' for k in keys)} FROM {ident(DELTA_VIEW)} d "
            f"WHERE NOT coalesce(d._op <> 'D' AND {granted}, false) "
            f"AND EXISTS (SELECT 1 FROM ({before}) b WHERE {same})"
        ).fetchall()
        return [self.keys.target(row) for row in rows]

    def _rows(
        self, select: str, *, subjects: bool = True
    ) -> Iterator[tuple[Key, Values, Sequence[str | None]]]:
        """``select`` as text (as the target stores it), in record batches: (target key, values, IDs)."""
        columns = [f"CAST({ident(c)} AS VARCHAR) AS {ident(c)}" for c in self.slice.fields]
        columns += [ident(KEY_PREFIX + k) for k in self.slice.key] + (["_subject_ids"] if subjects else [])
        reader = self.con.execute(f"SELECT {', '.join(columns)} FROM ({select}) AS granted").to_arrow_reader(
            CHUNK
        )
        width, keys = len(self.slice.fields), len(self.slice.key)
        for batch in reader:
            for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                ids = row[width + keys] if subjects else ()
                yield self.keys.target(row[width : width + keys]), tuple(row[:width]), ids or ()


# -- targets -------------------------------------------------------------------------------------


class _Target:
    """A delivery's store: where its checkpoint is, how a delta lands, what it holds now."""

    notes: dict[str, Any]

    def checkpoint(self, *, take_over: bool) -> int | None:
        raise NotImplementedError

    def write(
        self, delta: _Delta, *, start: int, to_seq: int, full: bool, subject_key: bytes
    ) -> tuple[int, int]:
        raise NotImplementedError

    def rows(self) -> Iterator[tuple[Key, Values]]:
        raise NotImplementedError

    def close(self) -> None:
        return None


def _open_target(platform: Platform, plan: _Plan) -> _Target:
    assert plan.slice is not None
    keys = [KEY_PREFIX + k for k in plan.slice.key]
    if plan.kind == "files":
        folder = Path(plan.target)
        return _Files(plan, folder if folder.is_absolute() else platform.settings.data_dir / folder, keys)
    url = sa.engine.make_url(plan.target)
    if plan.password_env:
        password = os.environ.get(plan.password_env)
        if not password:
            raise ConfigError(
                f"the environment variable {plan.password_env} (the target's password) is not set"
            )
        url = url.set(password=password)
    if plan.kind == "mariadb" and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return _Database(plan, url, keys)


class _Database(_Target):
    """A PostgreSQL or MariaDB table, its checkpoint in ``_gongshu_landing`` (same transaction)."""

    def __init__(self, plan: _Plan, url: sa.URL, keys: list[str]) -> None:
        assert plan.slice is not None
        self.plan, self.keys, self.fields, self.notes = plan, keys, plan.slice.fields, {}
        self.engine = sa.create_engine(url, poolclass=NullPool)
        meta = sa.MetaData()
        self.table = sa.Table(
            plan.table,
            meta,
            *(sa.Column(k, sa.String(255), primary_key=True) for k in keys),
            *(sa.Column(f, sa.Text) for f in self.fields),
            mysql_charset="utf8mb4",
            mysql_engine="InnoDB",
        )
        self.book = sa.Table(
            BOOKKEEPING,
            meta,
            sa.Column("table_name", sa.String(63), primary_key=True),
            sa.Column("delivery_id", sa.Integer, nullable=False),
            sa.Column("grant_code", sa.String(20), nullable=False),
            sa.Column("checkpoint", sa.BigInteger, nullable=False),
            sa.Column("updated_at", sa.String(40), nullable=False),
            mysql_charset="utf8mb4",
            mysql_engine="InnoDB",
        )
        self.meta = meta

    def checkpoint(self, *, take_over: bool) -> int | None:
        with self.engine.connect() as conn:
            inspector = sa.inspect(conn)
            if not inspector.has_table(self.table.name):
                return None
            present = {c["name"] for c in inspector.get_columns(self.table.name)}
            if present != {*self.keys, *self.fields}:
                raise Conflict(
                    f"the target table {self.table.name} exists with other columns",
                    hint="deliver into another table, or drop it",
                )
            if not inspector.has_table(BOOKKEEPING):
                return None
            row = conn.execute(
                sa.select(self.book.c.delivery_id, self.book.c.checkpoint).where(
                    self.book.c.table_name == self.table.name
                )
            ).first()
        if row is None:
            return None
        if row.delivery_id != self.plan.delivery_id and not take_over:
            raise Conflict(
                f"the target table {self.table.name} is delivery {row.delivery_id}'s",
                hint="deliver into another table, or run with --full to take it over",
            )
        return int(row.checkpoint)

    def write(
        self, delta: _Delta, *, start: int, to_seq: int, full: bool, subject_key: bytes
    ) -> tuple[int, int]:
        self.meta.create_all(self.engine, checkfirst=True)  # DDL commits on its own in MariaDB
        upsert = _upsert(self.engine.dialect.name, self.table, self.keys, self.fields)
        upserted = deleted = 0
        with self.engine.begin() as conn:
            if full:
                self.notes["truncated"] = conn.execute(self.table.delete()).rowcount
            for i in range(0, len(delta.deletes), CHUNK):
                deleted += conn.execute(
                    self.table.delete().where(self._key_in(delta.deletes[i : i + CHUNK]))
                ).rowcount
            for chunk in delta.chunks(subject_key):
                conn.execute(
                    upsert, [dict(zip([*self.keys, *self.fields], (*k, *v), strict=True)) for k, v in chunk]
                )
                upserted += len(chunk)
            book = _upsert(
                self.engine.dialect.name,
                self.book,
                ["table_name"],
                ["delivery_id", "grant_code", "checkpoint", "updated_at"],
            )
            conn.execute(
                book,
                [
                    {
                        "table_name": self.table.name,
                        "delivery_id": self.plan.delivery_id,
                        "grant_code": self.plan.grant,
                        "checkpoint": to_seq,
                        "updated_at": utcnow().isoformat(timespec="seconds"),
                    }
                ],
            )
        return upserted, deleted

    def rows(self) -> Iterator[tuple[Key, Values]]:
        columns = [self.table.c[name] for name in [*self.keys, *self.fields]]
        width = len(self.keys)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(sa.select(*columns))
            for row in result:
                yield tuple(row[:width]), tuple(row[width:])

    def close(self) -> None:
        self.engine.dispose()

    def _key_in(self, keys: list[Key]) -> sa.ColumnElement[bool]:
        clause: sa.ColumnElement[bool]
        if len(self.keys) == 1:
            clause = self.table.c[self.keys[0]].in_([k[0] for k in keys])
        else:
            clause = sa.tuple_(*(self.table.c[k] for k in self.keys)).in_(keys)
        return clause


def _upsert(dialect: str, table: sa.Table, keys: list[str], columns: list[str]) -> sa.Executable:
    """``INSERT … ON CONFLICT DO UPDATE`` (PostgreSQL) or ``… ON DUPLICATE KEY UPDATE`` (MariaDB)."""
    if dialect == "postgresql":
        pg = postgresql.insert(table)
        return pg.on_conflict_do_update(index_elements=keys, set_={c: pg.excluded[c] for c in columns})
    if dialect in ("mysql", "mariadb"):
        my = mysql.insert(table)
        return my.on_duplicate_key_update({c: my.inserted[c] for c in columns})
    raise ConfigError(f"no upsert for the {dialect} dialect")


class _Files(_Target):
    """A folder: one Parquet file per run (``<table>-<from>-<to>.parquet``) and ``manifest.json``.

    Each file holds ``_op`` (``U`` upsert, ``D`` delete), the ``_key_*`` columns and the granted
    信息项; replaying the manifest's files in order gives the delivered state. A run writes its file
    beside the others, renames it into place, then replaces the manifest (the checkpoint) atomically;
    files a crashed run left outside the manifest are removed by the next run.
    """

    def __init__(self, plan: _Plan, folder: Path, keys: list[str]) -> None:
        assert plan.slice is not None
        self.plan, self.folder, self.keys, self.fields = plan, folder, keys, plan.slice.fields
        self.notes: dict[str, Any] = {}
        self.manifest = self._read_manifest()

    def checkpoint(self, *, take_over: bool) -> int | None:
        if self.manifest is None:
            return None
        if not take_over and (
            self.manifest.get("delivery") != self.plan.delivery_id
            or self.manifest.get("columns") != [*self.keys, *self.fields]
        ):
            raise Conflict(
                f"the folder {self.folder} holds another delivery's files",
                hint="deliver into another folder, or run with --full to take it over",
            )
        return int(self.manifest["checkpoint"])

    def write(
        self, delta: _Delta, *, start: int, to_seq: int, full: bool, subject_key: bytes
    ) -> tuple[int, int]:
        self.folder.mkdir(parents=True, exist_ok=True)
        before = [] if self.manifest is None else list(self.manifest.get("files", []))
        self._sweep(keep={f["name"] for f in before})
        written = self._write_file(delta, start=start, to_seq=to_seq, full=full, subject_key=subject_key)
        kept = [] if full else before
        files = kept if written is None else [*kept, written]
        if written is not None or self.manifest is None or to_seq != start:
            self._write_manifest(files, to_seq)
        listed = {f["name"] for f in files}
        for old in before:
            if old["name"] not in listed:  # a full delivery replaced them
                (self.folder / old["name"]).unlink(missing_ok=True)
        return (0, 0) if written is None else (written["upserts"], written["deletes"])

    def rows(self) -> Iterator[tuple[Key, Values]]:
        state: dict[Key, Values] = {}
        for listed in (self.manifest or {}).get("files", []):
            path = self.folder / listed["name"]
            try:
                if _sha256(path) != listed["sha256"]:
                    self.notes.setdefault("files_altered", []).append(listed["name"])
                table = pq.read_table(path)
            except (OSError, pa.ArrowException):
                self.notes.setdefault("files_unreadable", []).append(listed["name"])
                continue
            if listed.get("full"):
                state.clear()
            for batch in table.to_batches(CHUNK):
                self._replay(batch, state)
        yield from state.items()

    def _replay(self, batch: pa.RecordBatch, state: dict[Key, Values]) -> None:
        columns = {name: batch.column(name).to_pylist() for name in ["_op", *self.keys, *self.fields]}
        for i, op in enumerate(columns["_op"]):
            key = tuple(columns[k][i] or "" for k in self.keys)
            if op == "D":
                state.pop(key, None)
            else:
                state[key] = tuple(columns[f][i] for f in self.fields)

    def _write_file(
        self, delta: _Delta, *, start: int, to_seq: int, full: bool, subject_key: bytes
    ) -> dict[str, Any] | None:
        name = f"{self.plan.table}-{start:010d}-{to_seq:010d}.parquet"
        partial = self.folder / f".{name}.partial"
        schema = pa.schema([(c, pa.string()) for c in ["_op", *self.keys, *self.fields]])
        upserts = 0
        with pq.ParquetWriter(partial, schema) as writer:
            if delta.deletes:
                writer.write_batch(
                    _file_batch(schema, "D", [(k, (None,) * len(self.fields)) for k in delta.deletes])
                )
            for chunk in delta.chunks(subject_key):
                writer.write_batch(_file_batch(schema, "U", chunk))
                upserts += len(chunk)
        if not (full or upserts or delta.deletes):
            partial.unlink()
            return None
        _fsync(partial)
        partial.replace(self.folder / name)
        _fsync(self.folder)
        return {
            "name": name,
            "from_seq": start,
            "to_seq": to_seq,
            "full": full,
            "rows": upserts + len(delta.deletes),
            "upserts": upserts,
            "deletes": len(delta.deletes),
            "sha256": _sha256(self.folder / name),
            "written_at": utcnow().isoformat(timespec="seconds"),
        }

    def _write_manifest(self, files: list[dict[str, Any]], checkpoint: int) -> None:
        document = {
            "format": "gongshu.landing/1",
            "delivery": self.plan.delivery_id,
            "grant": self.plan.grant,
            "resource": self.plan.entry,
            "table": self.plan.table,
            "key": self.keys,
            "columns": [*self.keys, *self.fields],
            "checkpoint": checkpoint,
            "updated_at": utcnow().isoformat(timespec="seconds"),
            "files": files,
        }
        temporary = self.folder / f".{MANIFEST}.partial"
        temporary.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
        _fsync(temporary)
        temporary.replace(self.folder / MANIFEST)
        _fsync(self.folder)
        self.manifest = document

    def _read_manifest(self) -> dict[str, Any] | None:
        path = self.folder / MANIFEST
        if not path.is_file():
            return None
        try:
            document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise Conflict(
                f"{path} is not a landing manifest", hint="run with --full to deliver anew"
            ) from None
        return document

    def _sweep(self, keep: set[str]) -> None:
        """Remove what a crashed run left: partial files, and this table's files not in the manifest."""
        for path in self.folder.iterdir():
            matched = _FILE.fullmatch(path.name)
            ours = matched is not None and matched["table"] == self.plan.table and path.name not in keep
            if ours or (path.name.startswith(f".{self.plan.table}-") and path.name.endswith(".partial")):
                path.unlink(missing_ok=True)


def _file_batch(schema: pa.Schema, op: str, rows: Sequence[tuple[Key, Values]]) -> pa.RecordBatch:
    columns: list[list[str | None]] = [[op] * len(rows)]
    columns += [list(c) for c in zip(*(k for k, _ in rows), strict=True)]
    columns += [list(c) for c in zip(*(v for _, v in rows), strict=True)]
    return pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in columns], schema=schema)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- reconciliation (对账) -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Reconciliation:
    source_rows: int
    target_rows: int
    source_hash: str
    target_hash: str
    reconciled: bool
    difference: dict[str, Any]


def row_digest(key: Sequence[str | None], values: Sequence[str | None]) -> bytes:
    """SHA-256 of one delivered row (its ``_key_*`` values and granted 信息项 as text), both sides alike."""
    text = json.dumps([list(key), list(values)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).digest()


def set_digest(digests: Iterable[bytes]) -> str:
    """The order-independent hash of a set of rows: SHA-256 over their sorted row digests."""
    return hashlib.sha256(b"".join(sorted(digests))).hexdigest()


def _reconcile(
    source: Iterable[tuple[Key, Values]], target: Iterable[tuple[Key, Values]], keys: _Keys
) -> _Reconciliation:
    ours = {key: row_digest(key, values) for key, values in source}
    theirs: dict[Key, bytes] = {}
    target_rows = 0
    for key, values in target:
        theirs[key] = row_digest(key, values)
        target_rows += 1
    source_hash, target_hash = set_digest(ours.values()), set_digest(theirs.values())
    reconciled = source_hash == target_hash and len(ours) == target_rows
    difference: dict[str, Any] = {}
    if not reconciled:
        missing = [k for k in ours if k not in theirs]
        extra = [k for k in theirs if k not in ours]
        changed = [k for k, d in ours.items() if k in theirs and theirs[k] != d]
        difference = {"missing": len(missing), "extra": len(extra), "changed": len(changed)}
        difference["examples"] = {
            name: [keys.example(k) for k in heapq.nsmallest(EXAMPLES, found)]
            for name, found in (("missing", missing), ("extra", extra), ("changed", changed))
        }
    return _Reconciliation(len(ours), target_rows, source_hash, target_hash, reconciled, difference)


# -- district return (属地返还) --------------------------------------------------------------------


def district_return(
    platform: Platform,
    actor: Principal,
    entry: str,
    *,
    targets: Mapping[str, tuple[str, str]],
    password_env: str | None = None,
    full: bool = False,
) -> list[DistrictResult]:
    """Return each district's rows of resource ``entry`` to that district's store, and reconcile each.

    ``targets`` maps a district's division code (``310101``) to ``(kind, URL or folder)``. Each
    district needs a district-scoped grant of the resource to its district organisation (``D310101``);
    its ``return`` delivery (table ``<mount>_<district>``) is created on first use. One district's
    failure or refusal does not stop the others.
    """
    actor.require(Role.OPERATOR, action="district return 属地返还")
    results = []
    for district in sorted(targets):
        kind, where = targets[district]
        try:
            with platform.store.session() as session:
                found = _return_delivery(session, actor, entry, district, kind, where, password_env)
        except ShareDenied as error:
            results.append(DistrictResult(district, "refused", error=error.reason))
            continue
        results.append(found if found.delivery is None else _run_return(platform, actor, found, full=full))
    return results


def district_return_to_folders(
    platform: Platform,
    actor: Principal,
    entry: str,
    folder: Path | str,
    *,
    districts: Iterable[str] | None = None,
    full: bool = False,
) -> list[DistrictResult]:
    """The district return of ``entry`` into ``folder/<district>`` for every district holding a grant.

    For the demo and the CLI: districts without a district-scoped grant of the resource are skipped,
    so with no such grants this returns an empty list.
    """
    with platform.store.session() as session:
        available = set(granted_districts(session, entry))
    wanted = set(districts) if districts is not None else available
    targets = {d: ("files", str(Path(folder) / d)) for d in sorted(available & wanted)}
    return district_return(platform, actor, entry, targets=targets, full=full) if targets else []


def granted_districts(session: Session, entry: str) -> list[str]:
    """The districts holding a district-scoped grant of resource ``entry`` (any state), sorted."""
    return sorted({g.district_code for g in _district_grants(session, entry) if g.district_code})


def _district_grants(session: Session, entry: str) -> list[Grant]:
    found = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == entry))
    if found is None:
        raise NotFound(f"no resource {entry!r}", value=entry)
    query = (
        sa.select(Grant)
        .join(Organisation, Grant.consumer_id == Organisation.id)
        .where(
            Grant.entry_id == found.id, Grant.row_scope == RowScope.DISTRICT, Organisation.kind == "district"
        )
        .order_by(Grant.id.desc())
    )
    return list(session.scalars(query).unique())


def _return_delivery(
    session: Session,
    actor: Principal,
    entry: str,
    district: str,
    kind: str,
    where: str,
    password_env: str | None,
) -> DistrictResult:
    """The district's grant and its return delivery to ``where`` (created when missing), still to run."""
    candidates = [g for g in _district_grants(session, entry) if g.district_code == district]
    if not candidates:
        return DistrictResult(
            district, "no_grant", error=f"no district-scoped grant of {entry} to district {district}"
        )
    grant = next((g for g in candidates if _refusal(g, "return") is None), candidates[0])
    delivery = session.scalar(
        sa.select(Delivery).where(
            Delivery.grant_id == grant.id,
            Delivery.purpose == "return",
            Delivery.kind == kind,
            Delivery.target == where,
            Delivery.active.is_(True),
        )
    )
    if delivery is None:
        mount = session.scalar(
            sa.select(Mount.name).where(Mount.entry_id == grant.entry_id, Mount.active.is_(True))
        )
        table = f"{(mount or 'resource')[:55]}_{district}"
        delivery = create_delivery(
            session,
            actor,
            grant.code,
            kind=kind,
            target=where,
            table=table,
            purpose="return",
            password_env=password_env,
        )
    return DistrictResult(district, "pending", grant=grant.code, delivery=delivery.id, table=delivery.table)


def _run_return(
    platform: Platform, actor: Principal, pending: DistrictResult, *, full: bool
) -> DistrictResult:
    assert pending.delivery is not None
    try:
        run = run_delivery(platform, actor, pending.delivery, trigger="return", full=full)
    except ShareDenied as error:
        return replace(pending, state="refused", error=error.reason)
    except GongshuError as error:
        return replace(pending, state="failed", error=f"{error.code}: {error.message}")
    return replace(
        pending,
        state=run.state,
        run=run.id,
        rows_upserted=run.rows_upserted,
        rows_deleted=run.rows_deleted,
        source_rows=run.source_rows,
        target_rows=run.target_rows,
        source_hash=run.source_hash,
        target_hash=run.target_hash,
        reconciled=run.reconciled,
        detail=run.detail,
    )


# -- subscriptions (订阅推送) -----------------------------------------------------------------------


def deliver_subscribed(
    platform: Platform, mount_name: str, *, notes: list[str] | None = None
) -> list[DeliveryRun]:
    """Run every active subscribed delivery of the resource mounted as ``mount_name``.

    Called after each committed batch (``collect.pipeline.run_mount``). A delivery that fails or
    does not reconcile is recorded on its run and noted in ``notes``; it never stops the others.
    """
    with platform.store.session() as session:
        ids = session.scalars(
            sa.select(Delivery.id)
            .join(Grant, Delivery.grant_id == Grant.id)
            .join(Mount, Mount.entry_id == Grant.entry_id)
            .where(Mount.name == mount_name, Delivery.active.is_(True), Delivery.subscribed.is_(True))
            .order_by(Delivery.id)
        ).all()
    runs = []
    say = notes.append if notes is not None else (lambda _note: None)
    for delivery_id in ids:
        try:
            run = run_delivery(platform, SYSTEM, delivery_id, trigger="subscription")
        except Exception as error:  # any target's failure is recorded, never raised into the batch
            failure = _failure(error)
            code = failure.reason if isinstance(failure, ShareDenied) else failure.code
            say(f"订阅推送 delivery {delivery_id}: {code}: {failure.message}")
            last = _last_run(platform, delivery_id)
            if last is not None:
                runs.append(last)
            continue
        if not run.reconciled:
            say(f"订阅推送 delivery {delivery_id}: run {run.id} does not reconcile (对账不一致)")
        runs.append(run)
    return runs


def _last_run(platform: Platform, delivery_id: int) -> DeliveryRun | None:
    with platform.store.session() as session:
        return session.scalar(
            sa.select(DeliveryRun)
            .where(DeliveryRun.delivery_id == delivery_id)
            .order_by(DeliveryRun.id.desc())
        )
