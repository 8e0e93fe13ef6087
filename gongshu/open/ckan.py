"""CKAN Action API compatibility (CKAN 兼容接口): the read actions as plain functions.

Each action takes an :class:`ActionContext` (platform, session, caller, the absolute base URL and the
portal index) and the request's parameters, and returns the CKAN-shaped ``result``; the service
(``gongshu/service/routes/ckan.py``) wraps it in CKAN's envelope ``{help, success, result}`` and turns
errors into ``{help, success: false, error: {__type, message}}`` with CKAN's statuses
(:func:`ckan_error`). See docs/open-ckan.md for what differs from CKAN.

Only open datasets exist here (:func:`~gongshu.open.datasets.load_open_datasets`): a 不予开放 entry, a
draft, an item that is not published (一般) — none is ever named, counted or listed. A 有条件开放
dataset's resources are listed, but their ``url`` is the application page and ``datastore_active`` is
false unless the caller holds an approved scope for it.

Licences (``license_id``): 无条件开放 data is published under ``cc-by`` (Creative Commons Attribution
4.0); 有条件开放 data under ``gongshu-conditional`` (the data-use agreement of an approved
application; not an open licence).
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from gongshu import __version__
from gongshu.errors import AuthenticationFailed, GongshuError, NotFound, PermissionDenied, ValidationFailed
from gongshu.open import datastore
from gongshu.open.caller import Caller
from gongshu.open.ckan_query import (
    SearchQueryError,
    as_bool,
    as_int,
    as_list,
    as_object,
    as_text,
    parse_query,
    text_or_object,
)
from gongshu.open.datasets import OpenDataset, entry_code, open_dataset
from gongshu.open.index import (
    DEFAULT_SORT,
    FACET_FIELDS,
    THEME_GROUPS,
    Clause,
    FacetItem,
    PortalIndex,
    SearchQuery,
    res_formats,
)
from gongshu.open.usage import record_access
from gongshu.platform import Platform

#: The CKAN version whose Action API gongshu answers like (reported by ``status_show``).
CKAN_API_VERSION = "2.10.4"
MAX_ROWS = 1000
DEFAULT_ROWS = 10
MAX_LIST = 1000
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:gongshu:open")
NOTHING = "\x00"  # a filter value no dataset holds
LICENSES = {
    "无条件开放": (
        "cc-by",
        "Creative Commons Attribution 4.0 (署名)",
        "https://creativecommons.org/licenses/by/4.0/",
        True,
    ),
    "有条件开放": ("gongshu-conditional", "有条件开放数据使用协议 (conditional-use agreement)", None, False),
}
MIMETYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: The CKAN ``__type`` and HTTP status of each kind of error.
ERROR_TYPES: dict[type[GongshuError], tuple[str, int]] = {
    NotFound: ("Not Found Error", 404),
    ValidationFailed: ("Validation Error", 409),
    PermissionDenied: ("Authorization Error", 403),
    AuthenticationFailed: ("Authorization Error", 401),
    SearchQueryError: ("Search Query Error", 400),
}
#: The ``__type`` of other errors, by their HTTP status (quotas: 429, with ``Retry-After``).
FALLBACK_TYPES = {
    400: "Bad Request",
    401: "Authorization Error",
    403: "Authorization Error",
    404: "Not Found Error",
    409: "Validation Error",
    422: "Validation Error",
    429: "Rate Limit Error",
}


class BadRequest(GongshuError):
    """An action name gongshu does not know, or a request body that is not a JSON object (400)."""

    code = "bad_request"
    http_status = 400


@dataclass(frozen=True)
class ActionContext:
    """What every action needs: the platform, the request's session, its caller, URLs and the index."""

    platform: Platform
    session: Session
    caller: Caller
    base_url: str  # absolute, without a trailing slash
    index: PortalIndex


Action = Callable[[ActionContext, Mapping[str, Any]], Any]


# --- identifiers ---------------------------------------------------------------------------------


