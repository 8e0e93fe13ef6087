"""Mounting (挂载): attach a source to a published catalogue entry by a declarative spec.

Only the provider department's steward (or an operator) may mount, change or pause a source of
its entries. Mounting a published entry moves it to 已挂载; every change is versioned and audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from gongshu.catalogue import entries
from gongshu.catalogue.models import CatalogEntry
from gongshu.catalogue.specs import Status
from gongshu.cleanse import ColumnBinding
from gongshu.collect.connectors.specs import untagged
from gongshu.collect.models import Mount
from gongshu.collect.specs import MountSpec, schedule_interval
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.roles import Principal, Role
from gongshu.security import audit
from gongshu.store.base import utcnow


def parse_mount_spec(document: Mapping[str, Any]) -> MountSpec:
    """Validate a mount document (YAML or JSON), reporting every problem keyed by field path."""
    try:
        return MountSpec.model_validate(dict(document))
    except ValidationError as error:
        issues = untagged(error.errors(), at=("source",))
        raise ValidationFailed.from_issues(issues) from None


def create_mount(session: Session, actor: Principal, spec: MountSpec) -> Mount:
    """Mount ``spec``'s source onto its catalogue entry (the entry must be published or mounted)."""
    entry = _entry_for(session, actor, spec)
    if session.scalar(sa.select(Mount.id).where(Mount.name == spec.name)) is not None:
        raise Conflict(f"a mount named {spec.name} already exists", hint="choose another name or update it")
    mount = Mount(
        name=spec.name,
        entry_id=entry.id,
        organisation_id=entry.provider_id,
        spec=spec.model_dump(mode="json", by_alias=True),
        created_by=actor.name,
    )
    mount.next_due_at = _next_due(spec, entry, utcnow())
    session.add(mount)
    session.flush()
    if entry.status == Status.PUBLISHED.value:
        entries.transition(session, actor, entry.code, "mount")
    audit.record(
        session,
        actor=actor.name,
        action="mount.create",
        object_type="mount",
        object_id=spec.name,
        detail={"entry": entry.code, "source_kind": spec.source.kind, "version": 1},
    )
    return mount


def update_mount(session: Session, actor: Principal, name: str, spec: MountSpec) -> Mount:
    """Replace a mount's spec (a new version); the name and the entry cannot change."""
    mount = get_mount(session, actor, name)
    if spec.name != mount.name:
        raise ValidationFailed({"name": [f"a mount's name cannot change ({mount.name})"]})
    entry = _entry_for(session, actor, spec)
    if entry.id != mount.entry_id:
        raise ValidationFailed({"entry": ["a mount's catalogue entry cannot change; create a new mount"]})
    mount.spec = spec.model_dump(mode="json", by_alias=True)
    mount.version += 1
    mount.updated_at = utcnow()
    mount.next_due_at = _next_due(spec, entry, utcnow())
    audit.record(
        session,
        actor=actor.name,
        action="mount.update",
        object_type="mount",
        object_id=name,
        detail={"version": mount.version},
    )
    return mount


def set_active(session: Session, actor: Principal, name: str, active: bool) -> Mount:
    """Pause (暂停) or resume a mount's scheduled collection."""
    mount = get_mount(session, actor, name)
    if not may_manage(actor, mount.organisation_id):
        raise PermissionDenied(f"pausing or resuming {name} is granted to its department's stewards only")
    mount.active = active
    audit.record(
        session,
        actor=actor.name,
        action="mount.resume" if active else "mount.pause",
        object_type="mount",
        object_id=name,
    )
    return mount


def get_mount(session: Session, actor: Principal, name: str) -> Mount:
    """The mount ``name`` if ``actor`` may see it (its organisation's stewards, operators)."""
    mount = session.scalar(sa.select(Mount).where(Mount.name == name))
    if mount is None or not may_see(actor, mount):
        raise NotFound(f"no mount named {name}")
    return mount


def list_mounts(session: Session, actor: Principal, *, organisation_id: int | None = None) -> list[Mount]:
    """Mounts visible to ``actor``, by name."""
    query = sa.select(Mount).order_by(Mount.name)
    if organisation_id is not None:
        query = query.where(Mount.organisation_id == organisation_id)
    if not actor.has(Role.OPERATOR, Role.SECURITY):
        own = actor.organisation_id if actor.has(Role.STEWARD) and actor.organisation_id else -1
        query = query.where(Mount.organisation_id == own)
    return list(session.scalars(query))


def may_see(actor: Principal, mount: Mount) -> bool:
    """Operators, security officers and the provider's stewards (problem rows hold personal data)."""
    return actor.has(Role.OPERATOR, Role.SECURITY) or (
        actor.has(Role.STEWARD)
        and actor.organisation_id is not None
        and actor.organisation_id == mount.organisation_id
    )


def may_manage(actor: Principal, organisation_id: int) -> bool:
    return actor.has(Role.OPERATOR) or (actor.has(Role.STEWARD) and actor.organisation_id == organisation_id)


def spec_of(mount: Mount) -> MountSpec:
    return MountSpec.model_validate(mount.spec)


def bindings(mount_spec: MountSpec, entry: CatalogEntry) -> list[ColumnBinding]:
    """The entry's 信息项 with their mapped source columns: what the cleanser standardises."""
    result = []
    for item in entry.items:
        column = mount_spec.columns.get(item.name)
        result.append(
            ColumnBinding(
                name=item.name,
                source=column.source if column else None,
                element=item.element_code,
                type=item.type,
                length=item.length,
                required=bool(column and column.required) or item.name in mount_spec.key,
                rules=tuple(column.rules) if column and column.rules else None,
            )
        )
    return result


def _entry_for(session: Session, actor: Principal, spec: MountSpec) -> CatalogEntry:
    entry = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == spec.entry))
    if entry is None:
        raise NotFound(f"no catalogue entry {spec.entry}")
    if not may_manage(actor, entry.provider_id):
        raise PermissionDenied(
            f"mounting a source on {spec.entry} is granted to {entry.provider.name}'s stewards only",
            hint="sign in as the provider department's data steward (数据管理员)",
        )
    if entry.status not in (Status.PUBLISHED.value, Status.MOUNTED.value):
        raise Conflict(f"entry {spec.entry} is {entry.status}; only published entries can be mounted")
    items = {item.name for item in entry.items}
    unknown = sorted(set(spec.columns) - items)
    if unknown:
        raise ValidationFailed(
            {
                f"columns.{name}": [
                    f"{name} is not a 信息项 of {spec.entry}; items: {', '.join(sorted(items))}"
                ]
                for name in unknown
            }
        )
    return entry


def _next_due(spec: MountSpec, entry: CatalogEntry, now: datetime) -> datetime | None:
    interval = schedule_interval(spec.schedule, entry.update_cycle)
    return None if interval is None else now
