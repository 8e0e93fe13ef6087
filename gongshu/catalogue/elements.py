"""Standard data elements (数据元): a managed list that data items (信息项) refer to."""

from __future__ import annotations

from importlib import resources
from typing import Any

import sqlalchemy as sa
import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogItem, DataElement
from gongshu.catalogue.specs import ITEM_TYPES
from gongshu.errors import Conflict, NotFound, ValidationFailed
from gongshu.orgs.roles import Principal, Role
from gongshu.security import audit


class ElementSpec(BaseModel):
    """A data element as operators declare it."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z]{2}\d{4,8}$", description="数据元代码, e.g. DE0101")
    name: str = Field(min_length=1, max_length=100)
    name_en: str = ""
    type: str
    length: int | None = None
    standard: str = ""
    description: str = ""
    codes: dict[str, str] | None = None


class ElementPublic(ElementSpec):
    model_config = ConfigDict(from_attributes=True)

    active: bool
    used_by: int = 0


def shipped_elements() -> list[dict[str, Any]]:
    """The data elements gongshu ships (``catalogue/data/elements.yaml``)."""
    text = resources.files("gongshu.catalogue").joinpath("data/elements.yaml").read_text("utf-8")
    documents: list[dict[str, Any]] = yaml.safe_load(text)
    return documents


def seed_elements(session: Session) -> int:
    """Insert shipped elements that are missing; returns how many were added."""
    existing = set(session.scalars(sa.select(DataElement.code)))
    added = [_element_from(ElementSpec(**doc)) for doc in shipped_elements() if doc["code"] not in existing]
    session.add_all(added)
    session.flush()
    return len(added)


def _element_from(spec: ElementSpec) -> DataElement:
    values = spec.model_dump()
    values["codes"] = {str(k): v for k, v in spec.codes.items()} if spec.codes else None
    return DataElement(**values)


def list_elements(session: Session, *, include_inactive: bool = False) -> list[DataElement]:
    query = sa.select(DataElement).order_by(DataElement.code)
    if not include_inactive:
        query = query.where(DataElement.active.is_(True))
    return list(session.scalars(query))


def get_element(session: Session, code: str) -> DataElement:
    element = session.get(DataElement, code)
    if element is None:
        raise NotFound(f"no data element {code!r}", value=code)
    return element


def element_usage(session: Session, code: str) -> int:
    """How many data items bind to the element."""
    return (
        session.scalar(
            sa.select(sa.func.count()).select_from(CatalogItem).where(CatalogItem.element_code == code)
        )
        or 0
    )


def create_element(session: Session, actor: Principal, spec: ElementSpec) -> DataElement:
    """Add a data element to the managed list (operators). Audited."""
    actor.require(Role.OPERATOR, action="adding a data element")
    if spec.type not in ITEM_TYPES:
        raise ValidationFailed({"type": [f"数据类型应为 {'/'.join(ITEM_TYPES)}"]})
    if session.get(DataElement, spec.code) is not None:
        raise Conflict(f"data element {spec.code} exists", value=spec.code)
    element = _element_from(spec)
    session.add(element)
    session.flush()
    audit.record(
        session,
        actor=actor.name,
        action="element.create",
        object_type="data_element",
        object_id=spec.code,
        detail={"name": spec.name},
    )
    return element


def set_element_active(session: Session, actor: Principal, code: str, active: bool) -> DataElement:
    """Retire (or restore) an element; retired elements cannot be bound by new items. Audited."""
    actor.require(Role.OPERATOR, action="retiring a data element")
    element = get_element(session, code)
    element.active = active
    session.flush()
    audit.record(
        session,
        actor=actor.name,
        action="element.activate" if active else "element.retire",
        object_type="data_element",
        object_id=code,
    )
    return element
