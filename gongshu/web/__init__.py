"""The server-rendered pages (Jinja2 + htmx), zh-CN by default with English; each has a JSON twin.

Pages are thin shells over the library: a handler parses input, calls one library function (or one
read composition of :mod:`gongshu.web.queries`) and returns its data, which :mod:`gongshu.web.twins`
renders as HTML or as JSON on the same path with ``.json`` appended.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from gongshu.web.auth import check_csrf

STATIC_DIR = Path(str(resources.files("gongshu.web").joinpath("static")))


def install_pages(app: FastAPI) -> None:
    """Mount ``/static`` and register every page router (each POST is CSRF-checked)."""
    from gongshu.web.routes import routers

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in routers:
        app.include_router(router, dependencies=[Depends(check_csrf)])


__all__ = ["install_pages"]
