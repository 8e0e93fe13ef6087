"""The portal's dataset search page (数据目录检索) at ``/open/datasets`` and its ``.json`` twin.

A query box (Chinese word segmentation), facets with counts (部门, 数据领域, 格式, 更新周期, 开放属性,
标签) where several values of one facet are ORed and facets are ANDed, result cards linking to
``/open/datasets/{name}``, sorting and pagination. The search is :meth:`PortalIndex.search
<gongshu.open.index.PortalIndex.search>`, the same as CKAN's ``package_search``; only open datasets
are in it. The dataset page itself belongs to ``open_portal``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request

from gongshu.open.datasets import OpenDataset
from gongshu.open.index import THEME_GROUPS, Clause, FacetItem, SearchQuery, portal_index, res_formats
from gongshu.service.deps import PlatformDep, SessionDep
from gongshu.web.twins import page

router = APIRouter()

PER_PAGE = 20
#: Facets shown, in order (the page's query parameter is the CKAN facet name).
PAGE_FACETS = ("organization", "groups", "res_format", "update_cycle", "open_type", "tags")
#: The page's sort choices → the index's sort.
SORTS = {
    "relevance": "score desc, metadata_modified desc",
    "modified": "metadata_modified desc",
    "title": "title_string asc",
    "name": "name asc",
}
FacetParam = Annotated[list[str] | None, Query()]


def _wanted(values: list[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values or () if v and v.strip()))


def _query_string(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs)


def search_href(pairs: list[tuple[str, str]], **changes: Any) -> str:
    """``/open/datasets`` with the search's parameters, after toggling or setting some."""
    kept = [(k, v) for k, v in pairs if k not in changes]
    for key, value in changes.items():
        if value is not None and value != "":
            kept.append((key, str(value)))
    query = _query_string(kept)
    return f"/open/datasets?{query}" if query else "/open/datasets"


def _toggled(pairs: list[tuple[str, str]], field: str, value: str) -> str:
    present = (field, value) in pairs
    changed = [p for p in pairs if p != (field, value)] if present else [*pairs, (field, value)]
    query = _query_string(changed)
    return f"/open/datasets?{query}" if query else "/open/datasets"


def card(dataset: OpenDataset) -> dict[str, Any]:
    """A result card: what a citizen scans before opening the dataset."""
    publication = dataset.publication
    return {
        "name": dataset.name,
        "code": dataset.code,
        "title": dataset.title,
        "summary": dataset.summary,
        "provider_code": dataset.provider_code,
        "provider_name": dataset.provider_name,
        "provider_name_en": dataset.provider_name_en,
        "theme": dataset.theme,
        "theme_en": THEME_GROUPS[dataset.theme][1] if dataset.theme in THEME_GROUPS else None,
        "open_type": dataset.open_type,
        "update_cycle": dataset.update_cycle,
        "tags": list(dataset.tags),
        "formats": list(res_formats(dataset)),
        "rows": publication.rows if publication is not None else None,
        "modified": dataset.modified.date().isoformat(),
    }


def facet_doc(
    name: str, items: list[FacetItem], chosen: tuple[str, ...], pairs: list[tuple[str, str]]
) -> dict[str, Any]:
    chosen_lower = {c.lower() for c in chosen}
    values = [
        {
            "value": item.name,
            "label": item.display_name,
            "label_en": item.display_name_en,
            "count": item.count,
            "active": item.name.lower() in chosen_lower,
            "href": _toggled(pairs, name, item.name),
        }
        for item in items
    ]
    return {"name": name, "values": values}


@page(router, "/open/datasets", "open/search.html")
def open_search(
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    q: str = "",
    sort: str = "relevance",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    organization: FacetParam = None,
    groups: FacetParam = None,
    res_format: FacetParam = None,
    update_cycle: FacetParam = None,
    open_type: FacetParam = None,
    tags: FacetParam = None,
) -> dict[str, Any]:
    """Search open datasets with facets (部门, 数据领域, 格式, 更新周期, 开放属性, 标签)."""
    chosen = {
        "organization": _wanted(organization),
        "groups": _wanted(groups),
        "res_format": _wanted(res_format),
        "update_cycle": _wanted(update_cycle),
        "open_type": _wanted(open_type),
        "tags": _wanted(tags),
    }
    sort_key = sort if sort in SORTS else "relevance"
    text = q.strip()[:200]
    index = portal_index(platform, session)
    found = index.search(
        SearchQuery(
            q=text,
            clauses=tuple(Clause(name, values) for name, values in chosen.items() if values),
            sort=SORTS[sort_key],
            start=(page - 1) * PER_PAGE,
            rows=PER_PAGE,
            facet_fields=PAGE_FACETS,
            facet_limit=-1,
        )
    )
    pairs = [(name, value) for name, values in chosen.items() for value in values]
    if text:
        pairs.insert(0, ("q", text))
    if sort_key != "relevance":
        pairs.append(("sort", sort_key))
    facets = [facet_doc(name, found.facets[name], chosen[name], pairs) for name in PAGE_FACETS]
    labels = {(f["name"], v["value"].lower()): v for f in facets for v in f["values"]}
    active = [
        {
            "name": name,
            "value": value,
            "label": labels.get((name, value.lower()), {}).get("label", value),
            "label_en": labels.get((name, value.lower()), {}).get("label_en", value),
            "href": _toggled(pairs, name, value),
        }
        for name, values in chosen.items()
        for value in values
    ]
    pages = max(1, -(-found.count // PER_PAGE))
    return {
        "query": {"q": text, "sort": sort_key, **{k: list(v) for k, v in chosen.items()}},
        "total": found.count,
        "page": page,
        "pages": pages,
        "per_page": PER_PAGE,
        "fallback": found.fallback,
        "results": [card(d) for d in found.datasets],
        "facets": facets,
        "active": active,
        "sorts": list(SORTS),
        "page_hrefs": {
            str(n): search_href(pairs, page=n if n > 1 else None)
            for n in range(max(1, page - 3), min(pages, page + 3) + 1)
        }
        | {
            "prev": search_href(pairs, page=page - 1 if page > 2 else None),
            "next": search_href(pairs, page=page + 1),
        },
        "clear_href": "/open/datasets",
        "hidden": [{"name": k, "value": v} for k, v in pairs if k not in ("q", "sort")],
    }
