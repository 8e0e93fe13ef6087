"""The dataset page of the public portal (数据集详情): everything the public may know about one dataset.

:func:`dataset_page` returns the page's context (also its JSON twin): every catalogue field, the
published 信息项 (only 一般 items; the number of items that are not published is shown, never their
names or labels), a preview of the first rows when the caller may read the data (recorded as one
access, channel ``preview``), the downloads with their rows, sizes and SHA-256 digests, API examples,
the update history (every publication), the latest quality score and the on-time status.

A dataset that is not open is reported exactly like an unknown one (:class:`~gongshu.errors.NotFound`
from :func:`~gongshu.open.datasets.open_dataset`).
"""

from __future__ import annotations

import json
import shlex
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry, DataElement
from gongshu.collect.sqlbits import idents
from gongshu.engine import duck
from gongshu.open.caller import Caller
from gongshu.open.datasets import DOWNLOAD_FORMATS, OpenDataset, dataset_name, is_open, open_dataset
from gongshu.open.freshness import freshness_of
from gongshu.open.models import OpenPublication
from gongshu.open.portal import Usage, theme_key, usage_by_entry
from gongshu.open.usage import record_access
from gongshu.quality.models import AuditRun
from gongshu.quality.rules import load_rulebook

PREVIEW_ROWS = 10
#: The example key shown in API documentation (never a real one).
KEY_PLACEHOLDER = "gok_..."
CREDENTIAL_PLACEHOLDER = "goc_..."
DCAT_FORMATS = ("ttl", "jsonld", "xml")
#: The counts of a publication's ``changes`` the update history shows.
CHANGE_KINDS = ("added", "removed", "changed")


def dataset_page(
    session: Session,
    name: str,
    caller: Caller,
    *,
    data_dir: Path,
    base_url: str,
    today: date,
) -> dict[str, Any]:
    """The context of ``/open/datasets/{name}`` for ``caller`` (see the module docstring)."""
    dataset = open_dataset(session, name)
    readable = caller.readable_fields(dataset)
    preview = read_preview(session, dataset, caller, readable, data_dir=data_dir)
    fresh = freshness_of(dataset, today)
    scope = caller.scope(dataset)
    return {
        "dataset": dataset_doc(session, dataset),
        "items": published_items(session, dataset),
        "hidden_items": sum(1 for f in dataset.fields if not f.published),
        "access": {
            "may_read": bool(readable),
            "readable_fields": list(readable),
            "scope": {"application": scope.application, "valid_until": scope.valid_until} if scope else None,
            "apply_url": f"/open/datasets/{dataset.name}/apply" if not readable else None,
        },
        "preview": preview,
        "downloads": downloads(dataset, may_read=bool(readable)),
        "usage": _usage_doc(usage_by_entry(session).get(dataset.id)),
        "api": api_examples(dataset, base_url.rstrip("/"), preview),
        "history": history(session, dataset),
        "quality": quality_of(session, dataset),
        "freshness": {
            "status": fresh.status,
            "last_update": fresh.last_update,
            "due_on": fresh.due_on,
            "days_overdue": fresh.days_overdue,
        },
    }


def dataset_doc(session: Session, dataset: OpenDataset) -> dict[str, Any]:
    """Every public catalogue field of ``dataset`` (关联资源: only the related entries that are open)."""
    entry = session.get(CatalogEntry, dataset.id)
    related_codes = list(entry.related_codes) if entry is not None else []
    related = []
    if related_codes:
        for other in session.scalars(sa.select(CatalogEntry).where(CatalogEntry.code.in_(related_codes))):
            if is_open(other):
                related.append({"name": dataset_name(other.code), "code": other.code, "title": other.name})
    related.sort(key=lambda r: r["code"])
    publication = dataset.publication
    return {
        "name": dataset.name,
        "code": dataset.code,
        "title": dataset.title,
        "summary": dataset.summary,
        "provider_code": dataset.provider_code,
        "provider_name": dataset.provider_name,
        "provider_name_en": dataset.provider_name_en,
        "district_code": dataset.district_code,
        "district_name": dataset.district_name,
        "theme": dataset.theme,
        "theme_key": theme_key(dataset.theme),
        "update_cycle": dataset.update_cycle,
        "open_type": dataset.open_type,
        "open_condition": dataset.open_condition,
        "unconditional": dataset.unconditional,
        "format": dataset.format,
        "format_detail": dataset.format_detail,
        "publish_date": dataset.publish_date,
        "tags": list(dataset.tags),
        "related": related,
        "version": dataset.version,
        "modified": dataset.modified,
        "rows": publication.rows if publication is not None else None,
        "published_at": publication.published_at if publication is not None else None,
    }


