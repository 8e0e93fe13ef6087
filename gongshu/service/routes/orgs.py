"""Organisations (委办局、区) and divisions (行政区划) API."""

from __future__ import annotations

from fastapi import APIRouter

from gongshu.orgs import organisations as orgs
from gongshu.orgs.schemas import DivisionPublic, OrganisationCreate, OrganisationPublic, OrganisationUpdate
from gongshu.service.deps import ApiPrincipal, SessionDep

router = APIRouter(tags=["organisations 机构"])


@router.get("/divisions")
def divisions(session: SessionDep, actor: ApiPrincipal) -> list[DivisionPublic]:
    return [DivisionPublic.model_validate(d) for d in orgs.list_divisions(session)]


@router.get("/organisations")
def list_all(
    session: SessionDep, actor: ApiPrincipal, kind: str | None = None, division: str | None = None
) -> list[OrganisationPublic]:
    return [
        orgs.organisation_public(o) for o in orgs.list_organisations(session, kind=kind, division=division)
    ]


@router.get("/organisations/{code}")
def show(code: str, session: SessionDep, actor: ApiPrincipal) -> OrganisationPublic:
    return orgs.organisation_public(orgs.get_organisation(session, code))


@router.post("/organisations", status_code=201)
def create(spec: OrganisationCreate, session: SessionDep, actor: ApiPrincipal) -> OrganisationPublic:
    return orgs.organisation_public(orgs.create_organisation(session, actor, spec))


@router.patch("/organisations/{code}")
def update(
    code: str, change: OrganisationUpdate, session: SessionDep, actor: ApiPrincipal
) -> OrganisationPublic:
    return orgs.organisation_public(orgs.update_organisation(session, actor, code, change))
