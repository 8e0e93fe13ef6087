"""The open portal's public pages (开放门户): home, dataset page, departments.

Nobody needs to sign in. The pages' data comes from :mod:`gongshu.open.portal` and
:mod:`gongshu.open.portal_dataset`, which decide what the public may see; who reads a dataset's
data (the preview) is the :class:`~gongshu.open.caller.Caller` of the request (a signed-in user's
approved applications count, so do a key's or credential's scopes).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from jinja2 import pass_context
from jinja2.runtime import Context

from gongshu.open import portal, portal_dataset
from gongshu.service.deps import PlatformDep, SessionDep
from gongshu.service.open_deps import OpenCaller
from gongshu.store.base import city_today
from gongshu.web import i18n
from gongshu.web.auth import Viewer
from gongshu.web.render import templates
from gongshu.web.twins import page

router = APIRouter()


def compact_count(value: int | float | None, lang: str) -> str:
    """A count as the portal shows it: ``123456`` → ``12.3万`` (zh-CN) or ``123,456`` / ``1.2M`` (en)."""
    if value is None:
        return "—"
    number = float(value)
    if lang == i18n.DEFAULT_LANGUAGE:
        for size, unit in ((1e8, "亿"), (1e4, "万")):
            if abs(number) >= size:
                return f"{number / size:.1f}".removesuffix(".0") + unit
    else:
        for size, unit in ((1e9, "B"), (1e6, "M")):
            if abs(number) >= size:
                return f"{number / size:.1f}".removesuffix(".0") + unit
    return f"{int(number):,}" if number == int(number) else f"{number:,.1f}"


@pass_context
def _open_count(context: Context, value: int | float | None) -> str:
    return compact_count(value, context["lang"])


templates.filters["open_count"] = _open_count


@page(router, "/open", "open/home.html")
def open_home(session: SessionDep, viewer: Viewer) -> dict[str, Any]:
    """Search, headline numbers, the 数据领域 grid, the newest and most downloaded datasets."""
    return portal.home_page(session, today=city_today())


@page(router, "/open/departments", "open/departments.html")
def open_departments(session: SessionDep, viewer: Viewer) -> dict[str, Any]:
    """Departments with open datasets: how many, rows, downloads and the on-time ratio."""
    return portal.departments_page(session, today=city_today())


@page(router, "/open/departments/{org_code}", "open/department.html")
def open_department(org_code: str, session: SessionDep, viewer: Viewer) -> dict[str, Any]:
    """One department's open datasets, freshness, overdue alerts and reply times."""
    return portal.department_page(session, org_code, today=city_today())


@page(router, "/open/datasets/{name}", "open/dataset.html")
def open_dataset_page(
    name: str,
    request: Request,
    platform: PlatformDep,
    session: SessionDep,
    viewer: Viewer,
    caller: OpenCaller,
) -> dict[str, Any]:
    """All catalogue fields, published 信息项, preview, downloads, API examples, history, quality."""
    base_url = platform.settings.public_url or str(request.base_url)
    return portal_dataset.dataset_page(
        session,
        name,
        caller,
        data_dir=platform.settings.data_dir,
        base_url=base_url,
        today=city_today(),
    )
