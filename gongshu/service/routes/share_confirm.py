"""Monthly confirmation letters (确认函) API: list, read, print and confirm a consumer's letters.

Every route needs an API token. A department's users see its letters; operators and security
officers see all (``gongshu.share.confirmation`` decides). ``POST …/confirm`` is for the department's
consumers and stewards (and operators): it stores the letter's SHA-256 digest and unfreezes the
grants the month froze. The PDF is printed by headless Chromium on the server (503 if it has none).
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gongshu.service.deps import ApiPrincipal, PlatformDep, SessionDep
from gongshu.share import confirmation
from gongshu.share.confirmation import ConfirmResult, LetterContent, LetterSummary
from gongshu.share.exchange import call_log

router = APIRouter(prefix="/share/letters", tags=["share 共享"])

LangQuery = Annotated[Literal["zh-CN", "en"], Query(description="language of the letter: zh-CN or en")]


def letter_file(data: bytes, consumer: str, month: str, lang: str) -> Response:
    """A letter PDF as an attachment named in Chinese (RFC 5987 ``filename*``) with an ASCII fallback."""
    name = confirmation.letter_filename(consumer, month, lang)
    fallback = confirmation.letter_filename(consumer, month, "en")
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    return Response(
        data, media_type=confirmation.PDF_MEDIA_TYPE, headers={"Content-Disposition": disposition}
    )


@router.get("", summary="List confirmation letters 确认函")
def list_letters(
    session: SessionDep,
    actor: ApiPrincipal,
    consumer: Annotated[str | None, Query(description="consuming organisation code, e.g. D310101")] = None,
    status: Annotated[
        Literal["pending", "confirmed"] | None, Query(description="pending or confirmed")
    ] = None,
) -> list[LetterSummary]:
    """The letters the caller may see, pending first, newest month first, with due dates and the
    number of frozen grants of each."""
    return confirmation.letters(session, actor, consumer=consumer, status=status)


@router.get("/{consumer}/{month}", summary="Read a confirmation letter")
def read_letter(
    consumer: str, month: str, session: SessionDep, platform: PlatformDep, actor: ApiPrincipal
) -> LetterContent:
    """The letter of ``consumer`` for ``month`` (``YYYY-MM``): its demands with the month's calls by
    API, the totals, the due date, its confirmation state and its content digest."""
    return confirmation.letter(session, actor, consumer, month, log=call_log(platform))


@router.get("/{consumer}/{month}/pdf", summary="Print a confirmation letter as PDF", response_class=Response)
def letter_document(
    consumer: str,
    month: str,
    session: SessionDep,
    platform: PlatformDep,
    actor: ApiPrincipal,
    lang: LangQuery = "zh-CN",
) -> Response:
    """The letter as an A4 PDF 《共享数据使用确认函》 (503 with a hint when the server has no Chromium)."""
    content = confirmation.letter(session, actor, consumer, month, log=call_log(platform))
    return letter_file(confirmation.letter_pdf(content, lang), consumer, month, lang)


@router.post("/{consumer}/{month}/confirm", summary="Confirm a confirmation letter 确认")
def confirm_letter(
    consumer: str, month: str, session: SessionDep, platform: PlatformDep, actor: ApiPrincipal
) -> ConfirmResult:
    """Confirm the letter (the department's consumers and stewards, or an operator); answers the
    confirmed letter and the grants unfrozen. 409 when it is confirmed already."""
    return confirmation.confirm(session, actor, consumer, month, log=call_log(platform))
