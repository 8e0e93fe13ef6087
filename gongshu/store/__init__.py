"""Metadata store (元数据库): SQLAlchemy 2 models, sessions and Alembic migrations.

SQLite in the data directory by default; PostgreSQL when ``GONGSHU_DATABASE_URL`` is set.
Domain packages declare their tables on :class:`Base`; this package owns engines, sessions and
the schema's migrations. See ``docs/adr/0001-metadata-store.md``.
"""

from __future__ import annotations

from gongshu.store.base import Base, UtcDateTime, utcnow
from gongshu.store.db import Store, open_store
from gongshu.store.migrate import current_revision, upgrade

__all__ = ["Base", "Store", "UtcDateTime", "current_revision", "open_store", "upgrade", "utcnow"]
