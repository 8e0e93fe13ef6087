"""Collection (归集) API: mounts (挂载), batches (批次), problem data (问题数据) and the lake's tables.

Every route needs an API token; what a caller may see and do is decided by ``gongshu.collect``
(the provider department's stewards and operators; other departments get 404). A run is
synchronous: ``POST /mounts/{name}/run`` answers when the batch is committed, with its counts.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Annotated, Any, Literal
from urllib.parse import quote

import yaml
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gongshu.collect import batches, mounts, quarantine
from gongshu.collect.pipeline import run_mount
from gongshu.errors import NotFound
from gongshu.lake import Lake, SnapshotInfo, TableRef, Zone, open_lake
from gongshu.orgs.roles import Principal, Role
from gongshu.service.deps import ApiPrincipal, PlatformDep, SessionDep

router = APIRouter(tags=["collect 归集"])

Format = Literal["csv", "xlsx"]
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: Quarantine tables ``<mount>__resolved`` belong to the mount ``<mount>``.
RESOLVED_SUFFIX = "__resolved"

_lake_lock = threading.Lock()


def get_lake(request: Request) -> Lake:
    """The app's lake, opened on first use and kept (its catalog holds a connection pool)."""
    lake: Lake | None = getattr(request.app.state, "lake", None)
    if lake is None:
        with _lake_lock:
            lake = getattr(request.app.state, "lake", None)
            if lake is None:
                lake = open_lake(request.app.state.platform.settings)
                request.app.state.lake = lake
    return lake


LakeDep = Annotated[Lake, Depends(get_lake)]
StatusQuery = Annotated[quarantine.Status, Query(description="open, resolved or all")]


# --- documents shared with the pages ------------------------------------------------------------


def spec_yaml(spec: dict[str, Any]) -> str:
    """A stored mount spec as the YAML a steward would write: unset fields left out, columns in short form."""
    compact = _without_unset(batches.masked_spec(spec))  # a literal password is never shown
    compact["columns"] = {
        item: column.get("source") if set(column) <= {"source"} else column
        for item, column in compact.get("columns", {}).items()
    }
    return yaml.safe_dump(compact, allow_unicode=True, sort_keys=False, width=100)


def _without_unset(value: Any) -> Any:
    """``value`` without ``None``, ``False`` and empty lists (the spec's defaults)."""
    if isinstance(value, dict):
        return {
            k: _without_unset(v) for k, v in value.items() if v is not None and v is not False and v != []
        }
    if isinstance(value, list):
        return [_without_unset(v) for v in value]
    return value


def problem_document(problem: quarantine.Problem) -> dict[str, Any]:
    """One quarantined row: where it came from, why it failed, its original values, its resolution."""
    return {
        "batch_id": problem.batch_id,
        "source": problem.source,
        "row": problem.row,
        "line": problem.line,
        "record_key": problem.record_key,
        "problems": problem.problems,
        "values": problem.values,
        "raw_text": problem.raw_text,
        "status": problem.status,
        "resolved_by": problem.resolved_by,
        "resolved_at": problem.resolved_at,
    }


def problem_page_document(found: quarantine.ProblemPage) -> dict[str, Any]:
    return {
        "mount": found.mount,
        "status": found.status,
        "total": found.total,
        "offset": found.offset,
        "limit": found.limit,
        "open": found.open,
        "resolved": found.resolved,
        "by_rule": found.by_rule,
        "columns": found.columns,
        "rows": [problem_document(p) for p in found.rows],
    }


def problems_download(data: bytes, count: int, mount: str, fmt: Format, status: str) -> Response:
    """A problem-data file as an attachment named in Chinese (RFC 6266 ``filename*``), ASCII as fallback."""
    chinese = f"{mount}-问题数据-{status}.{fmt}"
    disposition = (
        f"attachment; filename=\"{mount}-problems-{status}.{fmt}\"; filename*=UTF-8''{quote(chinese)}"
    )
    headers = {"Content-Disposition": disposition, "Cache-Control": "no-store", "X-Row-Count": str(count)}
    return Response(data, media_type=MEDIA_TYPES[fmt], headers=headers)


def table_document(ref: TableRef) -> dict[str, Any]:
    return {"table": str(ref), "zone": ref.zone.value, "zone_label": ref.zone.label, "name": ref.name}


def snapshot_document(snapshot: SnapshotInfo) -> dict[str, Any]:
    return asdict(snapshot)


def lake_scope(session: Session, actor: Principal) -> set[str] | None:
    """The mount names whose lake tables ``actor`` may read; ``None``: every table (operators, security)."""
    if actor.has(Role.OPERATOR, Role.SECURITY):
        return None
    actor.require(Role.STEWARD, action="reading the lake's tables")
    return {m.name for m in mounts.list_mounts(session, actor)}


def in_scope(ref: TableRef, scope: set[str] | None) -> bool:
    return scope is None or ref.name.removesuffix(RESOLVED_SUFFIX) in scope


# --- mounts -------------------------------------------------------------------------------------


@router.get("/mounts")
def list_all(session: SessionDep, actor: ApiPrincipal) -> list[dict[str, Any]]:
    """The mounts the caller may see (operators: all; others: their organisation's), with the last batch."""
    return batches.mount_documents(session, actor)


