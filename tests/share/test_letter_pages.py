"""The confirmation letter pages (确认函) and their JSON twins, the PDF, and the letters API.

A department's user sees and confirms its own letters through the pages; another department's
user gets 404; operators see every department's letters with a consumer filter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from gongshu.orgs.roles import SYSTEM, Role
from gongshu.orgs.schemas import TokenCreate
from gongshu.orgs.tokens import issue_token
from gongshu.orgs.users import get_user, principal_of
from gongshu.platform import Platform
from gongshu.quality.calendar import current_month, shift_month
from gongshu.quality.pdf import PdfUnavailable, find_chromium
from gongshu.service import create_app
from gongshu.service.routes import share_confirm
from gongshu.share import confirmation
from gongshu.share.models import Grant
from gongshu.store.base import city_today
from gongshu.web.auth import check_csrf
from gongshu.web.routes import share_letters
from tests.share.conftest import ENTERPRISES, ensure_user, grant_for

PASSWORD = "gongshu-test-password"  # tests.share.conftest.ensure_user's
CONSUMER, STRANGER = "D310116", "D310117"
MONTH = shift_month(current_month(), -1)
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
LETTER = f"/share/letters/{CONSUMER}/{MONTH}"


def chromium_or_skip() -> None:
    try:
        find_chromium()
    except PdfUnavailable as error:
        if os.environ.get("GONGSHU_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{error.message}; GONGSHU_REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(f"{error.message} ({error.hint})")


def app_for(platform: Platform) -> FastAPI:
    """The service, with the letter routers included when the app does not register them yet."""
    app = create_app(platform)
    paths = {getattr(route, "path", "") for route in app.routes}
    if "/share/letters" not in paths:
        app.include_router(share_letters.router, dependencies=[Depends(check_csrf)])
    if "/api/v1/share/letters" not in paths:
        app.include_router(share_confirm.router, prefix="/api/v1")
    return app


@pytest.fixture(scope="module")
def held(share_platform: Platform) -> str:
    """A grant of ``CONSUMER`` in force last month, and last month's letters prepared."""
    code = grant_for(
        share_platform, consumer=CONSUMER, entry=ENTERPRISES, fields=["uscc", "ent_name"], row_scope="all",
        method="接口", scenario="企业信息核验",
    )  # fmt: skip
    with share_platform.store.session() as session:
        grant = session.scalars(sa.select(Grant).where(Grant.code == code)).one()
        grant.valid_from = grant.valid_from.replace(year=grant.valid_from.year - 1)
        confirmation.prepare_letters(session, MONTH, today=city_today())
    for username, org, role in (
        ("clerk_t", CONSUMER, Role.CONSUMER),
        ("stranger_t", STRANGER, Role.CONSUMER),
        ("operator_t", "DSJ", Role.OPERATOR),
    ):
        ensure_user(share_platform, username, org, [role])
    return code


@pytest.fixture
def make_client(share_platform: Platform) -> Iterator[Any]:
    opened: list[TestClient] = []

    def build(username: str) -> TestClient:
        client = TestClient(app_for(share_platform))
        client.__enter__()
        opened.append(client)
        token = CSRF.search(client.get("/login").text)
        assert token
        form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
        response = client.post("/login", data=form, follow_redirects=False)
        assert response.status_code == 303, response.text
        return client

    yield build
    for client in opened:
        client.__exit__(None, None, None)


def post(client: TestClient, path: str, page: str) -> Any:
    token = CSRF.search(client.get(page).text)
    assert token, f"no CSRF token on {page}"
    return client.post(path, data={"csrf_token": token.group(1)}, follow_redirects=False)


