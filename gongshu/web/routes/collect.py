"""Collection (归集): mounts, batches, problem data feedback (问题数据反馈) and the mount form.

The pages read the same documents as the API (``gongshu.service.routes.collect``); who may see,
change or run a mount is decided by ``gongshu.collect.mounts``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Form, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from gongshu.catalogue import browse
from gongshu.catalogue.specs import EntryPublic, Status
from gongshu.cleanse import load_ruleset
from gongshu.collect import batches, mounts, quarantine
from gongshu.collect.models import Mount
from gongshu.collect.pipeline import PIPELINE_RULES, run_mount
from gongshu.collect.specs import DeleteMode, DriftPolicy, MountSpec
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.roles import Principal
from gongshu.service.deps import PlatformDep, SessionDep
from gongshu.service.routes.collect import (
    Format,
    LakeDep,
    StatusQuery,
    problem_page_document,
    problems_download,
    spec_yaml,
)
from gongshu.web.auth import GovUser
from gongshu.web.forms import blank_to_none
from gongshu.web.render import shanghai_time, templates
from gongshu.web.twins import Done, Page, Result, page

router = APIRouter()

BATCHES_SHOWN = 30
#: Drift notices are highlighted for the mount's latest batches only.
DRIFT_WINDOW = 5
PROBLEMS_PER_PAGE = 25
MOUNTABLE = (Status.PUBLISHED.value, Status.MOUNTED.value)

#: The choices of the mount form (values of the mount spec; labels come from the message catalogues).
KINDS = ("sql", "file", "http")
FORMATS = ("auto", "csv", "xlsx", "json", "ndjson", "parquet")
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "gb18030")
MODES = ("full", "incremental")
SCHEDULES = ("auto", "manual", "interval")
CHOICES: dict[str, Any] = {
    "kinds": KINDS,
    "formats": FORMATS,
    "encodings": ENCODINGS,
    "modes": MODES,
    "delete_modes": [m.value for m in DeleteMode],
    "drift": [p.value for p in DriftPolicy],
    "schedules": SCHEDULES,
}
#: Per connector kind: the form inputs it takes → the source spec's fields (docs/connectors.md).
SOURCE_FIELDS = {
    "sql": {"connection": "url", "target": "table", "mode": "mode", "cursor": "cursor"},
    "file": {"connection": "path", "target": "pattern", "format": "format", "encoding": "encoding"},
    "http": {"connection": "url", "target": "records_path"},
}
#: A source field → the form input it is shown beside.
SOURCE_INPUTS = {field: name for fields in SOURCE_FIELDS.values() for name, field in fields.items()}


def iso_shanghai(value: str | None) -> str:
    """A time of a batch or mount document (ISO 8601 text, as the API answers it) in Asia/Shanghai."""
    return shanghai_time(datetime.fromisoformat(value) if value else None)


# the documents carry times as ISO text (they are the API's); the pages show them in the city's time
templates.filters["iso_shanghai"] = iso_shanghai


# --- mounts -------------------------------------------------------------------------------------


@page(router, "/mounts", "collect/mounts.html")
def mount_list(session: SessionDep, actor: GovUser) -> dict[str, Any]:
    """The mounts the viewer may see (operators: all; others: their organisation's), with the last batch."""
    return {"mounts": batches.mount_documents(session, actor)}


@page(router, "/mounts/{name}", "collect/mount.html")
def mount_detail(name: str, session: SessionDep, actor: GovUser) -> dict[str, Any]:
    """A mount's spec, state and batches, with drift of the latest batches and the run / pause buttons."""
    return mount_view(session, actor, name)


def mount_view(session: Session, actor: Principal, name: str) -> dict[str, Any]:
    mount = mounts.get_mount(session, actor, name)
    found, total = batches.list_batches(session, actor, mount=name, limit=BATCHES_SHOWN)
    documents = [batches.batch_document(b) for b in found]
    return {
        "mount": batches.mount_document(mount, found[0] if found else None),
        "spec_yaml": spec_yaml(mount.spec),
        "batches": documents,
        "batches_total": total,
        "drift_notices": [b for b in documents[:DRIFT_WINDOW] if b["drift"]],
        "may_manage": mounts.may_manage(actor, mount.organisation_id),
    }


@page(router, "/mounts/{name}/run", "collect/mount.html", methods=["POST"])
def mount_run(name: str, platform: PlatformDep, session: SessionDep, actor: GovUser, lake: LakeDep) -> Result:
    """Run (or resume) one batch now; the page then shows the batch."""
    session.commit()  # the batch writes in its own transactions: hold nothing of this request meanwhile
    result = run_mount(platform, actor, name, trigger="web", lake=lake)
    return Done(f"/batches/{result.batch_id}", result.document())


@page(router, "/mounts/{name}/pause", "collect/mount.html", methods=["POST"])
def mount_pause(name: str, session: SessionDep, actor: GovUser) -> Result:
    """Stop scheduled collection (a manual run still works)."""
    return Done(f"/mounts/{name}", batches.mount_document(mounts.set_active(session, actor, name, False)))


@page(router, "/mounts/{name}/resume", "collect/mount.html", methods=["POST"])
def mount_resume(name: str, session: SessionDep, actor: GovUser) -> Result:
    return Done(f"/mounts/{name}", batches.mount_document(mounts.set_active(session, actor, name, True)))


# --- batches ------------------------------------------------------------------------------------


@page(router, "/batches/{batch_id}", "collect/batch.html")
def batch_detail(batch_id: str, session: SessionDep, actor: GovUser) -> dict[str, Any]:
    """Every count with the balance equation, checksums, snapshots, timings, rules with reasons, drift."""
    batch = batches.batch_document(batches.get_batch(session, actor, batch_id))
    return {"batch": batch, "rules": rule_rows(batch["rule_counts"])}


def rule_info() -> dict[str, dict[str, Any]]:
    """Rule id → reason (Chinese, English) and severity: the cleanser's rules and the pipeline's own."""
    info = {
        r.id: {
            "reason": r.reason_zh or r.name_zh,
            "reason_en": r.reason_en or r.name_en,
            "severity": r.severity,
        }
        for r in load_ruleset()
    }
    own = {
        rule: {"reason": zh, "reason_en": en, "severity": "blocking"}
        for rule, (zh, en) in PIPELINE_RULES.items()
    }
    return info | own


def rule_rows(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Per-rule counts (``RULE:column`` → n) with each rule's reason and severity, most frequent first."""
    info = rule_info()
    rows = []
    for label, count in counts.items():
        rule, _, column = label.partition(":")
        known = info.get(rule, {"reason": "", "reason_en": "", "severity": None})
        rows.append({"rule": rule, "column": column, "count": count, **known})
    return sorted(rows, key=lambda r: (-r["count"], r["rule"], r["column"]))


# --- problem data feedback ----------------------------------------------------------------------


@page(router, "/problems", "collect/problems.html")
def problem_data(
    session: SessionDep,
    actor: GovUser,
    lake: LakeDep,
    mount: str | None = None,
    status: StatusQuery = "open",
    rule: str | None = None,
    batch: str | None = None,
    page_number: Annotated[int, Query(alias="page", ge=1)] = 1,
) -> dict[str, Any]:
    """The department's problem rows by mount, status and rule, with totals, downloads and history."""
    visible = [{"name": m["name"], "title": m["entry_name"]} for m in batches.mount_documents(session, actor)]
    chosen = blank_to_none(mount) or (visible[0]["name"] if visible else None)
    context: dict[str, Any] = {
        "mounts": visible,
        "mount": chosen,
        "status": status,
        "rule": blank_to_none(rule),
    }
    context |= {"batch": blank_to_none(batch), "page": page_number, "problems_page": None, "history": []}
    if chosen is None:
        return context
    offset = (page_number - 1) * PROBLEMS_PER_PAGE
    found = quarantine.problems(
        session, actor, lake, chosen, status=status, rule=context["rule"], batch_id=context["batch"],
        offset=offset, limit=PROBLEMS_PER_PAGE,
    )  # fmt: skip
    shown_rules = {q.get("rule") for p in found.rows for q in p.problems}
    return context | {
        "problems_page": problem_page_document(found),
        "pages": max(1, -(-found.total // PROBLEMS_PER_PAGE)),
        "by_rule": rule_rows(found.by_rule),
        "reasons_en": {r: i["reason_en"] for r, i in rule_info().items() if r in shown_rules},
        "item_sources": mounts.spec_of(mounts.get_mount(session, actor, chosen)).source_columns(),
        "history": quarantine.history(session, actor, lake, chosen),
    }


@router.get("/problems/{mount}.{fmt}")
def problem_file(
    mount: str,
    fmt: Format,
    session: SessionDep,
    actor: GovUser,
    lake: LakeDep,
    status: StatusQuery = "open",
    batch: str | None = None,
) -> Response:
    """The department's problem rows as CSV or XLSX to fix at source (the download is audited)."""
    batch_id = blank_to_none(batch)
    data, count = quarantine.export(session, actor, lake, mount, fmt=fmt, status=status, batch_id=batch_id)
    return problems_download(data, count, mount, fmt, status)


# --- the mount form on the resource page --------------------------------------------------------


class MountForm(BaseModel):
    """The mount form as sent: text inputs, and lists for the mapping table, the key and the checkboxes."""

    model_config = ConfigDict(extra="ignore")

    name: str = ""
    title: str = ""
    kind: str = "sql"
    connection: str = ""
    target: str = ""
    format: str = ""
    encoding: str = ""
    mode: str = "full"
    cursor: str = ""
    key: list[str] = []
    item: list[str] = []  # the entry's 信息项, in the mapping table's order
    column: list[str] = []  # the source column of each, aligned with ``item``
    required: list[str] = []
    delete_mode: str = DeleteMode.NONE.value
    delete_column: str = ""
    delete_values: str = ""
    drift: str = DriftPolicy.STOP.value
    schedule: str = "auto"
    interval: str = ""
    document: str = ""  # the advanced alternative: the whole spec pasted as YAML or JSON

    def shown(self) -> dict[str, Any]:
        """The values as the form shows them again (the mapping as 信息项 → source column)."""
        return self.model_dump() | {"columns": dict(zip(self.item, self.column, strict=False))}


@page(router, "/catalog/{front}/{back}/mount", "collect/mount_form.html")
def mount_form(
    front: str, back: str, session: SessionDep, actor: GovUser, mount: str | None = None
) -> dict[str, Any]:
    """The form that mounts a source onto this entry (``?mount=NAME`` edits an existing mount)."""
    code = f"{front}/{back}"
    context = mount_form_context(session, actor, code)
    editing = mounts.get_mount(session, actor, mount) if mount else None
    if editing is not None and editing.entry_id != context["entry"].id:
        raise NotFound(f"no mount named {mount} on {code}")
    form = form_of_spec(editing.spec) if editing else default_form(context["entry"])
    return context | {"form": form, "editing": editing.name if editing else None}


@page(router, "/catalog/{front}/{back}/mount", "collect/mount_form.html", methods=["POST"])
def mount_save(
    front: str, back: str, session: SessionDep, actor: GovUser, form: Annotated[MountForm, Form()]
) -> Result:
    """Validate the spec built from the form (or pasted) and create the mount, or update it if it exists."""
    code = f"{front}/{back}"
    context = mount_form_context(session, actor, code) | {"editing": None}
    try:
        document = spec_document(form, code)
        if not form.document.strip():
            document = keeping_unshown_fields(session, actor, document)
        saved = save_mount(session, actor, mounts.parse_mount_spec(document))
    except ValidationFailed as error:
        session.rollback()
        shown = pasted_problems(error.problems) if form.document.strip() else form_problems(error.problems)
        return Page(context | {"problems": shown, "form": form.shown()}, status=422, error=error)
    except Conflict as error:
        session.rollback()
        return Page(
            context | {"problems": {"form": [error.message]}, "form": form.shown()}, status=409, error=error
        )
    return Done(f"/mounts/{saved.name}", batches.mount_document(saved))


def mount_form_context(session: Session, actor: Principal, code: str) -> dict[str, Any]:
    """The entry, its existing mounts and the form's choices; refused unless the viewer may mount it."""
    entry = browse.get_entry(session, actor, code)
    if not mounts.may_manage(actor, entry.provider_id):
        raise PermissionDenied(
            f"mounting a source on {code} is granted to {entry.provider.name}'s stewards only",
            hint="sign in as the provider department's data steward (数据管理员)",
        )
    if entry.status not in MOUNTABLE:
        raise Conflict(f"entry {code} is {entry.status}; only published entries can be mounted")
    existing = mounts.list_mounts(session, actor, organisation_id=entry.provider_id)
    return {
        "entry": browse.entry_public(session, entry),
        "existing": [m.name for m in existing if m.entry_id == entry.id],
        "choices": CHOICES,
    }


def save_mount(session: Session, actor: Principal, spec: MountSpec) -> Mount:
    """Update the viewer's mount of that name, else create it."""
    try:
        mounts.get_mount(session, actor, spec.name)
    except NotFound:
        return mounts.create_mount(session, actor, spec)
    return mounts.update_mount(session, actor, spec.name, spec)


def keeping_unshown_fields(session: Session, actor: Principal, document: dict[str, Any]) -> dict[str, Any]:
    """An update from the form keeps what the form does not show (XLSX sheets, JSON paths, column rules…)."""
    try:
        previous = mounts.get_mount(session, actor, document["name"]).spec
    except NotFound:
        return document
    source, old = document["source"], previous.get("source", {})
    if old.get("kind") == source["kind"]:
        shown = {"kind", *SOURCE_FIELDS.get(source["kind"], {}).values()}
        document["source"] = {k: v for k, v in old.items() if k not in shown and v is not None} | source
    for item, column in document["columns"].items():
        rules = previous.get("columns", {}).get(item, {}).get("rules")
        if rules is not None:
            column["rules"] = rules
    return document


def spec_document(form: MountForm, code: str) -> dict[str, Any]:
    """The mount spec the form describes (or the pasted one), for ``parse_mount_spec``."""
    if form.document.strip():
        return pasted_document(form.document, code)
    columns: dict[str, Any] = {}
    for item, column in zip(form.item, form.column, strict=False):
        if column.strip() or item in form.required:
            columns[item] = {"source": blank_to_none(column), "required": item in form.required}
    document: dict[str, Any] = {
        "name": form.name.strip(),
        "entry": code,
        "source": source_document(form),
        "columns": columns,
        "key": form.key,
        "deletes": {"mode": form.delete_mode},
        "drift": form.drift,
        "schedule": form.interval.strip() if form.schedule == "interval" else form.schedule,
    }
    if form.title.strip():
        document["title"] = form.title.strip()
    if form.delete_mode == DeleteMode.SOFT.value:
        values = [v.strip() for v in form.delete_values.replace("，", ",").split(",") if v.strip()]
        document["deletes"] |= {"column": blank_to_none(form.delete_column), "values": values}
    return document


def source_document(form: MountForm) -> dict[str, Any]:
    """The ``source:`` of the spec: only the inputs the chosen connector kind takes."""
    given = form.model_dump()
    source: dict[str, Any] = {"kind": form.kind}
    for name, field in SOURCE_FIELDS.get(form.kind, {}).items():
        value = blank_to_none(given[name])
        if value is not None:
            source[field] = value
    return source


def pasted_document(text: str, code: str) -> dict[str, Any]:
    """A spec pasted as YAML or JSON (JSON is YAML); it mounts onto this page's entry."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValidationFailed({"document": [f"not valid YAML or JSON: {error}"]}) from None
    if not isinstance(loaded, dict):
        raise ValidationFailed({"document": ["paste one mount spec: a mapping with name, source, columns…"]})
    loaded.setdefault("entry", code)
    if loaded["entry"] != code:
        raise ValidationFailed({"entry": [f"this form mounts onto {code}, not {loaded['entry']}"]})
    return loaded


def form_problems(problems: dict[str, list[str]]) -> dict[str, list[str]]:
    """Problems keyed by spec path (``source.sql.table``, ``columns.name``) re-keyed by the form's inputs."""
    shown: dict[str, list[str]] = {}
    for path, messages in problems.items():
        shown.setdefault(form_field(path), []).extend(messages)
    return shown


def pasted_problems(problems: dict[str, list[str]]) -> dict[str, list[str]]:
    """Problems of a pasted spec, all shown under the text area with their spec paths."""
    return {"document": [f"{path}: {message}" for path, messages in problems.items() for message in messages]}


def form_field(path: str) -> str:
    """The form input beside which a spec path's problem shows (``source.sql.table`` → ``target``)."""
    head, _, rest = path.partition(".")
    head = head.split("[")[0]
    if head == "source":  # source.url, or source.sql.url from the kinds' tagged union
        return SOURCE_INPUTS.get(rest.rsplit(".", 1)[-1], "kind")
    if head == "columns" and rest:
        return f"columns.{rest.split('.')[0]}"
    if head == "deletes":
        return "delete_mode"
    return head


def default_form(entry: EntryPublic) -> dict[str, Any]:
    """A new mount's form: a name from the provider and the code, every 信息项 fed by a same-named column."""
    name = f"{entry.provider.lower().replace('-', '_')}_{entry.code.replace('/', '_')}"
    columns = {item.name: item.name for item in entry.items}
    return MountForm(name=name, title=entry.name).shown() | {"columns": columns}


def form_of_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """An existing mount's spec as the form's values (to edit it)."""
    parsed = MountSpec.model_validate(spec)
    source = parsed.source.model_dump()
    values: dict[str, Any] = {
        name: str(source.get(field) or "") for name, field in SOURCE_FIELDS[source["kind"]].items()
    }
    interval = parsed.schedule not in ("auto", "manual")
    values |= {
        "name": parsed.name,
        "title": parsed.title or "",
        "kind": source["kind"],
        "key": parsed.key,
        "item": list(parsed.columns),
        "column": [c.source or "" for c in parsed.columns.values()],
        "required": [name for name, c in parsed.columns.items() if c.required],
        "delete_mode": parsed.deletes.mode.value,
        "delete_column": parsed.deletes.column or "",
        "delete_values": ", ".join(parsed.deletes.values),
        "drift": parsed.drift.value,
        "schedule": "interval" if interval else parsed.schedule,
        "interval": parsed.schedule if interval else "",
    }
    return MountForm.model_validate(values).shown()
