"""Tables of collection (归集): mounts (挂载) and their batches (批次).

The collected data itself lives in the lake (``gongshu.lake``); these rows say what ran, when, with
what counts, checksums and snapshots, and where each source's incremental cursor stands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.catalogue.models import CatalogEntry
from gongshu.orgs.models import Organisation
from gongshu.store.base import Base, UtcDateTime, utcnow


class Mount(Base):
    """A source attached to a published catalogue entry by a declarative spec."""

    __tablename__ = "collect_mounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(63), unique=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_entries.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    cursor_value: Mapped[str | None] = mapped_column(sa.String(100))
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    entry: Mapped[CatalogEntry] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class Batch(Base):
    """One run of a mount: counts that balance (read = written + quarantined), checksums, snapshots."""

    __tablename__ = "collect_batches"
    __table_args__ = (sa.UniqueConstraint("mount_id", "seq"),)

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    mount_id: Mapped[int] = mapped_column(sa.ForeignKey("collect_mounts.id"), index=True)
    seq: Mapped[int]
    state: Mapped[str] = mapped_column(sa.String(12), index=True)
    trigger: Mapped[str] = mapped_column(sa.String(20), default="manual")
    started_by: Mapped[str] = mapped_column(sa.String(100))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(default=1)
    mount_version: Mapped[int] = mapped_column(default=1)
    rows_read: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rows_written: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rows_quarantined: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rows_inserted: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rows_updated: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rows_unchanged: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rows_deleted: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    warnings: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    resolved: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    checksum: Mapped[str | None] = mapped_column(sa.String(64))
    cursor_from: Mapped[str | None] = mapped_column(sa.String(100))
    cursor_to: Mapped[str | None] = mapped_column(sa.String(100))
    snapshots: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    rule_counts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    drift: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    notes: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    sources: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)  # files / tables / pages read
    source_schema: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # {columns, types}
    error: Mapped[str | None] = mapped_column(sa.Text)

    mount: Mapped[Mount] = relationship(lazy="joined")

    @property
    def balanced(self) -> bool:
        """读入 = 写入 + 隔离 (every record is accounted for)."""
        return self.rows_read == self.rows_written + self.rows_quarantined