def uuid_of(kind: str, key: str) -> str:
    """A stable id: ``uuid_of("dataset", "103001001/000001")`` is the same on every run."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


_ids: weakref.WeakKeyDictionary[PortalIndex, dict[str, str]] = weakref.WeakKeyDictionary()


def name_of_id(index: PortalIndex, key: str) -> str:
    """The dataset name a package id, name or 资源代码 refers to (``key`` itself when unknown)."""
    ids = _ids.get(index)
    if ids is None:
        ids = {uuid_of("dataset", d.code): d.name for d in index.datasets}
        _ids[index] = ids
    return ids.get(key, key)


def iso(moment: datetime | None) -> str | None:
    """CKAN's timestamps: UTC without an offset (``2024-05-01T08:00:00.123456``)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat()


# --- documents -----------------------------------------------------------------------------------


def organization_dict(dataset: OpenDataset, *, package_count: int | None = None) -> dict[str, Any]:
    """The providing department as a CKAN organization (name: its code in lower case)."""
    doc: dict[str, Any] = {
        "id": uuid_of("organization", dataset.provider_code),
        "name": dataset.provider_code.lower(),
        "title": dataset.provider_name,
        "display_name": dataset.provider_name,
        "description": dataset.provider_name_en,
        "image_url": "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "extras": [{"key": "统一社会信用代码", "value": dataset.provider_uscc}]
        if dataset.provider_uscc
        else [],
    }
    if package_count is not None:
        doc["package_count"] = package_count
    return doc


def group_dict(theme: str, *, package_count: int | None = None) -> dict[str, Any]:
    """A 数据领域 as a CKAN group (name: ``economy`` …, title: 经济建设)."""
    name, title_en = THEME_GROUPS[theme]
    doc: dict[str, Any] = {
        "id": uuid_of("group", name),
        "name": name,
        "title": theme,
        "display_name": theme,
        "description": title_en,
        "image_display_url": "",
        "type": "group",
        "is_organization": False,
        "state": "active",
        "approval_status": "approved",
    }
    if package_count is not None:
        doc["package_count"] = package_count
    return doc


def tag_dict(tag: str) -> dict[str, Any]:
    return {
        "id": uuid_of("tag", tag),
        "name": tag,
        "display_name": tag,
        "state": "active",
        "vocabulary_id": None,
    }


def may_use_data(caller: Caller, dataset: OpenDataset) -> bool:
    """True when the caller may download or query the dataset's data."""
    return caller.may_read(dataset)


def resource_dicts(dataset: OpenDataset, caller: Caller, base_url: str) -> list[dict[str, Any]]:
    """The published files as CKAN resources (``{name}-csv|json|xlsx``); none before publication."""
    publication = dataset.publication
    if publication is None:
        return []
    readable = may_use_data(caller, dataset)
    resources = []
    for position, fmt in enumerate(f.lower() for f in res_formats(dataset)):
        info = publication.files.get(fmt) or {}
        url = (
            f"{base_url}/open/datasets/{dataset.name}/download.{fmt}"
            if readable
            else f"{base_url}/open/datasets/{dataset.name}/apply"
        )
        resources.append(
            {
                "id": f"{dataset.name}-{fmt}",
                "package_id": uuid_of("dataset", dataset.code),
                "name": f"{dataset.title} ({fmt.upper()})",
                "description": f"{dataset.title}: {publication.rows:,} rows, version {publication.version}",
                "format": fmt.upper(),
                "url": url,
                "url_type": None,
                "size": info.get("bytes"),
                "hash": f"sha256:{info['sha256']}" if info.get("sha256") else "",
                "mimetype": MIMETYPES[fmt],
                "datastore_active": fmt == datastore.DATASTORE_RESOURCE and readable,
                "rows": info.get("rows", publication.rows),
                "created": iso(publication.published_at),
                "last_modified": iso(publication.published_at),
                "metadata_modified": iso(publication.published_at),
                "position": position,
                "state": "active",
                "resource_type": None,
            }
        )
    return resources


