"""Input and output shapes of organisations, users and tokens (XCreate / XUpdate / XPublic)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

ORG_CODE_PATTERN = r"^[A-Z][A-Z0-9_-]{1,31}$"
USERNAME_PATTERN = r"^[a-z][a-z0-9_.-]{2,63}$"


class DivisionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    name_en: str
    level: str
    parent_code: str | None
    postcode: str | None


class OrganisationCreate(BaseModel):
    """A new organisation. ``parent`` and ``division`` are codes."""

    code: str = Field(pattern=ORG_CODE_PATTERN, description="机构代码, e.g. GA")
    name: str = Field(min_length=2, max_length=200, description="机构名称")
    name_en: str = ""
    uscc: str | None = Field(default=None, description="统一社会信用代码 (GB 32100)")
    kind: str = Field(default="department", pattern=r"^(center|department|district)$")
    parent: str | None = None
    division: str = Field(default="310000", pattern=r"^\d{6}$", description="行政区划代码")


class OrganisationUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=2, max_length=200)
    name_en: str | None = None
    uscc: str | None = None
    parent: str | None = None
    active: bool | None = None


class OrganisationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    name_en: str
    uscc: str | None
    kind: str
    parent_code: str | None
    division_code: str
    division_name: str
    active: bool


class UserCreate(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    display_name: str = Field(min_length=1, max_length=100)
    password: str | None = Field(default=None, description="≥ 10 characters; omit for token-only users")
    organisation: str | None = Field(default=None, description="organisation code")
    roles: list[str] = Field(default_factory=list)


class UserUpdate(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    password: str | None = None
    organisation: str | None = None
    roles: list[str] | None = None
    active: bool | None = None


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    organisation_code: str | None
    organisation_name: str | None
    roles: list[str]
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
    username: str | None = Field(default=None, description="operators may issue for another user")


class TokenPublic(BaseModel):
    id: int
    name: str
    username: str
    display_prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    state: str


class TokenIssued(TokenPublic):
    """Returned once, when a token is issued: ``secret`` is never shown again."""

    secret: str
