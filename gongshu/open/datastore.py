"""CKAN's ``datastore_search`` over an open dataset's current publication (its sorted Parquet file).

Semantics follow CKAN's DataStore API: ``filters`` (field → value, a list meaning any of), ``q``
(full text across the readable text fields, or field → text), ``sort`` (``"a asc, b desc"``),
``fields``, ``limit`` (0 to :data:`MAX_LIMIT`), ``offset``, ``include_total`` and ``distinct``. The
answer has CKAN's shape (``resource_id``, ``fields`` with ``_id`` first, ``records``, ``total``,
``limit``, ``offset``, ``_links``, ``filters``, ``q``, ``sort``).

Only the fields :meth:`~gongshu.open.caller.Caller.readable_fields` grants are visible; a field that
is unknown and one that is withheld are refused with the same message, so a caller cannot probe
which 信息项 exist. Names are quoted with :func:`~gongshu.collect.sqlbits.ident` after being checked
against the visible fields, and every value is a bound parameter. ``_id`` is the row's 1-based number
in the publication's order (stable for a version).

Each thread keeps one DuckDB connection (cursors of one in-memory database, sharing its Parquet
metadata cache); with the file sorted by key and ~100k-row groups, an equality filter reads only
the row groups whose statistics can match.
"""

from __future__ import annotations

# ruff: noqa: S608 - identifiers are quoted with sqlbits.ident after validation; values are bound
import datetime as dt
import decimal
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from gongshu.collect.sqlbits import ident, lit
from gongshu.engine import connect
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.open.caller import Caller
from gongshu.open.datasets import OpenDataset
from gongshu.open.publish import ROW_ID
from gongshu.platform import Platform

#: CKAN's maximum ``limit`` of one ``datastore_search`` call.
MAX_LIMIT = 32_000
DEFAULT_LIMIT = 100
#: The CKAN resource id suffix of the datastore resource (the CSV resource is ``datastore_active``).
DATASTORE_RESOURCE = "csv"
SEARCH_PATH = "/api/3/action/datastore_search"

_SORT_PART = re.compile(
    r'^\s*(?:"(?P<quoted>[^"]+)"|(?P<bare>[^\s"]+))\s*(?P<dir>asc|desc)?\s*$', re.IGNORECASE
)
_local = threading.local()
_root_lock = threading.Lock()
_root: duckdb.DuckDBPyConnection | None = None


@dataclass(frozen=True)
class DatastoreQuery:
    """A checked ``datastore_search`` query: every name is visible, every value still to be bound."""

    columns: tuple[str, ...]  # the answer's columns (``_id`` first unless distinct)
    where: str
    params: tuple[Any, ...]
    order: str
    limit: int
    offset: int
    distinct: bool


def resource_id(dataset: OpenDataset) -> str:
    """The CKAN resource id of the dataset's datastore (``{name}-csv``)."""
    return f"{dataset.name}-{DATASTORE_RESOURCE}"


def datastore_path(platform: Platform, dataset: OpenDataset) -> Path:
    """The current publication's Parquet file; :class:`NotFound` when there is no publication."""
    publication = dataset.publication
    if publication is None:
        raise NotFound(
            f"resource {resource_id(dataset)!r} has no datastore yet (not published)",
            value=resource_id(dataset),
        )
    path = platform.settings.data_dir / publication.datastore
    if not path.exists():
        raise NotFound(f"the datastore of {resource_id(dataset)!r} is missing", value=resource_id(dataset))
    return path


def visible_fields(dataset: OpenDataset, caller: Caller) -> tuple[str, ...]:
    """The fields ``caller`` may read that the publication holds; :class:`PermissionDenied` if none."""
    published = set(dataset.publication.fields) if dataset.publication is not None else set()
    fields = tuple(f for f in caller.readable_fields(dataset) if f in published)
    if not fields:
        raise PermissionDenied(
            f"not authorised to read {dataset.name!r}",
            hint=None
            if dataset.unconditional
            else f"apply for access at /open/datasets/{dataset.name}/apply",
        )
    return fields


def cursor() -> duckdb.DuckDBPyConnection:
    """This thread's DuckDB connection (a cursor of one shared in-memory database)."""
    global _root
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        with _root_lock:
            if _root is None:
                _root = connect()
                _root.execute("SET parquet_metadata_cache = true")
            con = _root.cursor()
        _local.con = con
    return con


# -- parsing ---------------------------------------------------------------------------------------


def _unknown(parameter: str, name: object) -> ValidationFailed:
    return ValidationFailed({parameter: [f"field {str(name)[:100]!r} not in resource"]})


def _checked(parameter: str, name: object, allowed: Sequence[str]) -> str:
    if not isinstance(name, str) or name not in allowed:
        raise _unknown(parameter, name)
    return name


