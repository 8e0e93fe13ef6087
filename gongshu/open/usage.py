"""The open-data access log (访问记录): one row per data access, for audit, usage pages and statistics.

Downloads, ``datastore_search`` calls, dumps and previews each call :func:`record_access` in the
request's transaction. Rows hold the caller's name (``anonymous``, ``user:<name>`` or
``key:<prefix>``), never a client address or the rows' values. Accesses through a credential are
also appended to the main audit trail, so the providing department sees them with who and what.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from gongshu.open.caller import Caller
from gongshu.open.datasets import OpenDataset
from gongshu.open.models import OpenAccess
from gongshu.security import audit
from gongshu.store.base import city_today


def record_access(
    session: Session,
    caller: Caller,
    dataset: OpenDataset,
    *,
    channel: str,
    fields: Sequence[str] = (),
    rows: int = 0,
    format: str | None = None,
    status: int = 200,
) -> OpenAccess:
    """Append one access of ``dataset`` by ``caller``; ``channel``: download, datastore_search, dump, page."""
    scope = caller.scope(dataset)
    access = OpenAccess(
        day=city_today(),
        entry_id=dataset.id,
        key_id=caller.key_id,
        application_id=scope.application_id if scope is not None else None,
        caller=caller.name,
        channel=channel,
        format=format,
        fields=list(fields),
        rows=rows,
        status=status,
    )
    session.add(access)
    if scope is not None:
        audit.record(
            session,
            actor=caller.name,
            action=f"open.access.{channel}",
            object_type="open_application",
            object_id=scope.application,
            detail={"dataset": dataset.code, "fields": list(fields), "rows": rows, "status": status},
        )
    return access
