"""The monthly public-data quality report (月度公共数据质量报告) API: its figures, the XLSX and the PDF.

``GET /reports/{month}`` answers the figures dict of ``gongshu.quality.figures.monthly_report``
(its shape: docs/quality-report.md); ``/reports/{month}/xlsx`` and ``/reports/{month}/pdf`` the
same report as files, in Chinese or (``?lang=en``) English. Any API token may read the report.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from gongshu.orgs.roles import Principal
from gongshu.platform import Platform
from gongshu.quality import figures
from gongshu.quality.render import (
    PDF_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    check_month,
    report_filename,
    report_pdf,
    report_xlsx,
)
from gongshu.service.deps import ApiPrincipal, PlatformDep, SessionDep
from gongshu.share.metering import calls_by_resource

router = APIRouter(prefix="/reports", tags=["quality 质量"])

ReportFormat = Literal["xlsx", "pdf"]
LangQuery = Annotated[Literal["zh-CN", "en"], Query(description="language of the file: zh-CN or en")]
MEDIA_TYPES: dict[str, str] = {"xlsx": XLSX_MEDIA_TYPE, "pdf": PDF_MEDIA_TYPE}


def monthly_report(session: Session, month: str, actor: Principal, platform: Platform) -> dict[str, Any]:
    """The figures of ``month`` once it is checked to be a real ``YYYY-MM`` month that has begun,
    with the month's sharing calls from the platform's call log."""
    month = check_month(month)
    return figures.monthly_report(session, month, actor=actor, calls=calls_by_resource(platform, month))


def report_file(data: bytes, month: str, fmt: ReportFormat, lang: str) -> Response:
    """A report file as an attachment named in Chinese (RFC 5987 ``filename*``), with an ASCII fallback."""
    name = report_filename(month, fmt, lang)
    fallback = report_filename(month, fmt, "en")
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})


def print_html(report: dict[str, Any], lang: str) -> str:
    # the printable page is a template of the web shell; imported here, not at module level, as the
    # web's report routes import this module
    from gongshu.web.routes.reports import render_print_html

    return render_print_html(report, lang)


@router.get("/{month}")
def report_figures(
    month: str, session: SessionDep, actor: ApiPrincipal, platform: PlatformDep
) -> dict[str, Any]:
    """The month's report figures: 市级部门 and 各区 totals, departments, districts, dimensions, trend."""
    return monthly_report(session, month, actor, platform)


@router.get("/{month}/xlsx", response_class=Response)
def report_workbook(
    month: str, session: SessionDep, actor: ApiPrincipal, platform: PlatformDep, lang: LangQuery = "zh-CN"
) -> Response:
    """The report as an XLSX workbook (概览, 市级部门, 各区, 质量维度, 主要问题, 趋势)."""
    report = monthly_report(session, month, actor, platform)
    return report_file(report_xlsx(report, lang), month, "xlsx", lang)


@router.get("/{month}/pdf", response_class=Response)
def report_document(
    month: str, session: SessionDep, actor: ApiPrincipal, platform: PlatformDep, lang: LangQuery = "zh-CN"
) -> Response:
    """The report as an A4 PDF, printed by headless Chromium on the server (503 if it has none)."""
    report = monthly_report(session, month, actor, platform)
    return report_file(report_pdf(print_html(report, lang)), month, "pdf", lang)
