"""Alembic environment: runs against the engine handed over by gongshu.store.migrate."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

from gongshu.store.base import UtcDateTime
from gongshu.store.tables import metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render gongshu's column types as plain SQLAlchemy types in generated migrations."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """pyiceberg's SQL catalog keeps its own tables (``iceberg_*``) in this database (ADR 0002)."""
    return not (type_ == "table" and (name or "").startswith("iceberg_"))


engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
