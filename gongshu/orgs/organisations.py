"""Organisations (委办局、区、大数据中心) and administrative divisions (行政区划)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session

from gongshu.errors import NotFound, ValidationFailed
from gongshu.orgs.models import Division, Organisation
from gongshu.orgs.roles import Principal, Role
from gongshu.orgs.schemas import OrganisationCreate, OrganisationPublic, OrganisationUpdate
from gongshu.orgs.uscc import is_valid_uscc
from gongshu.security import audit

CITY_DIVISION = {"code": "310000", "name": "上海市", "name_en": "Shanghai", "level": "city"}


def district_documents() -> list[dict[str, Any]]:
    """The 16 districts of Shanghai with their GB/T 2260 codes (shipped data)."""
    text = resources.files("gongshu.orgs").joinpath("data/districts.yaml").read_text("utf-8")
    documents: list[dict[str, Any]] = yaml.safe_load(text)
    return documents


def seed_divisions(session: Session) -> int:
    """Insert the city and its districts where missing; returns how many were added."""
    existing = set(session.scalars(sa.select(Division.code)))
    added = 0
    if CITY_DIVISION["code"] not in existing:
        session.add(Division(**CITY_DIVISION))
        added += 1
    session.flush()
    for doc in district_documents():
        if doc["code"] in existing:
            continue
        session.add(
            Division(
                code=doc["code"],
                name=doc["name"],
                name_en=doc["name_en"],
                level="district",
                parent_code=CITY_DIVISION["code"],
                postcode=doc["postcode"],
                lon=doc["lon"],
                lat=doc["lat"],
            )
        )
        added += 1
    session.flush()
    return added


def list_divisions(session: Session) -> list[Division]:
    return list(session.scalars(sa.select(Division).order_by(Division.code)))


def get_organisation(session: Session, code: str) -> Organisation:
    org = session.scalar(sa.select(Organisation).where(Organisation.code == code))
    if org is None:
        raise NotFound(f"no organisation with code {code!r}", value=code)
    return org


def list_organisations(
    session: Session,
    *,
    kind: str | None = None,
    division: str | None = None,
    include_inactive: bool = False,
) -> list[Organisation]:
    query = sa.select(Organisation).order_by(Organisation.kind, Organisation.code)
    if kind:
        query = query.where(Organisation.kind == kind)
    if division:
        query = query.where(Organisation.division_code == division)
    if not include_inactive:
        query = query.where(Organisation.active.is_(True))
    return list(session.scalars(query))


def create_organisation(session: Session, actor: Principal, spec: OrganisationCreate) -> Organisation:
    """Register an organisation; only operators may. Audited."""
    actor.require(Role.OPERATOR, action="creating an organisation")
    problems = _check_references(session, uscc=spec.uscc, parent=spec.parent, division=spec.division)
    if session.scalar(sa.select(Organisation.id).where(Organisation.code == spec.code)):
        problems.setdefault("code", []).append(f"{spec.code} is already used")
    if session.scalar(sa.select(Organisation.id).where(Organisation.name == spec.name)):
        problems.setdefault("name", []).append(f"{spec.name} is already used")
    if problems:
        raise ValidationFailed(problems)
    parent = get_organisation(session, spec.parent) if spec.parent else None
    org = Organisation(
        code=spec.code,
        name=spec.name,
        name_en=spec.name_en,
        uscc=spec.uscc,
        kind=spec.kind,
        parent_id=parent.id if parent else None,
        division_code=spec.division,
    )
    session.add(org)
    session.flush()
    audit.record(
        session,
        actor=actor.name,
        action="org.create",
        object_type="organisation",
        object_id=org.code,
        detail=spec.model_dump(exclude_none=True),
    )
    return org


def update_organisation(
    session: Session, actor: Principal, code: str, change: OrganisationUpdate
) -> Organisation:
    """Change an organisation's fields; only operators may. Audited with old and new values."""
    actor.require(Role.OPERATOR, action="changing an organisation")
    org = get_organisation(session, code)
    values = change.model_dump(exclude_unset=True)
    problems = _check_references(
        session, uscc=values.get("uscc"), parent=values.get("parent"), division=None, own_code=code
    )
    if problems:
        raise ValidationFailed(problems)
    before = {key: _org_value(org, key) for key in values}
    for key, value in values.items():
        if key == "parent":
            org.parent_id = get_organisation(session, value).id if value else None
        else:
            setattr(org, key, value)
    session.flush()
    audit.record(
        session,
        actor=actor.name,
        action="org.update",
        object_type="organisation",
        object_id=code,
        detail={"before": before, "after": values},
    )
    return org


def _org_value(org: Organisation, key: str) -> object:
    return org.parent.code if key == "parent" and org.parent else getattr(org, key, None)


def _check_references(
    session: Session,
    *,
    uscc: str | None,
    parent: str | None,
    division: str | None,
    own_code: str | None = None,
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if uscc is not None and not is_valid_uscc(uscc):
        problems["uscc"] = [f"{uscc} is not a valid 统一社会信用代码 (GB 32100)"]
    if uscc:
        holder = session.scalar(sa.select(Organisation.code).where(Organisation.uscc == uscc))
        if holder and holder != own_code:
            problems.setdefault("uscc", []).append(f"already used by {holder}")
    if parent is not None and parent == own_code:
        problems["parent"] = ["an organisation cannot be its own parent"]
    elif parent and not session.scalar(sa.select(Organisation.id).where(Organisation.code == parent)):
        problems["parent"] = [f"no organisation with code {parent}"]
    if division is not None and session.get(Division, division) is None:
        problems["division"] = [f"{division} is not a known 行政区划代码"]
    return problems


def organisation_public(org: Organisation) -> OrganisationPublic:
    return OrganisationPublic(
        id=org.id,
        code=org.code,
        name=org.name,
        name_en=org.name_en,
        uscc=org.uscc,
        kind=org.kind,
        parent_code=org.parent.code if org.parent else None,
        division_code=org.division_code,
        division_name=org.division.name,
        active=org.active,
    )
