"""Roles and the principal (the authenticated caller) that every library function receives."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from enum import StrEnum

from gongshu.errors import PermissionDenied


class Role(StrEnum):
    """What a user may do. Deny unless a role grants it."""

    OPERATOR = "operator"  # 平台运营方 (大数据中心): administers everything
    STEWARD = "steward"  # 委办局/区 数据管理员: manages its organisation's catalogue
    CONSUMER = "consumer"  # 用数部门: reads the catalogue, requests data
    REVIEWER = "reviewer"  # 审核员: reviews requests for its organisation's data
    SECURITY = "security"  # 安全管理员: audit, grading, incidents
    DEVELOPER = "developer"  # 公众开发者: the open portal's APIs
    CITIZEN = "citizen"  # 市民: sees who used their data


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.OPERATOR: ("平台运营", "Platform operator"),
    Role.STEWARD: ("数据管理员", "Data steward"),
    Role.CONSUMER: ("用数部门用户", "Data consumer"),
    Role.REVIEWER: ("审核员", "Reviewer"),
    Role.SECURITY: ("安全管理员", "Security officer"),
    Role.DEVELOPER: ("公众开发者", "Public developer"),
    Role.CITIZEN: ("市民", "Citizen"),
}

#: Roles of government users, who may read the internal resource catalogue (共享目录).
GOVERNMENT_ROLES = frozenset({Role.OPERATOR, Role.STEWARD, Role.CONSUMER, Role.REVIEWER, Role.SECURITY})


def parse_roles(values: list[str] | tuple[str, ...]) -> frozenset[Role]:
    """Roles from their names; unknown names raise ``ValueError`` naming the valid ones."""
    try:
        return frozenset(Role(value) for value in values)
    except ValueError:
        valid = ", ".join(role.value for role in Role)
        raise ValueError(f"unknown role in {list(values)}; valid roles: {valid}") from None


@dataclass(frozen=True)
class Principal:
    """Who is acting: a signed-in user, a token holder, the local CLI operator or the system."""

    name: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    user_id: int | None = None
    organisation_id: int | None = None

    @property
    def username(self) -> str | None:
        """The user's name for principals that are signed-in users or token holders."""
        return self.name.removeprefix("user:") if self.name.startswith("user:") else None

    def has(self, *roles: Role) -> bool:
        """True when the principal holds any of ``roles``."""
        return bool(self.roles.intersection(roles))

    def require(self, *roles: Role, action: str) -> None:
        """Raise :class:`PermissionDenied` unless the principal holds one of ``roles``."""
        if not self.has(*roles):
            needed = " or ".join(role.value for role in roles)
            raise PermissionDenied(f"{action} needs the role {needed}", hint="ask a platform operator")

    def acts_for(self, organisation_id: int | None) -> bool:
        """Operators act for every organisation; others only for their own."""
        return self.has(Role.OPERATOR) or (
            organisation_id is not None and organisation_id == self.organisation_id
        )


#: Background jobs and migrations.
SYSTEM = Principal("system", frozenset({Role.OPERATOR}))


def cli_principal() -> Principal:
    """Whoever runs the CLI on the server has shell access to the data directory: an operator."""
    return Principal(f"cli:{getpass.getuser()}", frozenset({Role.OPERATOR}))
