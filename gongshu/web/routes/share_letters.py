"""Monthly confirmation letters (确认函): the list, a letter with its PDF and the confirm button.

``/share/letters`` lists the signed-in user's organisation's letters (operators and security
officers: every consumer's, with a consumer filter), pending first, with due dates and a warning
when grants are frozen. ``/share/letters/{consumer}/{month}`` shows the letter as printed (the
same HTML as the PDF at ``….pdf``) and, to those who may, a 确认 form. What may be seen and done is
decided by ``gongshu.share.confirmation``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from gongshu.quality.render import month_label
from gongshu.service.deps import PlatformDep, SessionDep
from gongshu.service.routes.share_confirm import letter_file
from gongshu.share import confirmation
from gongshu.share.confirmation import LetterContent
from gongshu.share.exchange import call_log
from gongshu.web.auth import GovUser
from gongshu.web.forms import blank_to_none
from gongshu.web.render import templates
from gongshu.web.routes.reports import viewer_language
from gongshu.web.twins import Done, page

router = APIRouter()


# --- the file (registered before the page: "/share/letters/{consumer}/{month}" would take "….pdf") --


@router.get("/share/letters/{consumer}/{month}.pdf")
def letter_pdf_file(
    consumer: str, month: str, request: Request, session: SessionDep, platform: PlatformDep, actor: GovUser
) -> Response:
    """The letter as an A4 PDF in the viewer's language (503 with a hint without Chromium)."""
    lang = viewer_language(request)
    content = confirmation.letter(session, actor, consumer, month, log=call_log(platform))
    return letter_file(confirmation.letter_pdf(content, lang), consumer, month, lang)


# --- pages ----------------------------------------------------------------------------------------


@page(router, "/share/letters", "share/letters.html")
def letter_list(
    session: SessionDep, actor: GovUser, consumer: str | None = None, status: str | None = None
) -> dict[str, Any]:
    """The viewer's letters, pending first, with due dates, overdue and frozen grants flagged."""
    filters = {"consumer": blank_to_none(consumer), "status": blank_to_none(status)}
    everyone = confirmation.letters(session, actor)
    consumers = {s.consumer: s.consumer_name for s in everyone}
    shown = (
        everyone
        if not any(filters.values())
        else confirmation.letters(session, actor, consumer=filters["consumer"], status=filters["status"])
    )
    return {
        "filters": filters,
        "statuses": confirmation.STATUSES,
        "consumers": [{"code": code, "name": name} for code, name in sorted(consumers.items())],
        "letters": shown,
        "pending": sum(s.status == confirmation.PENDING for s in shown),
        "frozen": confirmation.frozen_grants(session, actor, consumer=filters["consumer"]),
    }


@page(router, "/share/letters/{consumer}/{month}", "share/letter.html")
def letter_page(
    consumer: str, month: str, session: SessionDep, platform: PlatformDep, actor: GovUser
) -> dict[str, Any]:
    """One letter as printed, its PDF link and, to those who may confirm it, the 确认 form."""
    return {"letter": confirmation.letter(session, actor, consumer, month, log=call_log(platform))}


@page(router, "/share/letters/{consumer}/{month}/confirm", "share/letter.html", methods=["POST"])
def letter_confirm(
    consumer: str, month: str, session: SessionDep, platform: PlatformDep, actor: GovUser
) -> Done:
    """Confirm the letter, then back to it (its JSON twin answers the letter and the grants unfrozen)."""
    done = confirmation.confirm(session, actor, consumer, month, log=call_log(platform))
    return Done(f"/share/letters/{consumer}/{month}", done)


# --- what the letter templates use ----------------------------------------------------------------


@pass_context
def _letter_body(context: Context, content: LetterContent) -> Markup:
    html = confirmation.letter_html(content, context["lang"], fragment=True)
    return Markup(html)  # noqa: S704  (rendered by the letter's autoescaping template)


@pass_context
def _letter_month(context: Context, month: str) -> str:
    return month_label(month, context["lang"])


templates.globals.update(share_letter_body=_letter_body, share_letter_month=_letter_month)
