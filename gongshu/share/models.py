"""Tables of the sharing exchange (共享交换): demands, their events, grants, confirmations, deliveries.

A consuming department files a demand (共享需求) for one resource under one application scenario
(应用场景); the demand moves through its review states (``demand_events`` keeps every transition,
timestamped and attributed). An approved demand issues one grant (授权): the single object every
channel enforces — the HTTP APIs, lake SQL and bulk deliveries. Each month a consumer confirms its
previous month's demands (确认函); an unconfirmed month freezes the grants. Deliveries (落地 and
属地返还 targets) keep their checkpoints and every run's reconciliation.

The call log (who called which grant, with what result) is not here: it lives in its own
append-only, hash-chained file (:mod:`gongshu.share.calllog`), written thousands of times a second.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.catalogue.models import CatalogEntry
from gongshu.orgs.models import Organisation
from gongshu.store.base import Base, UtcDateTime, utcnow


class Demand(Base):
    """One demand (共享需求): a consumer asks for a resource's 信息项 under an application scenario."""

    __tablename__ = "share_demands"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    consumer_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_entries.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    share_type: Mapped[str] = mapped_column(sa.String(10))  # the entry's 共享类型 when filed
    method: Mapped[str] = mapped_column(sa.String(4))  # 接口 / 库表 / 文件
    scenario: Mapped[str] = mapped_column(sa.String(100))  # 应用场景名称
    purpose: Mapped[str] = mapped_column(sa.Text)
    legal_basis: Mapped[str] = mapped_column(sa.Text)
    fields: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    row_scope: Mapped[str] = mapped_column(sa.String(10))  # all | district | condition
    district_code: Mapped[str | None] = mapped_column(sa.String(6))
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    clear_text: Mapped[bool] = mapped_column(default=False)
    period_start: Mapped[date]
    period_end: Mapped[date]
    daily_quota: Mapped[int] = mapped_column(sa.BigInteger)
    rate_per_second: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    provider_due: Mapped[date | None]  # the provider's review deadline (working days)
    platform_due: Mapped[date | None]
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(sa.Text)  # why refused (with the legal basis)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    consumer: Mapped[Organisation] = relationship(foreign_keys=[consumer_id], lazy="joined")
    provider: Mapped[Organisation] = relationship(foreign_keys=[provider_id], lazy="joined")
    entry: Mapped[CatalogEntry] = relationship(lazy="joined")
    events: Mapped[list[DemandEvent]] = relationship(
        back_populates="demand", order_by="DemandEvent.id", cascade="all, delete-orphan"
    )


class DemandEvent(Base):
    """One transition of a demand: who, when, from which state to which, and why."""

    __tablename__ = "share_demand_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("share_demands.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(100))
    action: Mapped[str] = mapped_column(sa.String(30))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.Text, default="")

    demand: Mapped[Demand] = relationship(back_populates="events")


class Grant(Base):
    """A grant (授权): what one consumer may receive from one resource under one scenario, on every channel.

    The scope is copied from the approved demand so a grant stands alone; ``updated_at`` moves on
    every change, so the in-memory grant index refreshes incrementally (suspension and revocation
    take effect within the refresh interval).
    """

    __tablename__ = "share_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("share_demands.id"), index=True)
    consumer_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_entries.id"), index=True)
    scenario: Mapped[str] = mapped_column(sa.String(100))
    method: Mapped[str] = mapped_column(sa.String(4))
    fields: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    row_scope: Mapped[str] = mapped_column(sa.String(10))
    district_code: Mapped[str | None] = mapped_column(sa.String(6))
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    clear_text: Mapped[bool] = mapped_column(default=False)
    daily_quota: Mapped[int] = mapped_column(sa.BigInteger)
    rate_per_second: Mapped[int]
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(sa.String(12), default="active")  # active | suspended | revoked
    frozen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # unconfirmed monthly letter
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)

    demand: Mapped[Demand] = relationship(lazy="joined")
    consumer: Mapped[Organisation] = relationship(foreign_keys=[consumer_id], lazy="joined")
    provider: Mapped[Organisation] = relationship(foreign_keys=[provider_id], lazy="joined")
    entry: Mapped[CatalogEntry] = relationship(lazy="joined")


class Confirmation(Base):
    """A consumer's monthly confirmation letter (确认函) for the demands it held in ``month``."""

    __tablename__ = "share_confirmations"
    __table_args__ = (sa.UniqueConstraint("consumer_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    month: Mapped[str] = mapped_column(sa.String(7), index=True)  # YYYY-MM, city time
    demands: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # demand codes in the letter
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")  # pending | confirmed
    due: Mapped[date]  # the last day to confirm: the end of the following month
    letter_digest: Mapped[str | None] = mapped_column(sa.String(64))  # SHA-256 of the confirmed letter
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    confirmed_by: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    consumer: Mapped[Organisation] = relationship(lazy="joined")


class Delivery(Base):
    """A bulk delivery target of a grant: a landing (落地) or a district return (属地返还).

    ``kind`` is ``postgresql``, ``mariadb`` or ``files``; ``target`` is a SQLAlchemy URL without a
    password (passwords come from the environment variable named in ``password_env``) or a folder.
    ``checkpoint`` is the last standard-zone batch sequence delivered; the target database keeps the
    same checkpoint in the transaction that wrote the rows, and the target's wins on resume.
    """

    __tablename__ = "share_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(sa.ForeignKey("share_grants.id"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(10), default="landing")  # landing | return
    kind: Mapped[str] = mapped_column(sa.String(12))
    target: Mapped[str] = mapped_column(sa.Text)
    password_env: Mapped[str | None] = mapped_column(sa.String(100))
    table: Mapped[str] = mapped_column(sa.String(63))
    subscribed: Mapped[bool] = mapped_column(default=False)  # push deltas after every batch
    checkpoint: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(default=True)

    grant: Mapped[Grant] = relationship(lazy="joined")
    runs: Mapped[list[DeliveryRun]] = relationship(
        back_populates="delivery", order_by="DeliveryRun.id", cascade="all, delete-orphan"
    )


class DeliveryRun(Base):
    """One run of a delivery: what it sent and whether source and target reconcile."""

    __tablename__ = "share_delivery_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("share_deliveries.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    trigger: Mapped[str] = mapped_column(sa.String(20), default="manual")
    from_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    to_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rows_upserted: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rows_deleted: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    state: Mapped[str] = mapped_column(sa.String(12), default="running")  # running | done | failed
    source_rows: Mapped[int | None] = mapped_column(sa.BigInteger)
    target_rows: Mapped[int | None] = mapped_column(sa.BigInteger)
    source_hash: Mapped[str | None] = mapped_column(sa.String(64))
    target_hash: Mapped[str | None] = mapped_column(sa.String(64))
    reconciled: Mapped[bool | None]
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str | None] = mapped_column(sa.Text)

    delivery: Mapped[Delivery] = relationship(back_populates="runs")


class CitizenIdentity(Base):
    """A citizen account's verified identity, kept only as the call log's keyed subject hash."""

    __tablename__ = "share_citizen_identities"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(64), index=True)
    verified_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
