"""Who accessed my data (谁用了我的数据): citizens' identities and the calls that touched them.

A citizen's account is bound to its verified identity by an operator (a real city binds it from its
identity service); only the call log's keyed subject hash is kept (:class:`CitizenIdentity`), never
the 公民身份号码. The citizen then sees every answered call that touched a row about them: when,
which department, under which application scenario, which resource, how and which 信息项.
Security officers and operators look a person up by ID number (a complaint, an incident); each
lookup is audited with only the first 8 characters of the subject hash.

Example::

    bind_identity(session, operator, "zhang_san", "11010519491231002X", settings=settings)
    accesses_of(platform, citizen)                       # the citizen's own accesses
    accesses_of(platform, security, id_number="11010519491231002X")   # audited lookup
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry, CatalogItem
from gongshu.city.ids import id_check_char
from gongshu.config import Settings
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.models import Organisation
from gongshu.orgs.roles import Principal, Role
from gongshu.orgs.users import get_user, principal_of
from gongshu.platform import Platform
from gongshu.security import audit
from gongshu.share.calllog import StoredCall
from gongshu.share.exchange import call_log, subject_of
from gongshu.share.models import CitizenIdentity
from gongshu.share.specs import Api
from gongshu.store.base import utcnow

#: Who may look a citizen up by ID number.
LOOKUP_ROLES: Final = (Role.SECURITY, Role.OPERATOR)
#: Only calls answered with data or a verification answer count as accesses (refusals touched nothing).
SERVED_STATUS: Final = 200
#: How many of a citizen's most recent calls are read before refusals are dropped.
SCAN_LIMIT: Final = 10_000
API_LABELS: Final[dict[str, str]] = {
    Api.VERIFY: "核验",
    Api.QUERY: "查询",
    Api.LANDING: "落地",
    Api.SQL: "湖上SQL",
    Api.RETURN: "属地返还",
}
_ID_SHAPE = re.compile(r"\d{17}[\dX]")


class AccessPublic(BaseModel):
    """One access to a citizen's data: an answered sharing call that touched a row about them."""

    seq: int
    at: datetime
    consumer: str
    consumer_name: str
    scenario: str
    resource: str
    resource_name: str
    api: str
    api_label: str
    fields: list[str]
    field_labels: list[str]
    rows: int
    result: str


def valid_id_number(value: str) -> str:
    """The 公民身份号码 normalised (stripped, ``x`` upper-cased), if it has 18 characters and its
    GB 11643 check character is right; otherwise :class:`ValidationFailed` keyed ``id_number``.

    Example::

        valid_id_number(" 11010519491231002x ") == "11010519491231002X"
    """
    number = value.strip().upper()
    if not _ID_SHAPE.fullmatch(number) or id_check_char(number[:17]) != number[17]:
        raise ValidationFailed(
            {"id_number": ["不是有效的18位公民身份号码（校验位错误） not a valid 18-character ID number"]}
        )
    return number


def bind_identity(
    session: Session, actor: Principal, username: str, id_number: str, *, settings: Settings
) -> None:
    """Bind a citizen account to its verified identity (operators only); stores the subject hash only."""
    actor.require(Role.OPERATOR, action="binding a citizen's verified identity")
    number = valid_id_number(id_number)
    user = get_user(session, username)
    if not principal_of(user).has(Role.CITIZEN):
        raise ValidationFailed(
            {"username": [f"{username} 不是市民账户 is not a citizen account (role citizen)"]}
        )
    identity = session.get(CitizenIdentity, user.id)
    replaced = identity is not None
    if identity is None:
        identity = CitizenIdentity(user_id=user.id)
        session.add(identity)
    identity.subject = subject_of(settings, number)
    identity.verified_at = utcnow()
    audit.record(
        session,
        actor=actor.name,
        action="share.citizen.bind",
        object_type="user",
        object_id=username,
        detail={"replaced": replaced},
    )
    session.flush()


def may_look_up(actor: Principal) -> bool:
    """Security officers and operators may look a citizen's accesses up by ID number."""
    return actor.has(*LOOKUP_ROLES)


