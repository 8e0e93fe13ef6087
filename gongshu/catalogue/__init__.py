"""Resource catalogue (资源目录): entries, data items (信息项), data elements (数据元), lifecycle, search.

Step 1 of the data's journey: a department declares what it holds before anything is collected.
"""

from __future__ import annotations

from gongshu.catalogue.browse import (
    CatalogPage,
    CatalogQuery,
    get_entry,
    list_versions,
    search_entries,
)
from gongshu.catalogue.entries import ACTIONS, create_entry, parse_spec, transition, update_entry
from gongshu.catalogue.models import CatalogEntry, CatalogItem, CatalogVersion, DataElement
from gongshu.catalogue.specs import EntrySpec, Grade, OpenType, ShareType, Status, UpdateCycle

__all__ = [
    "ACTIONS",
    "CatalogEntry",
    "CatalogItem",
    "CatalogPage",
    "CatalogQuery",
    "CatalogVersion",
    "DataElement",
    "EntrySpec",
    "Grade",
    "OpenType",
    "ShareType",
    "Status",
    "UpdateCycle",
    "create_entry",
    "get_entry",
    "list_versions",
    "parse_spec",
    "search_entries",
    "transition",
    "update_entry",
]
