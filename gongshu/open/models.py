"""Tables of the open-data portal (开放): publications, keys, applications, usage, community.

A *publication* (发布) is one version of an open dataset's data as the public sees it: the 一般-graded
信息项 of the standard zone's current state, written once as a sorted Parquet file (the datastore)
and as CSV, JSON and XLSX downloads with their row counts and SHA-256 digests.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.catalogue.models import CatalogEntry
from gongshu.orgs.models import Organisation, User
from gongshu.store.base import Base, UtcDateTime, utcnow


class OpenPublication(Base):
    """One published version of an open dataset's data (更新记录). The newest is the current one."""

    __tablename__ = "open_publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_entries.id"), index=True)
    version: Mapped[int]
    batch_id: Mapped[str | None] = mapped_column(sa.String(64))  # the newest standard batch it holds
    published_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    rows: Mapped[int]
    fields: Mapped[list[str]] = mapped_column(sa.JSON)  # the published 信息项, in catalogue order
    datastore: Mapped[str] = mapped_column(sa.String(300))  # Parquet path relative to the data dir
    #: format → {"path", "bytes", "rows", "sha256"} or {"omitted": reason} (e.g. XLSX's row limit)
    files: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # added/removed/changed rows

    entry: Mapped[CatalogEntry] = relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("entry_id", "version"),)


class OpenKey(Base):
    """A developer's API key (开发者密钥) or an application's scoped credential (授权凭证).

    Only the SHA-256 digest of the secret is kept. A credential (``application_id`` set) reads only its
    application's dataset and approved 信息项 and expires with the approval.
    """

    __tablename__ = "open_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    display_prefix: Mapped[str] = mapped_column(sa.String(16))
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("open_applications.id"), index=True)
    daily_quota: Mapped[int]
    rate_per_s: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class OpenApplication(Base):
    """An application for a 有条件开放 dataset (开放申请): purpose, scenario, fields, duration, review."""

    __tablename__ = "open_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)  # OA000001
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_entries.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    applicant_org: Mapped[str] = mapped_column(sa.String(200))  # 申请单位 (free text, e.g. an enterprise)
    applicant_uscc: Mapped[str | None] = mapped_column(sa.String(18))
    contact: Mapped[str] = mapped_column(sa.String(100))  # contact person's name (not logged)
    purpose: Mapped[str] = mapped_column(sa.Text)
    scenario: Mapped[str] = mapped_column(sa.String(200))
    fields: Mapped[list[str]] = mapped_column(sa.JSON)
    duration_days: Mapped[int]
    state: Mapped[str] = mapped_column(sa.String(12), index=True)  # submitted|approved|refused|withdrawn
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    due_on: Mapped[date]  # the provider's review deadline on the working-day clock
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(sa.String(100))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pledge_sha256: Mapped[str | None] = mapped_column(sa.String(64))  # 安全承诺书 as generated
    agreement_sha256: Mapped[str | None] = mapped_column(sa.String(64))  # 数据利用协议 as generated
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    entry: Mapped[CatalogEntry] = relationship(lazy="joined")
    applicant: Mapped[User] = relationship(lazy="joined")
    events: Mapped[list[OpenApplicationEvent]] = relationship(
        cascade="all, delete-orphan", order_by="OpenApplicationEvent.id", lazy="selectin"
    )


class OpenApplicationEvent(Base):
    """One step of an application's review (who, when, from, to, note)."""

    __tablename__ = "open_application_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("open_applications.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(100))
    from_state: Mapped[str | None] = mapped_column(sa.String(12))
    to_state: Mapped[str] = mapped_column(sa.String(12))
    note: Mapped[str | None] = mapped_column(sa.Text)


class OpenAccess(Base):
    """One access to open data (downloads, datastore queries, dumps): who, what, how much.

    Anonymous callers are recorded as ``anonymous`` with no address; credential accesses are also
    shown to the providing department.
    """

    __tablename__ = "open_accesses"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    day: Mapped[date] = mapped_column(index=True)  # the city day (Asia/Shanghai)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_entries.id"), index=True)
    key_id: Mapped[int | None] = mapped_column(sa.ForeignKey("open_keys.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("open_applications.id"), index=True)
    caller: Mapped[str] = mapped_column(sa.String(100))  # anonymous | user:<name> | key:<prefix>
    channel: Mapped[str] = mapped_column(sa.String(20))  # download | datastore_search | dump | page
    format: Mapped[str | None] = mapped_column(sa.String(10))
    fields: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    rows: Mapped[int] = mapped_column(default=0)
    status: Mapped[int] = mapped_column(default=200)


class OpenShowcase(Base):
    """A reuse of open data (应用展示) submitted by the public and moderated by the platform."""

    __tablename__ = "open_showcases"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))  # app | analysis | visualisation | research
    description: Mapped[str] = mapped_column(sa.Text)
    url: Mapped[str | None] = mapped_column(sa.String(500))
    datasets: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # entry codes
    submitter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitter_name: Mapped[str] = mapped_column(sa.String(100))
    state: Mapped[str] = mapped_column(sa.String(12), index=True)  # pending | approved | rejected
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    moderated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    moderated_by: Mapped[str | None] = mapped_column(sa.String(100))
    moderation_note: Mapped[str | None] = mapped_column(sa.Text)


class OpenRequest(Base):
    """A data request (数据需求) or feedback (意见反馈 / 纠错) from the public, with the provider's reply."""

    __tablename__ = "open_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(12), index=True)  # request | feedback | correction
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("catalog_entries.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    submitter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitter_name: Mapped[str] = mapped_column(sa.String(100))
    state: Mapped[str] = mapped_column(sa.String(12), index=True)  # open | replied | closed
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    due_on: Mapped[date]  # the department's reply deadline on the working-day clock
    replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    replied_by: Mapped[str | None] = mapped_column(sa.String(100))
    reply: Mapped[str | None] = mapped_column(sa.Text)
    public: Mapped[bool] = mapped_column(default=True)

    entry: Mapped[CatalogEntry | None] = relationship(lazy="joined")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")


class OpenFreshnessAlert(Base):
    """An overdue open dataset (更新不及时) raised to its department; resolved by the next publication."""

    __tablename__ = "open_freshness_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_entries.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    due_on: Mapped[date]  # when the next update was due
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    entry: Mapped[CatalogEntry] = relationship(lazy="joined")