@router.post("/mounts", status_code=201)
def create(
    session: SessionDep,
    actor: ApiPrincipal,
    document: dict[str, Any] = Body(..., description="a mount spec in the form of docs/collect.md"),
) -> dict[str, Any]:
    """Mount a source onto a published entry. Every validation problem is returned at once (422)."""
    mount = mounts.create_mount(session, actor, mounts.parse_mount_spec(document))
    return batches.mount_document(mount)


@router.get("/mounts/{name}")
def show(name: str, session: SessionDep, actor: ApiPrincipal) -> dict[str, Any]:
    mount = mounts.get_mount(session, actor, name)
    return batches.mount_status(session, mount)


@router.put("/mounts/{name}")
def replace(
    name: str, session: SessionDep, actor: ApiPrincipal, document: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """Replace a mount's spec (a new version); its name and entry cannot change."""
    mount = mounts.update_mount(session, actor, name, mounts.parse_mount_spec(document))
    return batches.mount_status(session, mount)


@router.post("/mounts/{name}/pause")
def pause(name: str, session: SessionDep, actor: ApiPrincipal) -> dict[str, Any]:
    """Stop scheduled collection (a manual run still works)."""
    return batches.mount_document(mounts.set_active(session, actor, name, False))


@router.post("/mounts/{name}/resume")
def resume(name: str, session: SessionDep, actor: ApiPrincipal) -> dict[str, Any]:
    return batches.mount_document(mounts.set_active(session, actor, name, True))


@router.post("/mounts/{name}/run")
async def run(
    name: str, platform: PlatformDep, session: SessionDep, actor: ApiPrincipal, lake: LakeDep
) -> dict[str, Any]:
    """Run (or resume) one batch now and answer its counts when it is committed (may take minutes)."""
    session.commit()  # the batch writes in its own transactions: hold nothing of this request meanwhile
    result = await run_in_threadpool(run_mount, platform, actor, name, trigger="api", lake=lake)
    return result.document()


# --- batches ------------------------------------------------------------------------------------


@router.get("/batches")
def list_batches(
    session: SessionDep,
    actor: ApiPrincipal,
    mount: str | None = None,
    state: Literal["running", "committed", "failed"] | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """Batches of the mounts the caller may see, newest first, with the total."""
    found, total = batches.list_batches(session, actor, mount=mount, state=state, limit=limit, offset=offset)
    return {"total": total, "batches": [batches.batch_document(b) for b in found]}


@router.get("/batches/{batch_id}")
def show_batch(batch_id: str, session: SessionDep, actor: ApiPrincipal) -> dict[str, Any]:
    """One batch: counts (read = written + quarantined), checksums, snapshots, timings, rules, drift."""
    return batches.batch_document(batches.get_batch(session, actor, batch_id))


# --- problem data -------------------------------------------------------------------------------


@router.get("/mounts/{name}/problems")
def problems(
    name: str,
    session: SessionDep,
    actor: ApiPrincipal,
    lake: LakeDep,
    status: StatusQuery = "open",
    batch: str | None = None,
    rule: str | None = None,
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=1000),
) -> dict[str, Any]:
    """A page of the mount's problem rows with totals open / resolved and by rule (reads are audited)."""
    found = quarantine.problems(
        session, actor, lake, name, status=status, batch_id=batch, rule=rule, offset=offset, limit=limit
    )
    return problem_page_document(found)


@router.get("/mounts/{name}/problems/history")
def problems_history(
    name: str, session: SessionDep, actor: ApiPrincipal, lake: LakeDep
) -> list[dict[str, Any]]:
    """Per batch: rows quarantined, how many are resolved and by which later batches."""
    return quarantine.history(session, actor, lake, name)


@router.get("/mounts/{name}/problems.{fmt}")
def problems_file(
    name: str,
    fmt: Format,
    session: SessionDep,
    actor: ApiPrincipal,
    lake: LakeDep,
    status: StatusQuery = "open",
    batch: str | None = None,
) -> Response:
    """The problem rows as CSV (UTF-8 with BOM) or XLSX, for the department to fix at source."""
    data, count = quarantine.export(session, actor, lake, name, fmt=fmt, status=status, batch_id=batch)
    return problems_download(data, count, name, fmt, status)


# --- the lake -----------------------------------------------------------------------------------


@router.get("/lake/tables")
def lake_tables(
    session: SessionDep, actor: ApiPrincipal, lake: LakeDep, zone: str | None = None
) -> list[dict[str, Any]]:
    """The lake's tables (operators and security: all; stewards: their department's mounts')."""
    scope = lake_scope(session, actor)
    refs = lake.tables(Zone.parse(zone) if zone else None)
    return [table_document(ref) for ref in refs if in_scope(ref, scope)]


@router.get("/lake/tables/{table}/history")
def lake_history(table: str, session: SessionDep, actor: ApiPrincipal, lake: LakeDep) -> list[dict[str, Any]]:
    """Every snapshot of a table such as ``standard.ga_population``, oldest first (one per batch)."""
    ref = TableRef.parse(table)
    if not in_scope(ref, lake_scope(session, actor)):
        raise NotFound(f"no lake table {ref}", value=str(ref))
    return [snapshot_document(s) for s in lake.history(ref)]
