"""Deliveries the platform runs itself: district return (属地返还) and subscriptions (订阅推送).

:func:`district_return` delivers each district's rows of a resource to that district's store through
one district-scoped grant and one ``return`` delivery per district, reconciling each;
:func:`deliver_subscribed` runs every subscribed delivery of a mount after each committed batch
(called by the collect pipeline). Both go through :func:`gongshu.share.landing.run_delivery`, so the
grant decides exactly as it does for a consumer's own landing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry
from gongshu.collect.models import Mount
from gongshu.errors import GongshuError, NotFound
from gongshu.orgs.models import Organisation
from gongshu.orgs.roles import SYSTEM, Principal, Role
from gongshu.platform import Platform
from gongshu.share.errors import ShareDenied
from gongshu.share.landing import DistrictResult, as_failure, create_delivery, refusal_of, run_delivery
from gongshu.share.models import Delivery, DeliveryRun, Grant
from gongshu.share.specs import RowScope

# -- district return (属地返还) --------------------------------------------------------------------


def district_return(
    platform: Platform,
    actor: Principal,
    entry: str,
    *,
    targets: Mapping[str, tuple[str, str]],
    password_env: str | None = None,
    full: bool = False,
) -> list[DistrictResult]:
    """Return each district's rows of resource ``entry`` to that district's store, and reconcile each.

    ``targets`` maps a district's division code (``310101``) to ``(kind, URL or folder)``. Each
    district needs a district-scoped grant of the resource to its district organisation (``D310101``);
    its ``return`` delivery (table ``<mount>_<district>``) is created on first use. One district's
    failure or refusal does not stop the others.
    """
    actor.require(Role.OPERATOR, action="district return 属地返还")
    results = []
    for district in sorted(targets):
        kind, where = targets[district]
        try:
            with platform.store.session() as session:
                found = _return_delivery(session, actor, entry, district, kind, where, password_env)
        except ShareDenied as error:
            results.append(DistrictResult(district, "refused", error=error.reason))
            continue
        results.append(found if found.delivery is None else _run_return(platform, actor, found, full=full))
    return results


def district_return_to_folders(
    platform: Platform,
    actor: Principal,
    entry: str,
    folder: Path | str,
    *,
    districts: Iterable[str] | None = None,
    full: bool = False,
) -> list[DistrictResult]:
    """The district return of ``entry`` into ``folder/<district>`` for every district holding a grant.

    For the demo and the CLI: districts without a district-scoped grant of the resource are skipped,
    so with no such grants this returns an empty list.
    """
    with platform.store.session() as session:
        available = set(granted_districts(session, entry))
    wanted = set(districts) if districts is not None else available
    targets = {d: ("files", str(Path(folder) / d)) for d in sorted(available & wanted)}
    return district_return(platform, actor, entry, targets=targets, full=full) if targets else []


def granted_districts(session: Session, entry: str) -> list[str]:
    """The districts holding a district-scoped grant of resource ``entry`` (any state), sorted."""
    return sorted({g.district_code for g in _district_grants(session, entry) if g.district_code})


def _district_grants(session: Session, entry: str) -> list[Grant]:
    found = session.scalar(sa.select(CatalogEntry).where(CatalogEntry.code == entry))
    if found is None:
        raise NotFound(f"no resource {entry!r}", value=entry)
    query = (
        sa.select(Grant)
        .join(Organisation, Grant.consumer_id == Organisation.id)
        .where(
            Grant.entry_id == found.id, Grant.row_scope == RowScope.DISTRICT, Organisation.kind == "district"
        )
        .order_by(Grant.id.desc())
    )
    return list(session.scalars(query).unique())


def _return_delivery(
    session: Session,
    actor: Principal,
    entry: str,
    district: str,
    kind: str,
    where: str,
    password_env: str | None,
) -> DistrictResult:
    """The district's grant and its return delivery to ``where`` (created when missing), still to run."""
    candidates = [g for g in _district_grants(session, entry) if g.district_code == district]
    if not candidates:
        return DistrictResult(
            district, "no_grant", error=f"no district-scoped grant of {entry} to district {district}"
        )
    grant = next((g for g in candidates if refusal_of(g, "return") is None), candidates[0])
    delivery = session.scalar(
        sa.select(Delivery).where(
            Delivery.grant_id == grant.id,
            Delivery.purpose == "return",
            Delivery.kind == kind,
            Delivery.target == where,
            Delivery.active.is_(True),
        )
    )
    if delivery is None:
        mount = session.scalar(
            sa.select(Mount.name).where(Mount.entry_id == grant.entry_id, Mount.active.is_(True))
        )
        table = f"{(mount or 'resource')[:55]}_{district}"
        delivery = create_delivery(
            session,
            actor,
            grant.code,
            kind=kind,
            target=where,
            table=table,
            purpose="return",
            password_env=password_env,
        )
    return DistrictResult(district, "pending", grant=grant.code, delivery=delivery.id, table=delivery.table)


def _run_return(
    platform: Platform, actor: Principal, pending: DistrictResult, *, full: bool
) -> DistrictResult:
    assert pending.delivery is not None
    try:
        run = run_delivery(platform, actor, pending.delivery, trigger="return", full=full)
    except ShareDenied as error:
        return replace(pending, state="refused", error=error.reason)
    except GongshuError as error:
        return replace(pending, state="failed", error=f"{error.code}: {error.message}")
    return replace(
        pending,
        state=run.state,
        run=run.id,
        rows_upserted=run.rows_upserted,
        rows_deleted=run.rows_deleted,
        source_rows=run.source_rows,
        target_rows=run.target_rows,
        source_hash=run.source_hash,
        target_hash=run.target_hash,
        reconciled=run.reconciled,
        detail=run.detail,
    )


# -- subscriptions (订阅推送) -----------------------------------------------------------------------


def deliver_subscribed(
    platform: Platform, mount_name: str, *, notes: list[str] | None = None
) -> list[DeliveryRun]:
    """Run every active subscribed delivery of the resource mounted as ``mount_name``.

    Called after each committed batch (``collect.pipeline.run_mount``). A delivery that fails or
    does not reconcile is recorded on its run and noted in ``notes``; it never stops the others.
    """
    with platform.store.session() as session:
        ids = session.scalars(
            sa.select(Delivery.id)
            .join(Grant, Delivery.grant_id == Grant.id)
            .join(Mount, Mount.entry_id == Grant.entry_id)
            .where(Mount.name == mount_name, Delivery.active.is_(True), Delivery.subscribed.is_(True))
            .order_by(Delivery.id)
        ).all()
    runs = []
    say = notes.append if notes is not None else (lambda _note: None)
    for delivery_id in ids:
        try:
            run = run_delivery(platform, SYSTEM, delivery_id, trigger="subscription")
        except Exception as error:  # any target's failure is recorded, never raised into the batch
            failure = as_failure(error)
            code = failure.reason if isinstance(failure, ShareDenied) else failure.code
            say(f"订阅推送 delivery {delivery_id}: {code}: {failure.message}")
            last = _last_run(platform, delivery_id)
            if last is not None:
                runs.append(last)
            continue
        if not run.reconciled:
            say(f"订阅推送 delivery {delivery_id}: run {run.id} does not reconcile (对账不一致)")
        runs.append(run)
    return runs


def _last_run(platform: Platform, delivery_id: int) -> DeliveryRun | None:
    with platform.store.session() as session:
        return session.scalar(
            sa.select(DeliveryRun)
            .where(DeliveryRun.delivery_id == delivery_id)
            .order_by(DeliveryRun.id.desc())
        )