def require_lookup(actor: Principal) -> None:
    if not may_look_up(actor):
        raise PermissionDenied(
            "looking up a citizen's accesses is for security officers and operators",
            hint="citizens see their own accesses on /me/accesses",
        )


def accesses_of(
    platform: Platform,
    actor: Principal,
    *,
    id_number: str | None = None,
    limit: int = 500,
    session: Session | None = None,
) -> list[AccessPublic]:
    """Answered calls that touched a citizen, newest first.

    A citizen sees their own bound identity's and passes no ``id_number``; security officers and
    operators pass one, and the lookup is audited (``share.citizen.lookup``). ``session`` is the
    caller's transaction (the audit event joins it); without one, the lookup commits its own.

    Raises:
        PermissionDenied: anyone else, or a citizen passing an ID number.
        NotFound: a citizen whose account has no verified identity yet.
        ValidationFailed: an ID number that is not a valid 18-character 公民身份号码.
    """
    if not 1 <= limit <= SCAN_LIMIT:
        raise ValidationFailed({"limit": [f"limit is 1 to {SCAN_LIMIT}"]})
    if session is None:
        with platform.store.session() as own:
            return accesses_of(platform, actor, id_number=id_number, limit=limit, session=own)
    subject = _subject(session, platform.settings, actor, id_number)
    served = [
        c for c in call_log(platform).accesses(subject, limit=SCAN_LIMIT) if c.record.status == SERVED_STATUS
    ]
    return _public(session, served[:limit])


def _subject(session: Session, settings: Settings, actor: Principal, id_number: str | None) -> str:
    if id_number is None:
        if may_look_up(actor) and not actor.has(Role.CITIZEN):
            raise ValidationFailed({"id_number": ["须填写公民身份号码 an ID number is required"]})
        actor.require(Role.CITIZEN, action="seeing who accessed your data")
        identity = session.get(CitizenIdentity, actor.user_id) if actor.user_id is not None else None
        if identity is None:
            raise NotFound(
                "this account has no verified identity yet",
                hint="a platform operator binds a citizen account to its verified identity",
            )
        return identity.subject
    require_lookup(actor)
    subject = subject_of(settings, valid_id_number(id_number))
    audit.record(
        session,
        actor=actor.name,
        action="share.citizen.lookup",
        object_type="citizen",
        object_id=subject[:8],
        detail={"subject": subject[:8]},
    )
    return subject


def _public(session: Session, calls: list[StoredCall]) -> list[AccessPublic]:
    consumers = {c.record.consumer for c in calls}
    resources = {c.record.resource for c in calls}
    org_names: dict[str, str] = {
        code: name
        for code, name in session.execute(
            sa.select(Organisation.code, Organisation.name).where(Organisation.code.in_(consumers))
        )
    }
    entry_names: dict[str, str] = {
        code: name
        for code, name in session.execute(
            sa.select(CatalogEntry.code, CatalogEntry.name).where(CatalogEntry.code.in_(resources))
        )
    }
    labels: dict[tuple[str, str], str] = {
        (code, name): label
        for code, name, label in session.execute(
            sa.select(CatalogEntry.code, CatalogItem.name, CatalogItem.label)
            .join(CatalogItem, CatalogItem.entry_id == CatalogEntry.id)
            .where(CatalogEntry.code.in_(resources))
        )
    }
    return [
        AccessPublic(
            seq=c.seq,
            at=c.record.at,
            consumer=c.record.consumer,
            consumer_name=org_names.get(c.record.consumer, c.record.consumer),
            scenario=c.record.scenario,
            resource=c.record.resource,
            resource_name=entry_names.get(c.record.resource, c.record.resource),
            api=c.record.api,
            api_label=API_LABELS.get(c.record.api, c.record.api),
            fields=list(c.record.fields),
            field_labels=[labels.get((c.record.resource, f), f) for f in c.record.fields],
            rows=c.record.rows,
            result=c.record.result,
        )
        for c in calls
    ]
