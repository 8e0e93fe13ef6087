"""Builders for ticket tests: a real mount on a published entry, and audit runs written as rows.

The audit engine is not run: each run is an ``AuditRun`` with one ``AuditResult`` per finding,
added the way the engine adds them, then handed to ``tickets.sync_run`` in the same transaction.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue import entries
from gongshu.collect import mounts
from gongshu.collect.models import Mount
from gongshu.orgs.roles import SYSTEM
from gongshu.quality import tickets
from gongshu.quality.models import AuditResult, AuditRun

#: rule × column → (信息项 label, reason, dimension, severity), as the engine reports them.
RULES: dict[tuple[str, str], tuple[str, str, str, str]] = {
    ("ID_CHECK", "id_number"): ("公民身份号码", "身份证号校验位错误", "accuracy", "error"),
    ("REQUIRED", "name"): ("姓名", "必填项为空", "completeness", "error"),
    ("DATE_RANGE", "birth_date"): ("出生日期", "出生日期超出合理范围", "accuracy", "warning"),
    ("DISTRIBUTION", ""): ("", "取值分布与上一批次差异较大", "consistency", "info"),
}
ID_CHECK = ("ID_CHECK", "id_number")
REQUIRED = ("REQUIRED", "name")
DATE_RANGE = ("DATE_RANGE", "birth_date")
DISTRIBUTION = ("DISTRIBUTION", "")

_runs = itertools.count(1)


def publish_and_mount(
    session: Session, entry_document: dict[str, object] | None, name: str, code: str
) -> Mount:
    """Create (if a document is given), publish and mount the entry ``code`` as mount ``name``."""
    if entry_document is not None:
        entries.create_entry(session, SYSTEM, entries.parse_spec(entry_document))
        entries.transition(session, SYSTEM, code, "submit")
        entries.transition(session, SYSTEM, code, "publish")
    spec = mounts.parse_mount_spec(
        {
            "name": name,
            "entry": code,
            "source": {"kind": "file", "path": "drop", "pattern": "*.csv"},
            "columns": {"id_number": "id_number", "name": "name"},
            "key": ["id_number"],
            "schedule": "manual",
        }
    )
    return mounts.create_mount(session, SYSTEM, spec)


def audit_run(
    session: Session,
    mount_name: str,
    findings: Mapping[tuple[str, str], int],
    *,
    checked: int = 1000,
) -> AuditRun:
    """A finished audit run of the mount with one result per rule × column (``failed`` values)."""
    mount = session.scalar(sa.select(Mount).where(Mount.name == mount_name))
    assert mount is not None
    run = AuditRun(
        id=f"{mount_name}-audit-{next(_runs):04d}",
        mount_id=mount.id,
        entry_id=mount.entry_id,
        organisation_id=mount.organisation_id,
        division_code=mount.organisation.division_code,
        month="2026-11",
        started_by="system",
    )
    for (rule, column), failed in findings.items():
        label, reason, dimension, severity = RULES[(rule, column)]
        run.results.append(
            AuditResult(
                rule_id=rule, dimension=dimension, column=column, label=label, severity=severity,
                description=reason, checked=checked, failed=failed,
            )
        )  # fmt: skip
    session.add(run)
    return run


def sync(
    session: Session, mount_name: str, findings: Mapping[tuple[str, str], int], *, today: date
) -> tickets.TicketSync:
    """Write one audit run and re-check the mount's tickets against it, as the engine does."""
    return tickets.sync_run(session, audit_run(session, mount_name, findings), actor="system", today=today)
