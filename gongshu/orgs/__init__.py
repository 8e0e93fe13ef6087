"""Organisations and people (机构与用户): divisions, departments, districts, users, roles, tokens."""

from __future__ import annotations

from gongshu.orgs.models import ApiToken, Division, Organisation, User, UserRole
from gongshu.orgs.roles import GOVERNMENT_ROLES, ROLE_LABELS, SYSTEM, Principal, Role, cli_principal

__all__ = [
    "GOVERNMENT_ROLES",
    "ROLE_LABELS",
    "SYSTEM",
    "ApiToken",
    "Division",
    "Organisation",
    "Principal",
    "Role",
    "User",
    "UserRole",
    "cli_principal",
]
