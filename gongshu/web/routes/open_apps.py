"""The open portal's pages for developers and 有条件开放 applications.

``/open/developer``: visitors register (and are signed in); developers list, create and revoke their
API keys and see their usage. ``/open/datasets/{name}/apply``: the application form of a 有条件开放
dataset. ``/open/applications``: public statistics, my applications and, for the providing
departments, their review queue. ``/open/applications/{code}``: one application with its events,
documents, review forms, the collect-credential button and the accesses made with it. Every rule is
in :mod:`gongshu.open.developers` and :mod:`gongshu.open.applications`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.open import applications as apps
from gongshu.open import developers
from gongshu.open.datasets import open_dataset
from gongshu.orgs.models import User
from gongshu.orgs.roles import Principal, Role
from gongshu.service.deps import PlatformDep, SessionDep
from gongshu.service.routes.open_apps import live_used, pdf_response
from gongshu.web.auth import SignedIn, Viewer
from gongshu.web.twins import Done, Page, Result, invalid, page

router = APIRouter()

ACTIONS = ("approve", "refuse", "withdraw", "revoke", "credential")


def _public_url(request: Request, platform: Any) -> str:
    return (platform.settings.public_url or str(request.base_url)).rstrip("/")


# --- developers -----------------------------------------------------------------------------------


def developer_context(
    request: Request, platform: Any, session: Session, viewer: Principal | None
) -> dict[str, Any]:
    """The developer page's data: the registration form, or the developer's keys and usage."""
    context: dict[str, Any] = {
        "base_url": _public_url(request, platform),
        "issued": None,
        "is_developer": bool(viewer and viewer.has(Role.DEVELOPER)),
        "default_quota": platform.settings.open_key_daily_quota,
        "default_rate": platform.settings.open_key_rate_per_s,
        "profile": None,
        "usage": [],
        "credentials": [],
    }
    if viewer is None or viewer.user_id is None:
        return context
    user = session.get(User, viewer.user_id)
    assert user is not None
    keys = developers.list_keys(session, user)
    context["profile"] = {"username": user.username, "display_name": user.display_name} | (
        developers.developer_profile(session, user)
    )
    context["usage"] = [
        u.model_dump() for u in developers.usage_of(session, keys, live_used=live_used(request))
    ]
    context["credentials"] = [
        developers.key_public(k).model_dump()
        for k in developers.list_keys(session, user, credentials=True)
        if k.application_id is not None
    ]
    return context


@page(router, "/open/developer", "open/developer.html")
def developer_page(
    request: Request, platform: PlatformDep, session: SessionDep, viewer: Viewer
) -> dict[str, Any]:
    """Register (visitors) or manage keys and see usage (signed-in users)."""
    return developer_context(request, platform, session, viewer)


class RegistrationForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: str = ""
    display_name: str = ""
    password: str = ""
    organisation_name: str = ""
    uscc: str = ""


@page(router, "/open/developer/register", "open/developer.html", methods=["POST"])
def developer_register(
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    viewer: Viewer,
    form: Annotated[RegistrationForm, Form()],
) -> Result:
    """Create the developer account and sign it in."""
    shown = form.model_dump(exclude={"password"})
    try:
        user = developers.register_developer(session, form.model_dump())
    except (ValidationFailed, Conflict) as error:
        session.rollback()
        failed = (
            error if isinstance(error, ValidationFailed) else ValidationFailed({"username": [error.message]})
        )
        return invalid(failed, developer_context(request, platform, session, viewer), shown)
    request.session.clear()  # a fresh session (and CSRF nonce), as at sign-in
    request.session.update(uid=user.id, name=user.display_name)
    return Done("/open/developer", {"username": user.username, "roles": [Role.DEVELOPER.value]})


@page(router, "/open/developer/keys", "open/developer.html", methods=["POST"])
def developer_key_create(
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    actor: SignedIn,
    name: Annotated[str, Form()] = "",
) -> Result:
    """Create a key; the page shows its secret this once."""
    try:
        key, secret = developers.issue_key(session, actor, name, settings=platform.settings)
    except (ValidationFailed, Conflict) as error:
        session.rollback()
        failed = error if isinstance(error, ValidationFailed) else ValidationFailed({"name": [error.message]})
        return invalid(failed, developer_context(request, platform, session, actor), {"name": name})
    context = developer_context(request, platform, session, actor)
    context["issued"] = developers.key_issued(key, secret).model_dump()
    return Page(context, status=201, headers={"Cache-Control": "no-store"})


@page(router, "/open/developer/keys/{key_id}/revoke", "open/developer.html", methods=["POST"])
def developer_key_revoke(key_id: int, session: SessionDep, actor: SignedIn) -> Result:
    key = developers.withdraw_key(session, actor, key_id)
    return Done("/open/developer", developers.key_public(key))


# --- the application form -------------------------------------------------------------------------


class ApplicationForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    applicant_org: str = ""
    applicant_uscc: str = ""
    contact: str = ""
    purpose: str = ""
    scenario: str = ""
    fields: list[str] = []
    duration_days: str = "180"


def apply_context(session: Session, actor: Principal, name: str) -> dict[str, Any]:
    dataset = open_dataset(session, name)
    return {
        "dataset": {
            "name": dataset.name,
            "code": dataset.code,
            "title": dataset.title,
            "provider_name": dataset.provider_name,
            "open_type": dataset.open_type,
            "open_condition": dataset.open_condition,
            "unconditional": dataset.unconditional,
        },
        # only published (一般) items are named; the others are counted, never listed (ADR 0009)
        "fields": [{"name": f.name, "label": f.label} for f in dataset.fields if f.published],
        "withheld": sum(1 for f in dataset.fields if not f.published),
        "is_developer": actor.has(Role.DEVELOPER),
        "max_days": apps.MAX_DURATION_DAYS,
    }


@page(router, "/open/datasets/{name}/apply", "open/apply_form.html")
def apply_form(name: str, session: SessionDep, actor: SignedIn) -> dict[str, Any]:
    """The application form of a 有条件开放 dataset, filled in from the developer's registration."""
    context = apply_context(session, actor, name)
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    profile = developers.developer_profile(session, user) if user is not None else {}
    form = ApplicationForm(
        applicant_org=profile.get("organisation_name") or "",
        applicant_uscc=profile.get("uscc") or "",
        contact=user.display_name if user is not None else "",
    )
    return context | {"form": form.model_dump()}


