"""Tables of the resource catalogue (资源目录) and its standard data elements (数据元)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.orgs.models import Division, Organisation
from gongshu.store.base import Base, UtcDateTime, utcnow


class DataElement(Base):
    """A standard data element (数据元) that data items (信息项) bind to."""

    __tablename__ = "data_elements"

    code: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100), default="")
    type: Mapped[str] = mapped_column(sa.String(1))
    length: Mapped[int | None]
    standard: Mapped[str] = mapped_column(sa.String(100), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    codes: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CatalogEntry(Base):
    """The current state of one catalogue entry; every state is also kept in ``catalog_versions``."""

    __tablename__ = "catalog_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    division_code: Mapped[str] = mapped_column(sa.ForeignKey("divisions.code"), index=True)
    summary: Mapped[str] = mapped_column(sa.Text)
    format: Mapped[str] = mapped_column(sa.String(20), index=True)
    format_detail: Mapped[str | None] = mapped_column(sa.String(100))
    share_type: Mapped[str] = mapped_column(sa.String(10), index=True)
    share_condition: Mapped[str | None] = mapped_column(sa.Text)
    share_basis: Mapped[str | None] = mapped_column(sa.Text)
    share_methods: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    open_type: Mapped[str] = mapped_column(sa.String(10), index=True)
    open_condition: Mapped[str | None] = mapped_column(sa.Text)
    open_basis: Mapped[str | None] = mapped_column(sa.Text)
    update_cycle: Mapped[str] = mapped_column(sa.String(10), index=True)
    theme: Mapped[str | None] = mapped_column(sa.String(10), index=True)
    publish_date: Mapped[date | None]
    related_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(sa.String(12), index=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    provider: Mapped[Organisation] = relationship(lazy="joined")
    division: Mapped[Division] = relationship(lazy="joined")
    items: Mapped[list[CatalogItem]] = relationship(
        cascade="all, delete-orphan", order_by="CatalogItem.position", lazy="selectin"
    )


class CatalogItem(Base):
    """A data item (信息项) of an entry, bound to a data element and a security grade."""

    __tablename__ = "catalog_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_entries.id"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(63))
    label: Mapped[str] = mapped_column(sa.String(100))
    type: Mapped[str] = mapped_column(sa.String(1))
    length: Mapped[int | None]
    element_code: Mapped[str] = mapped_column(sa.ForeignKey("data_elements.code"))
    grade: Mapped[str] = mapped_column(sa.String(4))

    __table_args__ = (sa.UniqueConstraint("entry_id", "name"),)


class CatalogVersion(Base):
    """An immutable snapshot of an entry after each change (create, edit or state transition)."""

    __tablename__ = "catalog_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_entries.id"), index=True)
    version: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(12))
    change: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str | None] = mapped_column(sa.Text)
    actor: Mapped[str] = mapped_column(sa.String(100))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    document: Mapped[dict[str, Any]] = mapped_column(sa.JSON)

    __table_args__ = (sa.UniqueConstraint("entry_id", "version"),)


class CatalogSearchTerm(Base):
    """Inverted index of segmented words (jieba) for Chinese full-text search, portable SQL."""

    __tablename__ = "catalog_search_terms"

    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_entries.id"), primary_key=True)
    term: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    weight: Mapped[float]

    __table_args__ = (sa.Index("ix_catalog_search_terms_term", "term"),)