def published_items(session: Session, dataset: OpenDataset) -> list[dict[str, Any]]:
    """The published 信息项 (一般 only) with their 数据元's names; the others are not listed at all."""
    shown = [f for f in dataset.fields if f.published]
    codes = {f.element for f in shown}
    elements = {e.code: e for e in session.scalars(sa.select(DataElement).where(DataElement.code.in_(codes)))}
    return [
        {
            "name": f.name,
            "label": f.label,
            "type": f.type,
            "length": f.length,
            "element": f.element,
            "element_name": elements[f.element].name if f.element in elements else None,
            "element_name_en": elements[f.element].name_en if f.element in elements else None,
        }
        for f in shown
    ]


def read_preview(
    session: Session,
    dataset: OpenDataset,
    caller: Caller,
    readable: tuple[str, ...],
    *,
    data_dir: Path,
) -> dict[str, Any] | None:
    """The first :data:`PREVIEW_ROWS` rows of the readable 信息项 (None when the caller may not read).

    Read from the current publication's Parquet datastore with DuckDB; one access is recorded.
    """
    publication = dataset.publication
    if not readable or publication is None:
        return None
    columns = [name for name in readable if name in publication.fields]
    path = data_dir / publication.datastore
    if not columns or not path.exists():
        return None
    con = duck.connect(threads=1)
    try:
        found = con.execute(
            f"SELECT {idents(columns)} FROM read_parquet(?) LIMIT ?",  # noqa: S608 - names quoted by ident
            [str(path), PREVIEW_ROWS],
        ).fetchall()
    finally:
        con.close()
    rows = [[_cell(value) for value in row] for row in found]
    record_access(session, caller, dataset, channel="preview", fields=columns, rows=len(rows))
    return {"fields": columns, "rows": rows, "total": publication.rows}


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def downloads(dataset: OpenDataset, *, may_read: bool) -> list[dict[str, Any]]:
    """The publication's files: format, rows, size and SHA-256; ``url`` only when the caller may read."""
    publication = dataset.publication
    if publication is None:
        return []
    listed = []
    for fmt in DOWNLOAD_FORMATS:
        info = publication.files.get(fmt) or {}
        listed.append(
            {
                "format": fmt,
                "rows": info.get("rows"),
                "bytes": info.get("bytes"),
                "size": human_size(info.get("bytes")),
                "sha256": info.get("sha256"),
                "omitted": info.get("omitted") if info else "not written",
                "url": f"/open/datasets/{dataset.name}/download.{fmt}"
                if may_read and info and not info.get("omitted")
                else None,
            }
        )
    return listed


def human_size(size: int | None) -> str | None:
    """``1536`` → ``1.5 KB``."""
    if size is None:
        return None
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return None  # pragma: no cover - the loop always returns