def parse_sort(sort: str | None, allowed: Sequence[str]) -> list[tuple[str, str]]:
    """``"a asc, b desc"`` → [(a, ASC), (b, DESC)]; each name must be visible."""
    if sort is None or not sort.strip():
        return []
    parts = []
    for part in sort.split(","):
        match = _SORT_PART.match(part)
        if match is None:
            raise ValidationFailed({"sort": [f"cannot parse sort {part.strip()[:100]!r}: write 'field asc'"]})
        name = _checked("sort", match.group("quoted") or match.group("bare"), allowed)
        parts.append((name, (match.group("dir") or "asc").upper()))
    return parts


def _scalar(parameter: str, value: object) -> Any:
    if isinstance(value, bool | int | float | str):
        return value
    raise ValidationFailed({parameter: ["values must be strings, numbers, booleans or lists of them"]})


def _filters_sql(filters: Mapping[str, Any] | None, allowed: Sequence[str]) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if filters is None:
        return clauses, params
    if not isinstance(filters, Mapping):
        raise ValidationFailed({"filters": ["filters must be an object of field → value"]})
    for name, value in filters.items():
        column = ident(_checked("filters", name, allowed))
        values = list(value) if isinstance(value, list | tuple) else [value]
        if not values:
            clauses.append("false")
            continue
        bound = [_scalar("filters", v) for v in values]
        if len(bound) == 1:
            clauses.append(f"{column} = ?")
        else:
            clauses.append(f"{column} IN ({', '.join('?' for _ in bound)})")
        params.extend(bound)
    return clauses, params


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _q_sql(
    q: str | Mapping[str, Any] | None, allowed: Sequence[str], text_fields: Sequence[str]
) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if q is None or (isinstance(q, str) and not q.strip()):
        return clauses, params
    if isinstance(q, Mapping):
        for name, text in q.items():
            column = ident(_checked("q", name, allowed))
            clauses.append(f"CAST({column} AS VARCHAR) ILIKE ? ESCAPE '\\'")
            params.append(_like(str(_scalar("q", text))))
        return clauses, params
    if not isinstance(q, str):
        raise ValidationFailed({"q": ["q must be text or an object of field → text"]})
    for term in q.split():
        if not text_fields:
            clauses.append("false")
            continue
        ors = " OR ".join(f"{ident(f)} ILIKE ? ESCAPE '\\'" for f in text_fields)
        clauses.append(f"({ors})")
        params.extend([_like(term)] * len(text_fields))
    return clauses, params


