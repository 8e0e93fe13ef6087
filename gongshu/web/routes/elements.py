"""Standard data elements (数据元)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gongshu.catalogue.elements import ElementPublic, list_elements
from gongshu.service.deps import SessionDep
from gongshu.web.auth import GovUser
from gongshu.web.queries import element_view
from gongshu.web.twins import page

router = APIRouter()


@page(router, "/elements", "elements.html")
def element_list(session: SessionDep, actor: GovUser) -> dict[str, Any]:
    """Every active data element: code, name, type, length, standard, code set."""
    return {"elements": [ElementPublic.model_validate(e) for e in list_elements(session)]}


@page(router, "/elements/{code}", "element.html")
def element(code: str, session: SessionDep, actor: GovUser) -> dict[str, Any]:
    """One data element and how many data items bind to it."""
    return element_view(session, code)
