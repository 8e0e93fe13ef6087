"""Organisations, users, passwords and tokens, with every change audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.errors import AuthenticationFailed, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs import organisations, tokens, users
from gongshu.orgs.models import ApiToken, User
from gongshu.orgs.schemas import OrganisationCreate, OrganisationUpdate, TokenCreate, UserUpdate
from gongshu.security import audit
from gongshu.store.base import utcnow
from tests.helpers import PASSWORD, add_user, seed_basics


def test_organisation_rules_are_reported_together(session: Session) -> None:
    people = seed_basics(session)
    with pytest.raises(ValidationFailed) as raised:
        organisations.create_organisation(
            session,
            people["operator"],
            OrganisationCreate(
                code="GA", name="上海市公安局", uscc="91310000MA1FL4XX0X", parent="NOPE", division="999999"
            ),
        )
    assert set(raised.value.problems) == {"code", "name", "uscc", "parent", "division"}


def test_only_operators_manage_organisations(session: Session) -> None:
    people = seed_basics(session)
    with pytest.raises(PermissionDenied):
        organisations.create_organisation(
            session, people["ga_steward"], OrganisationCreate(code="JT", name="上海市交通委员会")
        )


def test_organisation_changes_are_audited_with_before_and_after(session: Session) -> None:
    people = seed_basics(session)
    organisations.update_organisation(
        session, people["operator"], "MZ", OrganisationUpdate(name="上海市民政局（新）", parent="DSJ")
    )
    event = audit.list_events(session, object_type="organisation", object_id="MZ")[0]
    assert event.action == "org.update" and event.actor == "user:admin"
    assert event.detail["before"]["name"] == "上海市民政局" and event.detail["after"]["parent"] == "DSJ"
    assert organisations.get_organisation(session, "MZ").parent is not None


def test_letter_initial_credit_codes_are_accepted(session: Session) -> None:
    people = seed_basics(session)
    # N (农业) and Y (其他) registration authorities: python-stdnum wrongly rejects these.
    for code, uscc in (("NCJ", "N2310115MA1K3YJ85F"), ("YQT", "Y1310000MA1K3YJ85E")):
        from gongshu.orgs.uscc import uscc_check_char

        fixed = uscc[:17] + uscc_check_char(uscc[:17])
        organisations.create_organisation(
            session, people["operator"], OrganisationCreate(code=code, name=f"机构{code}", uscc=fixed)
        )


def test_passwords_are_argon2_hashed_and_checked(session: Session) -> None:
    seed_basics(session)
    stored = session.scalar(sa.select(User.password_hash).where(User.username == "admin"))
    assert stored and stored.startswith("$argon2id$") and PASSWORD not in stored
    assert users.authenticate_password(session, "admin", PASSWORD).name == "user:admin"
    for username, password in (("admin", "wrong-password"), ("nobody", PASSWORD)):
        with pytest.raises(AuthenticationFailed, match="wrong username or password"):
            users.authenticate_password(session, username, password)
    actions = [e.action for e in audit.list_events(session, object_type="user", limit=3)]
    assert actions[:2] == ["auth.login_failed", "auth.login_failed"] and "auth.login" in actions


def test_inactive_users_cannot_sign_in(session: Session) -> None:
    people = seed_basics(session)
    users.update_user(session, people["operator"], "mz_steward", UserUpdate(active=False))
    with pytest.raises(AuthenticationFailed):
        users.authenticate_password(session, "mz_steward", PASSWORD)


def test_users_change_only_their_own_password(session: Session) -> None:
    people = seed_basics(session)
    users.update_user(session, people["ga_steward"], "ga_steward", UserUpdate(password="new-password-1"))
    with pytest.raises(PermissionDenied):
        users.update_user(session, people["ga_steward"], "ga_steward", UserUpdate(roles=["operator"]))
    with pytest.raises(PermissionDenied):
        users.update_user(session, people["ga_steward"], "mz_steward", UserUpdate(password="x" * 12))
    with pytest.raises(ValidationFailed, match="unknown role"):
        users.update_user(session, people["operator"], "mz_steward", UserUpdate(roles=["king"]))


def test_user_visibility_is_limited_to_own_organisation(session: Session) -> None:
    people = seed_basics(session)
    visible = {u.username for u in users.list_users(session, people["ga_steward"])}
    assert visible == {"ga_steward"}
    with pytest.raises(NotFound):
        users.get_visible_user(session, people["ga_steward"], "mz_steward")


def test_tokens_are_prefixed_hashed_revocable_and_expire(session: Session) -> None:
    people = seed_basics(session)
    issued = tokens.issue_token(session, people["ga_steward"], TokenCreate(name="etl"))
    assert issued.secret.startswith("gsk_") and len(issued.secret) > 40
    stored = session.scalars(sa.select(ApiToken)).all()
    assert all(issued.secret not in (t.digest, t.display_prefix) for t in stored)
    assert tokens.authenticate_token(session, issued.secret).name == "user:ga_steward"

    tokens.revoke_token(session, people["ga_steward"], issued.id)
    with pytest.raises(AuthenticationFailed):
        tokens.authenticate_token(session, issued.secret)

    expiring = tokens.issue_token(
        session, people["operator"], TokenCreate(name="short", expires_in_days=1, username="mz_steward")
    )
    token = session.get(ApiToken, expiring.id)
    assert token is not None
    token.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(AuthenticationFailed):
        tokens.authenticate_token(session, expiring.secret)
    assert tokens.token_public(token).state == "expired"


def test_tokens_for_others_need_an_operator(session: Session) -> None:
    people = seed_basics(session)
    with pytest.raises(PermissionDenied):
        tokens.issue_token(session, people["ga_steward"], TokenCreate(name="x", username="mz_steward"))
    mine = tokens.issue_token(session, people["mz_steward"], TokenCreate(name="mine"))
    with pytest.raises(NotFound):
        tokens.revoke_token(session, people["ga_steward"], mine.id)
    assert [t.name for t in tokens.list_tokens(session, people["ga_steward"])] == []


def test_audit_never_holds_secrets(session: Session) -> None:
    people = seed_basics(session)
    issued = tokens.issue_token(session, people["ga_steward"], TokenCreate(name="etl"))
    add_user(session, "extra", org="GA", roles=["consumer"])
    dumped = " ".join(str(e.detail) for e in audit.list_events(session, limit=100))
    assert issued.secret not in dumped and PASSWORD not in dumped