def build_query(
    visible: Sequence[str],
    schema: pa.Schema,
    *,
    filters: Mapping[str, Any] | None = None,
    q: str | Mapping[str, Any] | None = None,
    sort: str | None = None,
    fields: Sequence[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    distinct: bool = False,
) -> DatastoreQuery:
    """Check every parameter against the visible fields and compile the query (values left to bind)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
        raise ValidationFailed({"limit": [f"limit must be an integer from 0 to {MAX_LIMIT}"]})
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationFailed({"offset": ["offset must be a non-negative integer"]})
    allowed = (ROW_ID, *visible)
    if fields is None or len(fields) == 0:
        chosen = list(visible)
    else:
        chosen = [_checked("fields", f, allowed) for f in fields if f != ROW_ID]
    columns = tuple(dict.fromkeys(chosen)) if distinct else (ROW_ID, *dict.fromkeys(chosen))
    text_fields = [
        f
        for f in visible
        if pa.types.is_string(schema.field(f).type) or pa.types.is_large_string(schema.field(f).type)
    ]
    where, params = _filters_sql(filters, allowed)
    more, more_params = _q_sql(q, visible, text_fields)
    where += more
    params += more_params
    sorting = parse_sort(sort, columns if distinct else allowed)
    order = [f"{ident(name)} {direction}" for name, direction in sorting]
    if distinct:
        order += [f"{ident(c)} ASC" for c in columns if c not in {name for name, _ in sorting}]
    elif ROW_ID not in {name for name, _ in sorting}:
        order.append(f"{ident(ROW_ID)} ASC")  # stable pages
    return DatastoreQuery(
        columns=columns,
        where=" AND ".join(f"({c})" for c in where) or "true",
        params=tuple(params),
        order=", ".join(order),
        limit=limit,
        offset=offset,
        distinct=distinct,
    )


# -- the search ------------------------------------------------------------------------------------


def ckan_type(type_: pa.DataType) -> str:
    """The CKAN DataStore type of an Arrow type (``text``, ``int``, ``float``, ``numeric``, …)."""
    if pa.types.is_integer(type_):
        return "int"
    if pa.types.is_floating(type_):
        return "float"
    if pa.types.is_decimal(type_):
        return "numeric"
    if pa.types.is_boolean(type_):
        return "bool"
    if pa.types.is_timestamp(type_):
        return "timestamp"
    if pa.types.is_date(type_):
        return "date"
    if pa.types.is_time(type_):
        return "time"
    return "text"


def json_value(value: Any) -> Any:
    """A record value as CKAN answers it: ISO dates and times, numbers as numbers."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def datastore_search(
    platform: Platform,
    dataset: OpenDataset,
    caller: Caller,
    *,
    filters: dict[str, Any] | None = None,
    q: str | dict[str, Any] | None = None,
    sort: str | None = None,
    fields: list[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    include_total: bool = True,
    distinct: bool = False,
) -> dict[str, Any]:
    """Search the dataset's datastore as ``caller``; CKAN's ``datastore_search`` result.

    Raises:
        NotFound: the dataset has no publication yet.
        PermissionDenied: the caller may read none of its fields.
        ValidationFailed: a bad parameter, or a field that is unknown or not readable (keyed by parameter).
    """
    visible = visible_fields(dataset, caller)
    path = datastore_path(platform, dataset)
    schema = pq.read_schema(path)
    query = build_query(
        visible,
        schema,
        filters=filters,
        q=q,
        sort=sort,
        fields=fields,
        limit=limit,
        offset=offset,
        distinct=distinct,
    )
    source = f"read_parquet({lit(str(path))})"
    select = "SELECT DISTINCT" if query.distinct else "SELECT"
    columns = ", ".join(ident(c) for c in query.columns)
    where, params, offset = query.where, list(query.params), query.offset
    if where == "true" and query.order == f"{ident(ROW_ID)} ASC" and not query.distinct:
        # _id numbers the rows 1..N: a deep page is a range of row groups, not a sort of everything before it
        where, params, offset = f"{ident(ROW_ID)} > ?", [query.offset], 0
    sql = (
        f"{select} {columns} FROM {source} WHERE {where} ORDER BY {query.order} "
        f"LIMIT {query.limit} OFFSET {offset}"
    )
    con = cursor()
    try:
        rows = con.execute(sql, params).fetchall() if query.limit else []
        total = _total(con, source, query, dataset, len(rows)) if include_total else None
    except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.BinderException) as error:
        raise ValidationFailed(
            {"filters": [f"a value does not fit its field's type: {type(error).__name__}"]}
        ) from None
    labels = {f.name: f.label for f in dataset.fields}
    described: list[dict[str, Any]] = [{"id": ROW_ID, "type": "int"}] if ROW_ID in query.columns else []
    described += [
        {"id": c, "type": ckan_type(schema.field(c).type), "info": {"label": labels.get(c, c)}}
        for c in query.columns
        if c != ROW_ID
    ]
    records = [{c: json_value(v) for c, v in zip(query.columns, row, strict=True)} for row in rows]
    result: dict[str, Any] = {
        "include_total": include_total,
        "resource_id": resource_id(dataset),
        "fields": described,
        "records_format": "objects",
        "records": records,
        "limit": query.limit,
        "offset": query.offset,
        "_links": links(
            resource_id(dataset), filters=filters, q=q, sort=sort, fields=fields, limit=limit, offset=offset
        ),
    }
    if include_total:
        result["total"] = total
        result["total_was_estimated"] = False
    if filters:
        result["filters"] = filters
    if q:
        result["q"] = q
    if sort:
        result["sort"] = sort
    if distinct:
        result["distinct"] = True
    return result


def _total(
    con: duckdb.DuckDBPyConnection, source: str, query: DatastoreQuery, dataset: OpenDataset, found: int
) -> int:
    if query.where == "true" and not query.distinct and dataset.publication is not None:
        return dataset.publication.rows  # the file's row count, without a scan
    if 0 < found < query.limit or (found == 0 < query.limit and query.offset == 0):
        return query.offset + found  # the page ran out: the total is known without counting
    if query.distinct:
        columns = ", ".join(ident(c) for c in query.columns)
        sql = f"SELECT count(*) FROM (SELECT DISTINCT {columns} FROM {source} WHERE {query.where})"
    else:
        sql = f"SELECT count(*) FROM {source} WHERE {query.where}"
    row = con.execute(sql, list(query.params)).fetchone()
    return int(row[0]) if row is not None else 0


def links(
    resource: str,
    *,
    filters: Mapping[str, Any] | None,
    q: str | Mapping[str, Any] | None,
    sort: str | None,
    fields: Sequence[str] | None,
    limit: int,
    offset: int,
) -> dict[str, str]:
    """CKAN's ``_links``: the first page and the next page of the same query."""
    params: dict[str, Any] = {"resource_id": resource}
    if filters:
        params["filters"] = json.dumps(filters, ensure_ascii=False)
    if q:
        params["q"] = q if isinstance(q, str) else json.dumps(q, ensure_ascii=False)
    if sort:
        params["sort"] = sort
    if fields:
        params["fields"] = ",".join(fields)
    if limit != DEFAULT_LIMIT:
        params["limit"] = limit
    start = f"{SEARCH_PATH}?{urlencode(params)}"
    following = f"{SEARCH_PATH}?{urlencode({**params, 'offset': offset + limit})}"
    return {"start": start, "next": following}
