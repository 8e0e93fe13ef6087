"""Table schemas: what the lake accepts for a new or evolving table, and how it reports changes."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from gongshu.errors import ValidationFailed
from gongshu.lake.files import check_types
from gongshu.lake.specs import SchemaChange

TYPE_HINT = "write TIMESTAMP_NS as TIMESTAMP and an all-NULL column with a concrete type (e.g. VARCHAR)"


def checked_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every column optional and without field ids, if the lake accepts it.

    Raises:
        ValidationFailed: no columns, an empty or dotted name, names equal but for case, or an
            unsigned 32/64-bit integer.
    """
    problems: list[str] = []
    names = list(schema.names)
    if not names:
        problems.append("a lake table needs at least one column")
    seen: dict[str, str] = {}
    for name in names:
        if not name.strip() or "." in name:
            problems.append(f"invalid column name {name!r}: it must be non-empty and hold no '.'")
        elif name.lower() in seen:
            problems.append(f"columns {seen[name.lower()]!r} and {name!r} differ only in case")
        seen.setdefault(name.lower(), name)
    problems += check_types(schema)
    if problems:
        raise ValidationFailed({"schema": problems})
    # Field ids in incoming metadata (e.g. a schema read back from the lake) would be taken as
    # Iceberg's; names are the contract, so they go.
    return pa.schema([field.with_nullable(True).remove_metadata() for field in schema])


def change(name: str, type_: str, previous: str | None) -> SchemaChange:
    """The change of one column: ``added`` when it had no type before, else ``widened``."""
    if previous is None:
        return SchemaChange("added", name, type_)
    return SchemaChange("widened", name, type_, previous)


def small_types(schema: pa.Schema) -> pa.Schema:
    """``schema`` with ``large_string`` / ``large_binary`` / ``large_list`` as their usual forms."""
    return pa.schema([field.with_type(_small_type(field.type)) for field in schema], metadata=schema.metadata)


def _small_type(type_: Any) -> Any:
    if pa.types.is_large_string(type_):
        return pa.string()
    if pa.types.is_large_binary(type_):
        return pa.binary()
    if pa.types.is_large_list(type_) or pa.types.is_list(type_):
        return pa.list_(type_.value_field.with_type(_small_type(type_.value_type)))
    if pa.types.is_struct(type_):
        return pa.struct([field.with_type(_small_type(field.type)) for field in type_])
    if pa.types.is_map(type_):
        return pa.map_(
            type_.key_field.with_type(_small_type(type_.key_type)),
            type_.item_field.with_type(_small_type(type_.item_type)),
        )
    return type_
