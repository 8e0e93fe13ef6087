"""Typed configuration (配置), from environment variables, a TOML file and secret files.

Precedence, highest first: constructor arguments (the CLI's flags), ``GONGSHU_*`` environment
variables, the TOML file named by ``GONGSHU_CONFIG`` (else ``<data_dir>/gongshu.toml``), defaults.
Secrets may also come from files: ``GONGSHU_SECRET_KEY_FILE``, else ``<data_dir>/secret_key``
(written by ``gongshu demo`` / ``gongshu init``). The service refuses to start on a missing,
short or well-known secret unless demo mode is on.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from gongshu.errors import ConfigError

#: Values people paste from examples; never accepted as a secret.
KNOWN_DEFAULT_SECRETS = frozenset({"", "changeme", "change-me", "secret", "gongshu", "password"})
MIN_SECRET_LENGTH = 32
SECRET_FILE_NAME = "secret_key"


class Settings(BaseSettings):
    """gongshu settings. Every field can be set as ``GONGSHU_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="GONGSHU_", extra="ignore", use_attribute_docstrings=True)

    data_dir: Path = Path("gongshu-data")
    """Where gongshu keeps its metadata database (SQLite by default), lake and generated sources."""

    database_url: str | None = None
    """SQLAlchemy URL of the metadata store, e.g. ``postgresql+psycopg://user@host/db``.
    Unset: a SQLite file ``<data_dir>/gongshu.db``."""

    secret_key: SecretStr | None = None
    """Key that signs page sessions and CSRF tokens (≥ 32 characters). Prefer
    ``GONGSHU_SECRET_KEY_FILE`` or ``<data_dir>/secret_key`` to keep it out of the environment."""

    secret_key_file: Path | None = None
    """File holding the secret key (read when ``secret_key`` is unset)."""

    demo: bool = False
    """Demo mode: generates a secret key if none is configured and seeds demo accounts."""

    default_language: str = "zh-CN"
    """Language of pages when the user has not chosen one: ``zh-CN`` or ``en``."""

    resource_code_pattern: str = r"^[1-3]\d{2}\d{3}(\d{3})?/\d{6}$"
    """Pattern of 资源代码: 前段码 (类-项-目[-细目]) '/' 后段码 (6-digit 顺序码)."""

    token_prefix: str = "gsk_"
    """Prefix of API tokens, so a leaked token can be recognised by secret scanners."""

    session_max_age_s: int = Field(default=8 * 3600, ge=60)
    """Lifetime of a page login session, seconds."""

    share_review_days: int = Field(default=10, ge=1, le=60)
    """Working days a provider has to review a conditional-share demand (有条件共享) before it escalates."""

    share_platform_review_days: int = Field(default=5, ge=1, le=60)
    """Working days the platform (大数据中心) has to review a demand after its provider approved it."""

    share_refresh_s: float = Field(default=5.0, gt=0, le=60)
    """How often a running service reloads changed grants: suspension and revocation take effect
    within this many seconds (the issue's ceiling is 60)."""

    public_url: str | None = None
    """The portal's public address (e.g. ``https://data.example.gov.cn``) for DCAT URIs, CKAN URLs and
    API examples; when unset, the address each request came to."""

    open_review_days: int = Field(default=10, ge=1, le=60)
    """Working days a provider has to review a conditional-open application (有条件开放申请)."""

    open_reply_days: int = Field(default=5, ge=1, le=60)
    """Working days a department has to reply to a public data request or feedback (数据需求/意见反馈)."""

    open_key_daily_quota: int = Field(default=10_000, ge=1)
    """Calls a developer's API key may make per city day, unless the platform sets the key's own."""

    open_key_rate_per_s: int = Field(default=20, ge=1)
    """Calls a second a developer's API key may make (token bucket), unless set on the key."""

    open_anonymous_daily_quota: int = Field(default=2_000, ge=1)
    """Data calls (downloads, datastore queries) per client address and city day without a key."""

    open_anonymous_rate_per_s: int = Field(default=5, ge=1)
    """Data calls a second per client address without a key."""

    open_refresh_s: float = Field(default=5.0, gt=0, le=300)
    """How often a running service checks the catalogue for changed open datasets (search index)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _toml_path(init_settings)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @property
    def metadata_url(self) -> str:
        """The metadata store's SQLAlchemy URL (the SQLite default resolved)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gongshu.db').resolve()}"

    def resolve_secret(self) -> str:
        """Return the signing secret, creating one in demo mode; refuse unsafe ones.

        Raises:
            ConfigError: no secret is configured outside demo mode, or it is too weak.
        """
        value = self._configured_secret()
        if value is None and self.demo:
            value = self._create_secret_file()
        if value is None:
            raise ConfigError(
                "no secret key is configured",
                hint="set GONGSHU_SECRET_KEY_FILE to a file holding ≥ 32 random characters, "
                "or run `gongshu init` to write <data_dir>/secret_key",
            )
        if value.strip().lower() in KNOWN_DEFAULT_SECRETS or len(value) < MIN_SECRET_LENGTH:
            raise ConfigError(
                "the secret key is a default or shorter than 32 characters",
                hint="generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`",
            )
        return value

    def _configured_secret(self) -> str | None:
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.secret_key_file or self.data_dir / SECRET_FILE_NAME
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
        return None

    def _create_secret_file(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / SECRET_FILE_NAME
        value = secrets.token_urlsafe(48)
        path.write_text(value + "\n", encoding="utf-8")
        path.chmod(0o600)
        return value


def _toml_path(init_settings: PydanticBaseSettingsSource) -> Path | None:
    named = os.environ.get("GONGSHU_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"GONGSHU_CONFIG names {path}, which is not a file", value=str(path))
        return path
    init: dict[str, Any] = init_settings()
    data_dir = Path(init.get("data_dir") or os.environ.get("GONGSHU_DATA_DIR") or "gongshu-data")
    candidate = data_dir / "gongshu.toml"
    return candidate if candidate.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Build settings, with ``overrides`` (e.g. from CLI flags) winning; ``None`` values are ignored."""
    return Settings(**{key: value for key, value in overrides.items() if value is not None})
