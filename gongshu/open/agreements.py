"""The documents of a conditional-open application: 数据安全承诺书 and 数据利用协议, as PDF.

Both are self-contained HTML (``gongshu/open/templates/``) printed to A4 PDF by headless Chromium
(:func:`gongshu.quality.pdf.report_pdf`, as the sharing exchange's confirmation letters are). They
are filled with the applicant, the dataset, the requested 信息项, purpose, scenario, duration and
the obligations below, written once when the application is filed and kept under
``<data_dir>/open/applications/<code>/``; their SHA-256 digests are stored on the application so
a copy can be checked against what was generated.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from gongshu.quality.pdf import report_pdf
from gongshu.share.confirmation import PRINT_FONT
from gongshu.store.base import CITY_TIMEZONE

#: The two documents: file stem → (template, Chinese title, English title).
DOCUMENTS = {
    "pledge": ("pledge.html", "数据安全承诺书", "Data security pledge"),
    "agreement": ("agreement.html", "数据利用协议", "Data-use agreement"),
}
PDF_MEDIA_TYPE = "application/pdf"

#: What the applicant undertakes (both documents list them; the agreement binds them).
OBLIGATIONS = (
    "仅将数据用于本申请载明的用途和应用场景，不超范围使用 — "
    "use the data only for the stated purpose and scenario",
    "不向第三方提供、转让、出售或公开所获取的原始数据 — do not pass, sell or publish the data to others",
    "不以任何方式尝试重新识别个人身份或关联其他数据推断个人信息 — never try to re-identify persons",
    "采取必要的管理和技术措施保障数据安全，发生泄露等安全事件时立即停止使用并报告数据提供部门 — "
    "keep the data secure and report any incident to the providing department at once",
    "妥善保管授权凭证，不得转借；凭证泄露时立即申请撤销 — "
    "keep the credential secret; ask to revoke it if leaked",
    "授权期满或被撤销后停止调用并删除已获取的数据 — "
    "stop and delete the data when the approval ends or is revoked",
    "在数据利用成果中注明数据来源于本市公共数据开放平台 — credit the city's open-data portal as the source",
    "接受数据提供部门和平台对数据使用情况的监督检查，访问记录全程留痕 — "
    "accept audits; every access is logged",
)

_templates = Environment(
    loader=PackageLoader("gongshu.open", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class DocumentContent:
    """What the two documents say about one application."""

    code: str
    applicant_org: str
    applicant_uscc: str | None
    applicant_user: str
    contact: str
    dataset_code: str
    dataset_title: str
    provider_name: str
    open_condition: str | None
    fields: tuple[tuple[str, str], ...]  # (name, label)
    purpose: str
    scenario: str
    duration_days: int
    filed_at: datetime
    due_on: date


def document_html(kind: str, content: DocumentContent) -> str:
    """One document (``pledge`` or ``agreement``) as a self-contained A4 HTML page."""
    template, title_zh, title_en = DOCUMENTS[kind]
    return _templates.get_template(template).render(
        c=content,
        title=title_zh,
        title_en=title_en,
        obligations=OBLIGATIONS,
        filed=content.filed_at.astimezone(CITY_TIMEZONE).strftime("%Y-%m-%d %H:%M"),
        font=Markup(PRINT_FONT),  # noqa: S704 (a constant, never user text)
    )


def document_dir(data_dir: Path, code: str) -> Path:
    return data_dir / "open" / "applications" / code


def document_path(data_dir: Path, code: str, kind: str) -> Path:
    if kind not in DOCUMENTS:
        raise KeyError(kind)
    return document_dir(data_dir, code) / f"{kind}.pdf"


def write_documents(data_dir: Path, content: DocumentContent) -> dict[str, str]:
    """Print both documents to PDF under the application's directory; their SHA-256 by kind.

    Raises:
        PdfUnavailable: no Chromium here. PdfFailed: Chromium did not print a document.
    """
    target = document_dir(data_dir, content.code)
    target.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=len(DOCUMENTS)) as pool:
        printed = dict(
            zip(
                DOCUMENTS,
                pool.map(lambda kind: report_pdf(document_html(kind, content)), DOCUMENTS),
                strict=True,
            )
        )
    digests: dict[str, str] = {}
    for kind, data in printed.items():
        path = document_path(data_dir, content.code, kind)
        partial = path.with_suffix(".pdf.partial")
        partial.write_bytes(data)
        partial.replace(path)
        digests[kind] = hashlib.sha256(data).hexdigest()
    return digests


def document_filename(code: str, kind: str) -> str:
    """``数据安全承诺书-OA000001.pdf``."""
    return f"{DOCUMENTS[kind][1]}-{code}.pdf"