@page(router, "/open/datasets/{name}/apply", "open/apply_form.html", methods=["POST"])
def apply_submit(
    name: str,
    platform: PlatformDep,
    session: SessionDep,
    actor: SignedIn,
    form: Annotated[ApplicationForm, Form()],
) -> Result:
    """File the application; every problem is shown beside its field."""
    context = apply_context(session, actor, name)
    try:
        application = apps.file_application(
            session, actor, form.model_dump() | {"dataset": name}, settings=platform.settings
        )
    except ValidationFailed as error:
        session.rollback()
        return invalid(error, context, form.model_dump())
    return Done(f"/open/applications/{application.code}", apps.application_public(session, application))


# --- applications ---------------------------------------------------------------------------------


def _listed(session: Session, found: list[Any]) -> list[dict[str, Any]]:
    return [apps.application_public(session, a).model_dump(exclude={"events", "credentials"}) for a in found]


@page(router, "/open/applications", "open/applications.html")
def applications_page(session: SessionDep, viewer: Viewer) -> dict[str, Any]:
    """Public statistics; a signed-in user's applications; the providing department's review queue."""
    reviewer = viewer is not None and (viewer.has(Role.OPERATOR) or viewer.has(Role.STEWARD, Role.REVIEWER))
    return {
        "stats": [s.model_dump() for s in apps.application_stats(session)],
        "mine": _listed(session, apps.list_applications(session, viewer, side="mine")) if viewer else [],
        "queue": _listed(session, apps.list_applications(session, viewer, side="review"))
        if viewer and reviewer
        else None,
    }