def test_the_department_sees_its_letter_and_confirms_it_on_the_page(
    share_platform: Platform, held: str, make_client: Any
) -> None:
    clerk = make_client("clerk_t")
    listing = clerk.get("/share/letters")
    assert listing.status_code == 200
    assert f'href="{LETTER}"' in listing.text and "待确认" in listing.text
    twin = clerk.get("/share/letters.json").json()
    assert {s["consumer"] for s in twin["letters"]} == {CONSUMER}
    assert twin["pending"] == 1 and twin["frozen"] == []

    page = clerk.get(LETTER)
    assert page.status_code == 200
    for text in ("《共享数据使用确认函》", "上海市大数据中心", "下载 PDF", f'href="{LETTER}.pdf"', held):
        assert text in page.text, text
    assert f'action="{LETTER}/confirm"' in page.text
    letter = clerk.get(f"{LETTER}.json").json()["letter"]
    assert letter["can_confirm"] is True and [d["grant"] for d in letter["demands"]] == [held]
    english = clerk.get(f"{LETTER}?lang=en")
    assert "Confirmation of shared data use" in english.text and "Download PDF" in english.text
    clerk.get(f"{LETTER}?lang=zh-CN")  # the language is remembered in a cookie

    done = post(clerk, f"{LETTER}/confirm", LETTER)
    assert done.status_code == 303 and done.headers["location"] == LETTER
    after = clerk.get(LETTER)
    assert "已确认" in after.text and f'action="{LETTER}/confirm"' not in after.text
    confirmed = clerk.get(f"{LETTER}.json").json()["letter"]
    assert confirmed["status"] == "confirmed" and confirmed["letter_digest"] == letter["digest"]
    assert confirmed["confirmed_by"] == "user:clerk_t"
    assert post(clerk, f"{LETTER}/confirm", LETTER).status_code == 409


def test_another_departments_user_gets_404(held: str, make_client: Any) -> None:
    stranger = make_client("stranger_t")
    assert stranger.get(LETTER).status_code == 404
    assert stranger.get(f"{LETTER}.json").status_code == 404
    assert stranger.get(f"{LETTER}.pdf").status_code == 404
    assert post(stranger, f"{LETTER}/confirm", "/share/letters").status_code == 404
    assert CONSUMER not in {s["consumer"] for s in stranger.get("/share/letters.json").json()["letters"]}


def test_operators_see_every_letter_with_a_consumer_filter_and_the_frozen_warning(
    share_platform: Platform, held: str, make_client: Any
) -> None:
    other = grant_for(
        share_platform, consumer="D310118", entry=ENTERPRISES, fields=["uscc"], row_scope="all",
        method="接口", scenario="企业信息核验",
    )  # fmt: skip
    earlier = shift_month(MONTH, -1)
    with share_platform.store.session() as session:
        grant = session.scalars(sa.select(Grant).where(Grant.code == other)).one()
        grant.valid_from = grant.valid_from.replace(year=grant.valid_from.year - 1)
        confirmation.prepare_letters(session, earlier, today=city_today())
        confirmation.freeze_overdue(session, SYSTEM, today=city_today())
    operator = make_client("operator_t")
    listing = operator.get("/share/letters")
    assert 'id="f-consumer"' in listing.text and "frozen-alert" in listing.text
    filtered = operator.get("/share/letters.json?consumer=D310118&status=").json()
    assert [(s["consumer"], s["month"], s["frozen"]) for s in filtered["letters"]] == [
        ("D310118", earlier, 1)
    ]
    assert filtered["frozen"] == [other]
    page = operator.get(f"/share/letters/D310118/{earlier}")
    assert "frozen-alert" in page.text and other in page.text and "已逾期" in page.text

    done = post(operator, f"/share/letters/D310118/{earlier}/confirm", f"/share/letters/D310118/{earlier}")
    assert done.status_code == 303
    assert operator.get("/share/letters.json?consumer=D310118").json()["frozen"] == []


def test_the_pdf_and_the_api(share_platform: Platform, held: str, make_client: Any) -> None:
    with share_platform.store.session() as session:
        secret = issue_token(
            session, principal_of(get_user(session, "clerk_t")), TokenCreate(name="t")
        ).secret
    api = TestClient(app_for(share_platform))
    headers = {"Authorization": f"Bearer {secret}"}
    listed = api.get("/api/v1/share/letters", headers=headers)
    assert listed.status_code == 200 and {s["consumer"] for s in listed.json()} == {CONSUMER}
    one = api.get(f"/api/v1/share/letters/{CONSUMER}/{MONTH}", headers=headers).json()
    assert one["month"] == MONTH and one["demands"][0]["grant"] == held
    assert api.get(f"/api/v1/share/letters/{STRANGER}/{MONTH}", headers=headers).status_code == 404
    assert api.get("/api/v1/share/letters?status=lost", headers=headers).status_code == 422
    again = api.post(f"/api/v1/share/letters/{CONSUMER}/{MONTH}/confirm", headers=headers)
    assert again.status_code == 409  # confirmed on the page already

    chromium_or_skip()
    pdf = api.get(f"/api/v1/share/letters/{CONSUMER}/{MONTH}/pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "filename*=UTF-8''" in pdf.headers["content-disposition"]
    page_pdf = make_client("clerk_t").get(f"{LETTER}.pdf")
    assert page_pdf.status_code == 200 and page_pdf.headers["content-type"] == "application/pdf"
