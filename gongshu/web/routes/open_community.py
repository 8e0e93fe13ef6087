"""The portal's community and statistics pages (开放门户): showcases (应用展示), requests and feedback
(需求与反馈), statistics (开放统计) and freshness (更新及时性).

Everyone may read them and submit (anonymous visitors give a name); operators moderate showcases;
a department's stewards and reviewers reply to the requests addressed to it. The rules are in
``gongshu.open.community``, ``gongshu.open.stats`` and ``gongshu.open.freshness``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from jinja2 import pass_context
from jinja2.runtime import Context
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from gongshu.errors import ValidationFailed
from gongshu.open import community, freshness, stats
from gongshu.open.community import KIND_LABELS, RequestKind, ShowcaseKind
from gongshu.orgs.roles import Principal, Role
from gongshu.quality.svg import svg_bar_chart, svg_line_chart
from gongshu.service.deps import PlatformDep, SessionDep
from gongshu.service.routes.open_community import client_of, throttle_of
from gongshu.store.base import city_today
from gongshu.web.auth import Viewer, signed_in
from gongshu.web.forms import parse_form
from gongshu.web.render import templates
from gongshu.web.twins import Done, Result, invalid, page

router = APIRouter()


@pass_context
def kind_label(context: Context, kind: str) -> str:
    zh, en = KIND_LABELS.get(kind, (kind, kind))
    return en if context["lang"] == "en" else zh


@pass_context
def bar_chart(context: Context, items: list[tuple[str, float | None]], title: str, **options: Any) -> str:
    return svg_bar_chart(items, title=title, lang=context["lang"], **options)


@pass_context
def line_chart(
    context: Context, series: list[tuple[str, list[float | None]]], labels: list[str], title: str
) -> str:
    return svg_line_chart(series, labels, title=title, lang=context["lang"])


def month_day(day: str) -> str:
    """``2026-11-21`` → ``11-21`` (a daily chart's axis label)."""
    return day[5:]


templates.filters.update(open_comm_kind=kind_label, open_comm_md=month_day)
templates.globals.update(open_comm_bar_chart=bar_chart, open_comm_line_chart=line_chart)


# --- showcases ----------------------------------------------------------------------------------


class ShowcaseForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str = ""
    kind: str = ShowcaseKind.APP.value
    description: str = ""
    url: str = ""
    datasets: str = ""  # names separated by commas or spaces
    name: str = ""


def showcases_context(session: Session, viewer: Principal | None, submitted: bool) -> dict[str, Any]:
    operator = viewer is not None and viewer.has(Role.OPERATOR)
    shown = community.list_showcases(session, viewer)
    queue = community.list_showcases(session, viewer, state=community.PENDING) if operator else None
    return {
        "showcases": [community.showcase_public(session, s, viewer) for s in shown],
        "queue": [community.showcase_public(session, s, viewer) for s in queue]
        if queue is not None
        else None,
        "kinds": [k.value for k in ShowcaseKind],
        "signed_in": viewer is not None,
        "submitted": submitted,
        "form": ShowcaseForm().model_dump(),
    }


@page(router, "/open/showcases", "open/community_showcases.html")
def showcases(session: SessionDep, viewer: Viewer, submitted: bool = False) -> dict[str, Any]:
    """Approved showcases, the submission form, and for operators the moderation queue."""
    return showcases_context(session, viewer, submitted)


@page(router, "/open/showcases", "open/community_showcases.html", methods=["POST"])
def showcase_submit(
    request: Request, session: SessionDep, viewer: Viewer, form: Annotated[ShowcaseForm, Form()]
) -> Result:
    """Submit a showcase for moderation."""
    document = {
        "title": form.title,
        "kind": form.kind,
        "description": form.description,
        "url": form.url.strip() or None,
        "datasets": form.datasets.replace(",", " ").replace("，", " ").split(),
        "name": form.name.strip() or None,
    }
    try:
        spec = parse_form(community.ShowcaseCreate, document)
        showcase = community.submit_showcase(
            session, viewer, spec, client=client_of(request), throttle=throttle_of(request)
        )
    except ValidationFailed as error:
        session.rollback()
        return invalid(error, showcases_context(session, viewer, False), form.model_dump())
    return Done("/open/showcases?submitted=true", community.showcase_public(session, showcase, viewer))


@page(router, "/open/showcases/{showcase_id}/{action}", "open/community_showcases.html", methods=["POST"])
def showcase_moderate(
    showcase_id: int,
    action: str,
    session: SessionDep,
    viewer: Viewer,
    note: Annotated[str, Form()] = "",
) -> Result:
    """Approve or reject (with a note) a pending showcase: operators only."""
    actor = signed_in(viewer)
    try:
        showcase = community.moderate_showcase(session, actor, showcase_id, action, note)
    except ValidationFailed as error:
        session.rollback()
        context = showcases_context(session, viewer, False) | {"failed_showcase": showcase_id}
        return invalid(error, context, {"note": note})
    return Done("/open/showcases#queue", community.showcase_public(session, showcase, actor))


# --- requests and feedback ----------------------------------------------------------------------


class RequestForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kind: str = RequestKind.REQUEST.value
    title: str = ""
    body: str = ""
    dataset: str = ""
    department: str = ""
    name: str = ""
    private: bool = False


def requests_context(
    session: Session, viewer: Principal | None, reply_days: int, *, dataset: str = "", submitted: bool = False
) -> dict[str, Any]:
    today = city_today()
    listed = community.list_requests(session, viewer)
    mine = None
    if viewer is not None and (viewer.has(Role.OPERATOR) or viewer.has(Role.STEWARD, Role.REVIEWER)):
        org = None if viewer.has(Role.OPERATOR) else viewer.organisation_id
        if viewer.has(Role.OPERATOR) or org is not None:
            mine = [
                community.request_public(r, viewer, today=today)
                for r in community.list_requests(session, viewer, organisation_id=org, state=community.OPEN)
                if community.may_reply(viewer, r)
            ]
    return {
        "requests": [community.request_public(r, viewer, today=today) for r in listed],
        "to_reply": mine,
        "response_stats": community.response_stats(session, today=today),
        "departments": community.departments(session),
        "kinds": [k.value for k in RequestKind],
        "signed_in": viewer is not None,
        "submitted": submitted,
        "reply_days": reply_days,
        "form": RequestForm(dataset=dataset).model_dump(),
    }


@page(router, "/open/requests", "open/community_requests.html")
def requests_page(
    platform: PlatformDep, session: SessionDep, viewer: Viewer, dataset: str = "", submitted: bool = False
) -> dict[str, Any]:
    """Public requests with replies and response times, the form, and the viewer's department's queue."""
    days = platform.settings.open_reply_days
    return requests_context(session, viewer, days, dataset=dataset, submitted=submitted)


@page(router, "/open/requests", "open/community_requests.html", methods=["POST"])
def request_submit(
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    viewer: Viewer,
    form: Annotated[RequestForm, Form()],
) -> Result:
    """File a data request or feedback."""
    document = {
        "kind": form.kind,
        "title": form.title,
        "body": form.body,
        "dataset": form.dataset.strip() or None,
        "department": form.department.strip() or None,
        "name": form.name.strip() or None,
        "public": not form.private,
    }
    try:
        spec = parse_form(community.RequestCreate, document)
        filed = community.submit_request(
            session,
            viewer,
            spec,
            settings=platform.settings,
            client=client_of(request),
            throttle=throttle_of(request),
        )
    except ValidationFailed as error:
        session.rollback()
        context = requests_context(session, viewer, platform.settings.open_reply_days)
        return invalid(error, context, form.model_dump())
    return Done("/open/requests?submitted=true", community.request_public(filed, viewer))


@page(router, "/open/requests/{request_id}/reply", "open/community_requests.html", methods=["POST"])
def request_reply(
    request_id: int,
    platform: PlatformDep,
    session: SessionDep,
    viewer: Viewer,
    reply: Annotated[str, Form()] = "",
) -> Result:
    """The addressed department's reply."""
    actor = signed_in(viewer)
    try:
        answered = community.reply_request(session, actor, request_id, reply)
    except ValidationFailed as error:
        session.rollback()
        context = requests_context(session, viewer, platform.settings.open_reply_days)
        context |= {"failed_request": request_id}
        return invalid(error, context, {"reply": reply})
    return Done(f"/open/requests#request-{request_id}", community.request_public(answered, actor))


# --- statistics and freshness -------------------------------------------------------------------


@page(router, "/open/stats", "open/community_stats.html")
def stats_page(session: SessionDep, viewer: Viewer) -> dict[str, Any]:
    """Totals, usage by day and month, datasets by department over time, top datasets, on-time ratios."""
    return stats.portal_stats(session, city_today())


@page(router, "/open/freshness", "open/community_freshness.html")
def freshness_page(session: SessionDep, viewer: Viewer) -> dict[str, Any]:
    """On-time ratios (city, departments), overdue datasets, and the viewer's department's alerts."""
    today = city_today()
    report = freshness.freshness_report(session, today)
    mine = None
    if viewer is not None and viewer.organisation_id is not None and viewer.has(Role.STEWARD, Role.REVIEWER):
        mine = freshness.open_alerts(session, viewer.organisation_id, today=today)
    return report | {"my_alerts": mine}
