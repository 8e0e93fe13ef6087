"""Security (安全): the tamper-evident audit trail now; grading, masking and anomalies later."""

from __future__ import annotations

from gongshu.security.audit import Verification, list_events, record, verify
from gongshu.security.models import AuditEvent

__all__ = ["AuditEvent", "Verification", "list_events", "record", "verify"]
