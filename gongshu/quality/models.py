"""Tables of quality audit (稽核): audit runs, their results per rule, and problem tickets (问题工单).

An audit run (稽核批次) checks one collection batch (or one lake table's current state) against the
audit rules in one SQL pass; each rule × column gives one result row with how many values it
checked and how many failed. Scores (0–100) are stored on the run, so history per batch and per
month is a query. Tickets (闭环) carry a run's problems back to the owning department until a later
run re-checks them clean.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.catalogue.models import CatalogEntry
from gongshu.collect.models import Mount
from gongshu.orgs.models import Organisation
from gongshu.store.base import Base, UtcDateTime, utcnow


class AuditRun(Base):
    """One audit of one batch (or of a table's current state)."""

    __tablename__ = "quality_runs"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    mount_id: Mapped[int] = mapped_column(sa.ForeignKey("collect_mounts.id"), index=True)
    batch_id: Mapped[str | None] = mapped_column(sa.ForeignKey("collect_batches.id"), unique=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_entries.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    division_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    month: Mapped[str] = mapped_column(sa.String(7), index=True)  # YYYY-MM in city time
    scope: Mapped[str] = mapped_column(sa.String(10), default="batch")  # batch | table
    state: Mapped[str] = mapped_column(sa.String(12), default="done")
    started_by: Mapped[str] = mapped_column(sa.String(100))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    rows: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    failed_rows: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    score: Mapped[float | None]
    dimensions: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # {dimension: score}
    districts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # {code: {rows, failed, ...}}
    profile: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # per column, for drift
    latency_days: Mapped[float | None]
    seconds: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(sa.Text)

    mount: Mapped[Mount] = relationship(lazy="joined")
    entry: Mapped[CatalogEntry] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    results: Mapped[list[AuditResult]] = relationship(
        back_populates="run", order_by="AuditResult.id", cascade="all, delete-orphan"
    )


class AuditResult(Base):
    """One rule on one column (or the table) in one run: values checked and values failed."""

    __tablename__ = "quality_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(sa.ForeignKey("quality_runs.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[str] = mapped_column(sa.String(40), index=True)
    dimension: Mapped[str] = mapped_column(sa.String(20))
    column: Mapped[str] = mapped_column(sa.String(63), default="")
    label: Mapped[str] = mapped_column(sa.String(100), default="")
    severity: Mapped[str] = mapped_column(sa.String(10), default="error")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    checked: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    failed: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    samples: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)  # row positions, never values

    run: Mapped[AuditRun] = relationship(back_populates="results")


class Ticket(Base):
    """A problem ticket (问题工单) to the department owning the data, until a re-check passes."""

    __tablename__ = "quality_tickets"
    __table_args__ = (sa.Index("ix_quality_tickets_key", "mount_id", "rule_id", "column"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(24), unique=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    mount_id: Mapped[int] = mapped_column(sa.ForeignKey("collect_mounts.id"))
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_entries.id"), index=True)
    rule_id: Mapped[str] = mapped_column(sa.String(40))
    column: Mapped[str] = mapped_column(sa.String(63), default="")
    dimension: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(12), index=True)
    assignee: Mapped[str | None] = mapped_column(sa.String(100))
    failed: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    checked: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    first_run_id: Mapped[str] = mapped_column(sa.String(40))
    last_run_id: Mapped[str] = mapped_column(sa.String(40))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    due_date: Mapped[date]
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    mount: Mapped[Mount] = relationship(lazy="joined")
    entry: Mapped[CatalogEntry] = relationship(lazy="joined")
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )


class TicketEvent(Base):
    """One step in a ticket's life: who did what, from which status to which, and why."""

    __tablename__ = "quality_ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        sa.ForeignKey("quality_tickets.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(100))
    action: Mapped[str] = mapped_column(sa.String(20))
    from_status: Mapped[str | None] = mapped_column(sa.String(12))
    to_status: Mapped[str] = mapped_column(sa.String(12))
    run_id: Mapped[str | None] = mapped_column(sa.String(40))
    failed: Mapped[int | None] = mapped_column(sa.BigInteger)
    note: Mapped[str | None] = mapped_column(sa.Text)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