def api_examples(dataset: OpenDataset, base: str, preview: dict[str, Any] | None) -> dict[str, Any]:
    """Copyable examples: curl for package_show and datastore_search, Python ckanapi, DCAT links."""
    name = dataset.name
    key = KEY_PLACEHOLDER if dataset.unconditional else CREDENTIAL_PLACEHOLDER
    filters = _example_filter(dataset, preview)
    filters_json = json.dumps(filters, ensure_ascii=False)
    search = (
        f"curl -G {shlex.quote(base + '/api/3/action/datastore_search')} \\\n"
        f"  -H {shlex.quote('Authorization: ' + key)} \\\n"
        f"  --data-urlencode {shlex.quote('resource_id=' + name + '-csv')} \\\n"
        f"  --data-urlencode 'limit=5' \\\n"
        f"  --data-urlencode {shlex.quote('filters=' + filters_json)}"
    )
    python = "\n".join(
        [
            "from ckanapi import RemoteCKAN",
            "",
            f"portal = RemoteCKAN({json.dumps(base)}, apikey={json.dumps(key)})",
            f"dataset = portal.action.package_show(id={json.dumps(name)})",
            "result = portal.action.datastore_search(",
            f"    resource_id={json.dumps(name + '-csv')}, limit=5, filters={filters_json}",
            ")",
            'print(result["total"], result["records"])',
        ]
    )
    return {
        "base": base,
        "key_header": f"Authorization: {key}",
        "key_kind": "key" if dataset.unconditional else "credential",
        "package_show": f"curl {shlex.quote(base + '/api/3/action/package_show?id=' + name)}",
        "datastore_search": search,
        "python": python,
        "resource_id": f"{name}-csv",
        "dump": f"{base}/datastore/dump/{name}-csv",
        "dcat": {fmt: f"{base}/open/datasets/{name}/dcat.{fmt}" for fmt in DCAT_FORMATS},
    }


def _example_filter(dataset: OpenDataset, preview: dict[str, Any] | None) -> dict[str, Any]:
    """A filter for the examples: the previewed text column with the fewest distinct values (a real
    value, since the data is public), else the first published 信息项 with a placeholder."""
    if preview and preview["rows"] and dataset.unconditional:
        candidates = []
        for index, field in enumerate(preview["fields"]):
            values = [row[index] for row in preview["rows"]]
            if all(isinstance(v, str) and 0 < len(v) <= 40 for v in values):
                candidates.append((len(set(values)), index, field, values[0]))
        if candidates:
            _, _, field, value = min(candidates)
            return {field: value}
    fields = dataset.published_fields
    return {fields[0]: "..."} if fields else {}


def history(session: Session, dataset: OpenDataset) -> list[dict[str, Any]]:
    """Every publication (更新记录), newest first: version, time, rows and the changes it brought."""
    publications = session.scalars(
        sa.select(OpenPublication)
        .where(OpenPublication.entry_id == dataset.id)
        .order_by(OpenPublication.version.desc())
    )
    return [
        {
            "version": p.version,
            "published_at": p.published_at,
            "rows": p.rows,
            "changes": {k: v for k, v in dict(p.changes).items() if k in CHANGE_KINDS and isinstance(v, int)},
        }
        for p in publications
    ]


def quality_of(session: Session, dataset: OpenDataset) -> dict[str, Any] | None:
    """The newest scored audit run (稽核) of the dataset's mount: score, dimensions and when."""
    run = session.scalar(
        sa.select(AuditRun)
        .where(AuditRun.entry_id == dataset.id, AuditRun.state == "done", AuditRun.score.is_not(None))
        .order_by(AuditRun.started_at.desc())
        .limit(1)
    )
    if run is None:
        return None
    book = load_rulebook()
    return {
        "score": round(run.score, 1) if run.score is not None else None,
        "dimensions": [
            {
                "key": key,
                "zh": book.dimensions[key].zh,
                "en": book.dimensions[key].en,
                "score": round(value, 1),
            }
            for key, value in dict(run.dimensions).items()
            if key in book.dimensions and isinstance(value, (int, float))
        ],
        "audited_at": run.finished_at or run.started_at,
        "rows": run.rows,
    }


def _usage_doc(usage: Usage | None) -> dict[str, int]:
    return {"downloads": usage.downloads if usage else 0, "api_calls": usage.api_calls if usage else 0}
