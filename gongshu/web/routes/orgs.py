"""Organisations (机构): the list by kind and one organisation with its entries and users."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gongshu.quality import tickets
from gongshu.service.deps import SessionDep
from gongshu.web.auth import GovUser
from gongshu.web.queries import organisation_view, organisations_by_kind
from gongshu.web.twins import page

router = APIRouter()


@page(router, "/orgs", "orgs.html")
def organisation_list(session: SessionDep, actor: GovUser) -> dict[str, Any]:
    """Organisations grouped as 大数据中心 / 委办局 / 区."""
    return organisations_by_kind(session)


@page(router, "/orgs/{code}", "org.html")
def organisation(code: str, session: SessionDep, actor: GovUser) -> dict[str, Any]:
    """An organisation's fields, its catalogue entries (counts by status), for operators its users, and
    its unresolved problem tickets (问题工单) for those who may see them."""
    return organisation_view(session, actor, code) | {
        "tickets": tickets.organisation_summary(session, actor, code)
    }