def package_dict(dataset: OpenDataset, caller: Caller, base_url: str) -> dict[str, Any]:
    """One open dataset as a CKAN package."""
    license_id, license_title, license_url, is_open = LICENSES[dataset.open_type]
    resources = resource_dicts(dataset, caller, base_url)
    tags = [tag_dict(tag) for tag in dict.fromkeys(dataset.tags)]
    groups = [group_dict(dataset.theme)] if dataset.theme in THEME_GROUPS else []
    extras = {
        "资源代码": dataset.code,
        "更新周期": dataset.update_cycle,
        "开放属性": dataset.open_type,
        "开放条件": dataset.open_condition or "",
        "数据领域": dataset.theme or "",
        "信息项": str(len(dataset.published_fields)),
        "资源格式": dataset.format,
        "发布日期": dataset.publish_date.isoformat() if dataset.publish_date else "",
        "行政区划": dataset.district_name,
    }
    organization = organization_dict(dataset)
    return {
        "id": uuid_of("dataset", dataset.code),
        "name": dataset.name,
        "title": dataset.title,
        "notes": dataset.summary,
        "url": f"{base_url}/open/datasets/{dataset.name}",
        "version": str(dataset.version),
        "type": "dataset",
        "state": "active",
        "private": False,
        "isopen": is_open,
        "license_id": license_id,
        "license_title": license_title,
        "license_url": license_url,
        "author": dataset.provider_name,
        "author_email": None,
        "maintainer": dataset.provider_name,
        "maintainer_email": None,
        "owner_org": organization["id"],
        "organization": organization,
        "groups": groups,
        "tags": tags,
        "num_tags": len(tags),
        "resources": resources,
        "num_resources": len(resources),
        "metadata_created": iso(dataset.created_at),
        "metadata_modified": iso(dataset.modified),
        "extras": [{"key": k, "value": v} for k, v in extras.items() if v != ""],
    }


# --- package_search --------------------------------------------------------------------------------


def _clauses(ctx: ActionContext, parsed: list[tuple[str, tuple[str, ...], bool]]) -> list[Clause]:
    """Index clauses of parsed ``field:value`` clauses; unknown fields raise a Search Query Error."""
    clauses = []
    for field, values, negate in parsed:
        clauses.append(_clause(ctx, field, values, negate))
    return clauses


def _clause(ctx: ActionContext, field: str, values: tuple[str, ...], negate: bool) -> Clause:
    if field in FACET_FIELDS or field == "name":
        if field == "res_format":
            values = tuple(v.upper() if v.lower() in ("csv", "json", "xlsx") else v for v in values)
        return Clause(field, values, negate)
    if field == "id":
        return Clause("name", tuple(name_of_id(ctx.index, v) for v in values), negate)
    if field == "owner_org":
        orgs = {uuid_of("organization", d.provider_code): d.provider_code for d in ctx.index.datasets}
        return Clause("organization", tuple(orgs.get(v, v) for v in values), negate)
    if field == "license_id":
        types = {lic[0]: open_type for open_type, lic in LICENSES.items()}
        return Clause("open_type", tuple(types.get(v, NOTHING) for v in values), negate)
    if field in ("capacity", "state", "dataset_type", "type"):
        everything = {"capacity": "public", "state": "active", "dataset_type": "dataset", "type": "dataset"}[
            field
        ]
        matches_all = any(v in (everything, "*") for v in values)
        return Clause("name", ("*",) if matches_all else (NOTHING,), negate)
    raise SearchQueryError(
        f"cannot filter on {field!r}",
        hint="fq fields: organization, groups, tags, res_format, update_cycle, open_type, name, id, "
        "owner_org, license_id, capacity",
        value=field,
    )