def application_context(session: Session, actor: Principal, code: str) -> dict[str, Any]:
    application = apps.get_application(session, actor, code)
    shown = apps.application_public(session, application)
    actions: list[str] = []
    if application.state == apps.SUBMITTED and apps.may_review(actor, application):
        actions += ["approve", "refuse"]
    if application.state == apps.APPROVED and apps.may_review(actor, application):
        actions.append("revoke")
    if application.state == apps.SUBMITTED and apps.is_applicant(actor, application):
        actions.append("withdraw")
    if apps.is_applicant(actor, application) and apps.is_valid(application):
        actions.append("credential")
    entry_fields = {i.name: i.label for i in application.entry.items}
    return {
        "application": shown.model_dump(),
        "field_labels": entry_fields,
        "actions": actions,
        "documents": apps.is_applicant(actor, application)
        or apps.may_review(actor, application)
        or actor.organisation_id == application.entry.provider_id,
        "accesses": [a.model_dump() for a in apps.application_accesses(session, actor, code)],
        "issued": None,
        "failed_action": None,
    }


@page(router, "/open/applications/{code}", "open/application.html")
def application_page(code: str, session: SessionDep, actor: SignedIn) -> dict[str, Any]:
    """One application: details, events, documents, review, credential and accesses."""
    return application_context(session, actor, code)


@page(router, "/open/applications/{code}/{action}", "open/application.html", methods=["POST"])
def application_act(
    code: str,
    action: str,
    platform: PlatformDep,
    session: SessionDep,
    actor: SignedIn,
    reason: Annotated[str, Form()] = "",
    fields: Annotated[list[str] | None, Form()] = None,
) -> Result:
    """Approve, refuse, withdraw, revoke, or collect the credential (its secret shown this once)."""
    if action not in ACTIONS:
        raise NotFound(f"no action {action!r}", value=action)
    try:
        if action == "credential":
            key, secret = apps.collect_credential(session, actor, code, settings=platform.settings)
            context = application_context(session, actor, code)
            context["issued"] = developers.key_issued(key, secret, application=code.upper()).model_dump()
            return Page(context, status=201, headers={"Cache-Control": "no-store"})
        _decide(session, actor, code, action, reason, fields)
    except ValidationFailed as error:
        session.rollback()
        context = application_context(session, actor, code) | {"failed_action": action}
        return invalid(error, context, {"reason": reason})
    return Done(
        f"/open/applications/{code.upper()}",
        apps.application_public(session, apps.get_application(session, actor, code)),
    )


def _decide(
    session: Session, actor: Principal, code: str, action: str, reason: str, fields: list[str] | None
) -> None:
    if action == "approve":
        apps.approve(session, actor, code, fields=fields or [], note=reason)  # none ticked: none approved
    elif action == "refuse":
        apps.refuse(session, actor, code, reason)
    elif action == "withdraw":
        apps.withdraw(session, actor, code)
    else:
        apps.revoke(session, actor, code, reason)


def _document(code: str, kind: str, platform: PlatformDep, session: SessionDep, actor: SignedIn) -> Response:
    try:
        data = apps.document_of(session, actor, code, kind, settings=platform.settings)
    except (NotFound, PermissionDenied) as error:
        raise NotFound(error.message) from None
    return pdf_response(data, code.upper(), kind)


@router.get("/open/applications/{code}/pledge.pdf", include_in_schema=False)
def pledge_pdf(code: str, platform: PlatformDep, session: SessionDep, actor: SignedIn) -> Response:
    """The 数据安全承诺书 as generated (applicant, provider and operators)."""
    return _document(code, "pledge", platform, session, actor)


@router.get("/open/applications/{code}/agreement.pdf", include_in_schema=False)
def agreement_pdf(code: str, platform: PlatformDep, session: SessionDep, actor: SignedIn) -> Response:
    """The 数据利用协议 as generated (applicant, provider and operators)."""
    return _document(code, "agreement", platform, session, actor)
