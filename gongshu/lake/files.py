"""The Parquet files of a batch: where they may be, and whether they fit the table.

The fit check runs before pyiceberg's own (which would print a table to stdout) so that a
mismatch is a :class:`SchemaConflict` naming the columns, and unsigned integers, which pyiceberg
would narrow (``uint32`` → ``int``), are refused rather than overflowing at read time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.exceptions import ResolveError
from pyiceberg.io.pyarrow import pyarrow_to_schema
from pyiceberg.schema import Schema, promote
from pyiceberg.typedef import TableVersion
from pyiceberg.types import ListType, MapType, StructType

from gongshu.errors import ValidationFailed
from gongshu.lake.errors import SchemaConflict

CAST_HINT = (
    "call Lake.ensure_table with the files' schema first (it adds columns and widens types), "
    "or cast the columns when writing"
)


def local_path(location: str) -> str:
    """A file-system path from an Iceberg location (``file:///x`` or a plain path)."""
    if location.startswith("file:"):
        return unquote(urlparse(location).path)
    return location


def checked_files(files: Sequence[Path], batch_dir: Path) -> list[str]:
    """The files as unique absolute paths, if each exists inside ``batch_dir``.

    Raises:
        ValidationFailed: a file is missing or outside the batch directory.
    """
    problems = []
    resolved = list(dict.fromkeys(Path(file).resolve() for file in files))
    for path in resolved:
        if not path.is_file():
            problems.append(f"{path} is not a file")
        elif not path.is_relative_to(batch_dir.resolve()):
            problems.append(f"{path} is outside the batch directory {batch_dir} (see Lake.data_dir)")
    if problems:
        raise ValidationFailed({"files": problems})
    return [str(path) for path in resolved]


def check_fit(what: str, schema: Schema, files: Iterable[str], *, format_version: TableVersion) -> None:
    """Check that every file's columns are in ``schema`` with a type Iceberg can read as the table's.

    ``what`` names the batch and table in messages. Files with the same schema are checked once.

    Raises:
        ValidationFailed: a file is not readable Parquet.
        SchemaConflict: extra columns, unsupported or unsigned types, or types that do not fit.
    """
    seen: set[str] = set()
    for path in files:
        try:
            arrow = pq.read_schema(path)
        except (pa.ArrowException, OSError) as error:
            raise ValidationFailed({"files": [f"{path} is not readable Parquet: {error}"]}) from None
        key = arrow.to_string(show_field_metadata=False, show_schema_metadata=False)
        if key not in seen:
            seen.add(key)
            problems = _misfits(schema, arrow, format_version)
            if problems:
                raise SchemaConflict(f"the files of {what} do not fit: {'; '.join(problems)}", hint=CAST_HINT)


def check_types(arrow: pa.Schema) -> list[str]:
    """Problems with column types the lake refuses (unsigned 32/64-bit integers)."""
    return [
        f"{field.name} is {field.type}: write it as BIGINT (or DECIMAL(20,0) for UBIGINT)"
        for field in arrow
        if pa.types.is_uint32(field.type) or pa.types.is_uint64(field.type)
    ]


def _misfits(schema: Schema, arrow: pa.Schema, format_version: TableVersion) -> list[str]:
    names = {field.name for field in schema.fields}
    extra = [name for name in arrow.names if name not in names]
    if extra:
        return [f"the table has no column {', '.join(extra)}"]
    problems = check_types(arrow)
    if problems:
        return problems
    try:
        provided = pyarrow_to_schema(arrow, name_mapping=schema.name_mapping, format_version=format_version)
    except (ValueError, TypeError) as error:
        return [str(error)]
    return [problem for field in provided.fields if (problem := _type_misfit(schema, field))]


def _type_misfit(schema: Schema, provided: Any) -> str | None:
    wanted = schema.find_field(provided.field_id).field_type
    found = provided.field_type
    if wanted == found or any(isinstance(wanted, kind) and isinstance(found, kind) for kind in _CONTAINERS):
        return None
    try:
        promote(found, wanted)
    except ResolveError:
        return f"{provided.name} is {found} in the files but {wanted} in the table"
    return None


_CONTAINERS = (StructType, ListType, MapType)