def search_query(ctx: ActionContext, data: Mapping[str, Any]) -> SearchQuery:
    """``package_search``'s parameters as an index query."""
    parsed_q = parse_query(as_text(data, "q"), free_text=True)
    text = parsed_q.text
    clauses: list[Clause] = []
    for field, values, negate in parsed_q.clauses:
        try:
            clauses.append(_clause(ctx, field, values, negate))
        except SearchQueryError:  # q "http://…" or "时间:10": an unknown field is just text
            text = f"{text} {field}:{' '.join(values)}".strip()
    fq_texts = [as_text(data, "fq")] + (as_list(data, "fq_list") or [])
    for fq in fq_texts:
        clauses += _clauses(ctx, list(parse_query(fq, free_text=False).clauses))
    facet_fields: tuple[str, ...] = ()
    if as_bool(data, "facet", True):
        facet_fields = tuple(as_list(data, "facet.field") or ())
        unknown = [f for f in facet_fields if f not in FACET_FIELDS]
        if unknown:
            raise ValidationFailed({"facet.field": [f"unknown facet field {f!r}" for f in unknown]})
    return SearchQuery(
        q=text,
        clauses=tuple(clauses),
        sort=as_text(data, "sort") or DEFAULT_SORT,
        start=as_int(data, "start", 0),
        rows=as_int(data, "rows", DEFAULT_ROWS, maximum=MAX_ROWS),
        facet_fields=facet_fields,
        facet_limit=as_int(data, "facet.limit", 50, minimum=-1),
        facet_mincount=as_int(data, "facet.mincount", 1),
    )


def facet_doc(items: list[FacetItem]) -> dict[str, int]:
    return {item.name: item.count for item in items}


