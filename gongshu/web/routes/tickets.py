"""Problem tickets (问题工单): the list with filters and a ticket with its timeline and action forms.

The pages read the same documents as the API (``gongshu.service.routes.tickets``); who may see a
ticket and what they may do with it is decided by ``gongshu.quality.tickets``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from sqlalchemy.orm import Session

from gongshu.errors import ValidationFailed
from gongshu.orgs.roles import Principal
from gongshu.quality import tickets
from gongshu.quality.tickets import TicketStatus
from gongshu.service.deps import SessionDep
from gongshu.service.routes.tickets import ticket_view
from gongshu.web.auth import GovUser
from gongshu.web.forms import blank_to_none
from gongshu.web.twins import Done, Result, invalid, page

router = APIRouter()

PER_PAGE = 25
STATUS_CHOICES = ("unresolved", *(s.value for s in TicketStatus))
OVERDUE_CHOICES = {"yes": True, "no": False}


@page(router, "/tickets", "quality/tickets.html")
def ticket_list(
    session: SessionDep,
    actor: GovUser,
    status: str | None = None,
    overdue: str | None = None,
    organisation: str | None = None,
    mount: str | None = None,
    page_number: Annotated[int, Query(alias="page", ge=1)] = 1,
) -> dict[str, Any]:
    """The tickets the viewer may see, by status, deadline and department; overdue ones flagged."""
    filters = {
        "status": blank_to_none(status),
        "overdue": blank_to_none(overdue),
        "organisation": blank_to_none(organisation),
        "mount": blank_to_none(mount),
    }
    found = tickets.list_tickets(
        session, actor, status=filters["status"], overdue=OVERDUE_CHOICES.get(filters["overdue"] or ""),
        organisation=filters["organisation"], mount=filters["mount"], page=page_number, per_page=PER_PAGE,
    )  # fmt: skip
    return {
        "filters": filters,
        "statuses": STATUS_CHOICES,
        "organisations": tickets.ticket_organisations(session, actor),
        "counts": tickets.visible_counts(session, actor),
        "tickets": [tickets.ticket_document(t) for t in found.tickets],
        "total": found.total,
        "page": found.page,
        "pages": found.pages,
    }


@page(router, "/tickets/{number}", "quality/ticket.html")
def ticket_detail(number: str, session: SessionDep, actor: GovUser) -> dict[str, Any]:
    """A ticket: the problem, deadline, timeline (处理记录) and the forms of what the viewer may do."""
    return ticket_page(session, actor, number)


def ticket_page(session: Session, actor: Principal, number: str) -> dict[str, Any]:
    return {"ticket": ticket_view(session, actor, tickets.get_ticket(session, actor, number))}


@page(router, "/tickets/{number}/{action}", "quality/ticket.html", methods=["POST"])
def ticket_act(
    number: str,
    action: str,
    session: SessionDep,
    actor: GovUser,
    note: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
) -> Result:
    """Assign / start / fix / close / reopen / comment; a missing note or assignee shows beside its field."""
    try:
        moved = tickets.act(
            session, actor, number, action, note=blank_to_none(note), username=blank_to_none(username)
        )
    except ValidationFailed as error:
        session.rollback()
        context = ticket_page(session, actor, number) | {"failed_action": action}
        return invalid(error, context, {"note": note, "username": username})
    return Done(f"/tickets/{number}", ticket_view(session, actor, moved))
