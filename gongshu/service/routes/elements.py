"""Standard data elements (数据元) API."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from gongshu.catalogue import elements
from gongshu.catalogue.elements import ElementPublic, ElementSpec
from gongshu.catalogue.models import DataElement
from gongshu.service.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/elements", tags=["data elements 数据元"])


def _public(session: Session, element: DataElement) -> ElementPublic:
    return ElementPublic.model_validate(element).model_copy(
        update={"used_by": elements.element_usage(session, element.code)}
    )


@router.get("")
def list_all(session: SessionDep, actor: ApiPrincipal, include_inactive: bool = False) -> list[ElementPublic]:
    return [_public(session, e) for e in elements.list_elements(session, include_inactive=include_inactive)]


@router.get("/{code}")
def show(code: str, session: SessionDep, actor: ApiPrincipal) -> ElementPublic:
    return _public(session, elements.get_element(session, code))


@router.post("", status_code=201)
def create(spec: ElementSpec, session: SessionDep, actor: ApiPrincipal) -> ElementPublic:
    return _public(session, elements.create_element(session, actor, spec))


@router.post("/{code}/retire")
def retire(code: str, session: SessionDep, actor: ApiPrincipal) -> ElementPublic:
    return _public(session, elements.set_element_active(session, actor, code, False))


@router.post("/{code}/restore")
def restore(code: str, session: SessionDep, actor: ApiPrincipal) -> ElementPublic:
    return _public(session, elements.set_element_active(session, actor, code, True))