def package_search(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Search open datasets: ``q``, ``fq``, ``rows`` (≤ 1000), ``start``, ``sort``, ``facet.field`` …"""
    query = search_query(ctx, data)
    found = ctx.index.search(query)
    return {
        "count": found.count,
        "sort": query.sort,
        "results": [package_dict(d, ctx.caller, ctx.base_url) for d in found.datasets],
        "facets": {name: facet_doc(items) for name, items in found.facets.items()},
        "search_facets": {
            name: {
                "title": name,
                "items": [{"name": i.name, "display_name": i.display_name, "count": i.count} for i in items],
            }
            for name, items in found.facets.items()
        },
    }


# --- the other actions ---------------------------------------------------------------------------


def status_show(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """The site: its URL, the CKAN API version it answers like, extensions (``datastore``)."""
    return {
        "site_title": "gongshu 公数 · 公共数据开放平台",
        "site_description": "Open data of the city (公共数据开放), CKAN Action API compatible",
        "site_url": ctx.base_url,
        "ckan_version": CKAN_API_VERSION,
        "gongshu_version": __version__,
        "error_emails_to": None,
        "locale_default": "zh_Hans_CN",
        "extensions": ["datastore", "dcat"],
    }


def help_show(ctx: ActionContext, data: Mapping[str, Any]) -> str:
    """The documentation of an action (``name``)."""
    name = as_text(data, "name")
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound(f"action {name!r} is not known")
    return (action.__doc__ or "").strip()


def package_list(ctx: ActionContext, data: Mapping[str, Any]) -> list[str]:
    """Names of every open dataset, by 资源代码; ``limit`` and ``offset`` page through them."""
    limit = as_int(data, "limit", len(ctx.index.datasets))
    offset = as_int(data, "offset", 0)
    return [d.name for d in ctx.index.datasets[offset : offset + limit]]


def package_show(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """One open dataset by ``id`` (its id, name or 资源代码)."""
    return package_dict(_dataset(ctx, data), ctx.caller, ctx.base_url)


def _dataset(ctx: ActionContext, data: Mapping[str, Any], key: str = "id") -> OpenDataset:
    ident = as_text(data, key).strip()
    if not ident:
        raise ValidationFailed({key: ["Missing value"]})
    try:
        return open_dataset(ctx.session, name_of_id(ctx.index, ident))
    except NotFound:
        raise NotFound("Dataset not found") from None  # the same for unknown and not open


def _organizations(ctx: ActionContext) -> list[tuple[OpenDataset, int]]:
    """Departments with open datasets: one dataset of each (for its names) and their counts."""
    first: dict[str, OpenDataset] = {}
    counts: dict[str, int] = {}
    for dataset in ctx.index.datasets:
        first.setdefault(dataset.provider_code, dataset)
        counts[dataset.provider_code] = counts.get(dataset.provider_code, 0) + 1
    return [(first[code], counts[code]) for code in first]


def _listing(
    data: Mapping[str, Any], docs: list[dict[str, Any]], *, key: str, default_limit: int
) -> list[Any]:
    """Sort (``name``, ``title`` or ``package_count`` with asc/desc), filter by names, page, shape."""
    sort = (as_text(data, "sort") or "name asc").split()
    field = {"title": "title", "name": "name", "package_count": "package_count"}.get(sort[0])
    if field is None or len(sort) > 2 or (len(sort) == 2 and sort[1] not in ("asc", "desc")):
        raise ValidationFailed({"sort": ["Cannot sort by field `" + " ".join(sort) + "`"]})
    docs.sort(key=lambda d: (d[field], d["name"]), reverse=len(sort) == 2 and sort[1] == "desc")
    wanted = as_list(data, key, comma=True)
    if wanted is not None:
        docs = [d for d in docs if d["name"] in wanted or d["id"] in wanted]
    all_fields = as_bool(data, "all_fields", False)
    limit = as_int(data, "limit", default_limit if all_fields else MAX_LIST, maximum=MAX_LIST)
    offset = as_int(data, "offset", 0)
    page = docs[offset : offset + limit]
    if not all_fields:
        return [d["name"] for d in page]
    if not as_bool(data, "include_dataset_count", True):
        for d in page:
            d.pop("package_count", None)
    return page


def organization_list(ctx: ActionContext, data: Mapping[str, Any]) -> list[Any]:
    """Departments with open datasets: names, or dicts with ``all_fields``; sort, limit, offset."""
    docs = [organization_dict(d, package_count=n) for d, n in _organizations(ctx)]
    return _listing(data, docs, key="organizations", default_limit=25)


def organization_show(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """A department by ``id`` (id, name or code); ``include_datasets`` adds up to 1,000 of its packages."""
    ident = as_text(data, "id").strip()
    for dataset, count in _organizations(ctx):
        doc = organization_dict(dataset, package_count=count)
        if ident in (doc["id"], doc["name"], dataset.provider_code):
            if as_bool(data, "include_datasets", False):
                found = ctx.index.search(
                    SearchQuery(
                        clauses=(Clause("organization", (doc["name"],)),), sort="name asc", rows=MAX_ROWS
                    )
                )
                doc["packages"] = [package_dict(d, ctx.caller, ctx.base_url) for d in found.datasets]
            return doc
    raise NotFound("Organization not found")


def _groups(ctx: ActionContext) -> list[dict[str, Any]]:
    counts = {item.name: item.count for item in ctx.index.facet_all("groups")}
    return [group_dict(theme, package_count=counts.get(name, 0)) for theme, (name, _) in THEME_GROUPS.items()]


def group_list(ctx: ActionContext, data: Mapping[str, Any]) -> list[Any]:
    """The twelve 数据领域 as groups: names, or dicts with ``all_fields``; ``sort``, ``limit``, ``offset``."""
    return _listing(data, _groups(ctx), key="groups", default_limit=25)


def group_show(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """A 数据领域 by ``id`` (id, name or its Chinese title); ``include_datasets`` adds its packages."""
    ident = as_text(data, "id").strip()
    for doc in _groups(ctx):
        if ident in (doc["id"], doc["name"], doc["title"]):
            if as_bool(data, "include_datasets", False):
                found = ctx.index.search(
                    SearchQuery(clauses=(Clause("groups", (doc["name"],)),), sort="name asc", rows=MAX_ROWS)
                )
                doc["packages"] = [package_dict(d, ctx.caller, ctx.base_url) for d in found.datasets]
            return doc
    raise NotFound("Group not found")


def tag_list(ctx: ActionContext, data: Mapping[str, Any]) -> list[Any]:
    """Tags of open datasets, by name; ``query`` keeps those containing it; ``all_fields`` gives dicts."""
    query = as_text(data, "query").strip().lower()
    names = sorted(item.name for item in ctx.index.facet_all("tags"))
    if query:
        names = [n for n in names if query in n.lower()]
    if as_bool(data, "all_fields", False):
        return [tag_dict(n) for n in names]
    return names


def _resource(ctx: ActionContext, resource_id: str) -> tuple[OpenDataset, dict[str, Any]]:
    name, _, fmt = resource_id.strip().rpartition("-")
    if not name or fmt not in ("csv", "json", "xlsx"):
        raise NotFound("Resource was not found.")
    try:
        dataset = open_dataset(ctx.session, entry_code(name))
    except NotFound:
        raise NotFound("Resource was not found.") from None
    for resource in resource_dicts(dataset, ctx.caller, ctx.base_url):
        if resource["id"] == resource_id.strip():
            return dataset, resource
    raise NotFound("Resource was not found.")


def resource_show(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """A resource by ``id`` (``{name}-csv``, ``-json`` or ``-xlsx``)."""
    ident = as_text(data, "id")
    if not ident.strip():
        raise ValidationFailed({"id": ["Missing value"]})
    return _resource(ctx, ident)[1]


def datastore_search(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Rows of a ``datastore_active`` resource (``{name}-csv``): filters, q, sort, fields, limit ≤ 32,000,
    offset, include_total, distinct. A 有条件开放 dataset needs an approved application's credential."""
    resource_id = as_text(data, "resource_id") or as_text(data, "id")
    if not resource_id.strip():
        raise ValidationFailed({"resource_id": ["Missing value"]})
    name, _, fmt = resource_id.strip().rpartition("-")
    if fmt != datastore.DATASTORE_RESOURCE:
        raise NotFound(f'Resource "{resource_id}" was not found.')
    try:
        dataset = open_dataset(ctx.session, entry_code(name))
    except NotFound:
        raise NotFound(f'Resource "{resource_id}" was not found.') from None
    if not may_use_data(ctx.caller, dataset):
        raise PermissionDenied(
            f"not authorised to read {resource_id!r}",
            hint=None
            if dataset.unconditional
            else f"apply for access at /open/datasets/{dataset.name}/apply",
        )
    result = datastore.datastore_search(
        ctx.platform,
        dataset,
        ctx.caller,
        filters=as_object(data, "filters"),
        q=text_or_object(data, "q"),
        sort=as_text(data, "sort") or None,
        fields=as_list(data, "fields", comma=True),
        limit=as_int(data, "limit", datastore.DEFAULT_LIMIT, maximum=datastore.MAX_LIMIT),
        offset=as_int(data, "offset", 0),
        include_total=as_bool(data, "include_total", True),
        distinct=as_bool(data, "distinct", False),
    )
    record_access(
        ctx.session,
        ctx.caller,
        dataset,
        channel="datastore_search",
        fields=[f["id"] for f in result["fields"] if f["id"] != "_id"],
        rows=len(result["records"]),
    )
    return result


ACTIONS: dict[str, Action] = {
    "status_show": status_show,
    "help_show": help_show,
    "package_list": package_list,
    "package_search": package_search,
    "package_show": package_show,
    "organization_list": organization_list,
    "organization_show": organization_show,
    "group_list": group_list,
    "group_show": group_show,
    "tag_list": tag_list,
    "resource_show": resource_show,
    "datastore_search": datastore_search,
}


def run_action(ctx: ActionContext, name: str, data: Mapping[str, Any]) -> Any:
    """Run the action ``name``; :class:`BadRequest` when it is not one gongshu answers."""
    action = ACTIONS.get(name)
    if action is None:
        raise BadRequest(f"Bad request - Action name not known: {name}", value=name)
    return action(ctx, data)


def ckan_error(error: GongshuError) -> tuple[int, dict[str, Any]]:
    """CKAN's HTTP status and ``error`` object of a gongshu error."""
    known = [pair for kind, pair in ERROR_TYPES.items() if isinstance(error, kind)]
    type_name, status = (
        known[0] if known else (FALLBACK_TYPES.get(error.http_status, "Bad Request"), error.http_status)
    )
    if isinstance(error, ValidationFailed):  # CKAN's shape: field → [messages]
        return status, {**error.problems, "__type": type_name}
    prefix = {"Not Found Error": "Not found: ", "Authorization Error": "Access denied: "}.get(type_name, "")
    body: dict[str, Any] = {"__type": type_name, "message": prefix + error.message}
    if error.hint:
        body["hint"] = error.hint
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        body["retry_after"] = retry_after
    return status, body
