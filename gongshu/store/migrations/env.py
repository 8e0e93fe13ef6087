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


engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection, target_metadata=metadata, render_as_batch=True, render_item=render_item
    )
    with context.begin_transaction():
        context.run_migrations()
