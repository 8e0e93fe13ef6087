"""Problem tickets (问题工单) API: list, read and move the tickets the audit sends back to departments.

Every route needs an API token. Who sees and may do what is decided by ``gongshu.quality.tickets``:
operators and security officers see every ticket, a department's users its own; others get an empty
list and 404. ``POST /tickets/{number}/{action}`` takes ``{"note": …, "username": …}`` for the actions
assign, start, fix, close, reopen and comment.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from gongshu.orgs.roles import Principal
from gongshu.quality import tickets
from gongshu.quality.models import Ticket
from gongshu.service.deps import ApiPrincipal, SessionDep

router = APIRouter(tags=["tickets 问题工单"])


class TicketActionBody(BaseModel):
    """What an action on a ticket carries: the note (required to fix, close, reopen, comment) and,
    to assign, the username of an active user of the department that owns the data."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=2000, description="说明 / the reason")
    username: str | None = Field(None, max_length=64, description="the assignee (assign only)")


def ticket_view(session: Session, actor: Principal, ticket: Ticket) -> dict[str, Any]:
    """A ticket with its timeline, the actions the caller may take and (to assign) whom to."""
    actions = tickets.allowed_actions(actor, ticket)
    return tickets.ticket_document(ticket, events=True) | {
        "actions": actions,
        "assignees": tickets.assignable_users(session, ticket) if "assign" in actions else [],
    }


@router.get("/tickets")
def list_all(
    session: SessionDep,
    actor: ApiPrincipal,
    organisation: Annotated[str | None, Query(description="organisation code, e.g. GA")] = None,
    status: Annotated[str | None, Query(description="open, in_progress, fixed, closed or unresolved")] = None,
    overdue: Annotated[bool | None, Query(description="true: past their deadline; false: in time")] = None,
    mount: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=tickets.MAX_PER_PAGE)] = 50,
) -> dict[str, Any]:
    """The tickets the caller may see, unresolved first by deadline, with totals."""
    found = tickets.list_tickets(
        session, actor, organisation=organisation, status=status, overdue=overdue, mount=mount,
        page=page, per_page=per_page,
    )  # fmt: skip
    return {
        "total": found.total,
        "page": found.page,
        "per_page": found.per_page,
        "pages": found.pages,
        "counts": tickets.visible_counts(session, actor),
        "tickets": [tickets.ticket_document(t) for t in found.tickets],
    }


@router.get("/tickets/{number}")
def show(number: str, session: SessionDep, actor: ApiPrincipal) -> dict[str, Any]:
    """One ticket: the problem, status, deadline (overdue, working days left) and its timeline."""
    return ticket_view(session, actor, tickets.get_ticket(session, actor, number))


@router.post("/tickets/{number}/{action}")
def act(
    number: str,
    action: str,
    session: SessionDep,
    actor: ApiPrincipal,
    body: Annotated[TicketActionBody | None, Body()] = None,
) -> dict[str, Any]:
    """assign / start / fix / close / reopen / comment; answers the ticket as it is now."""
    given = body or TicketActionBody()
    moved = tickets.act(session, actor, number, action, note=given.note, username=given.username)
    return ticket_view(session, actor, moved)
