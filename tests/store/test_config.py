"""Settings: secrets are refused when default or short; demo mode writes one; TOML and env apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from gongshu.config import load_settings
from gongshu.errors import ConfigError


def test_no_secret_outside_demo_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no secret key"):
        load_settings(data_dir=tmp_path).resolve_secret()


@pytest.mark.parametrize("secret", ["changeme", "secret", "short-but-random"])
def test_default_or_short_secrets_are_refused(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ConfigError, match="default or shorter"):
        load_settings(data_dir=tmp_path, secret_key=secret).resolve_secret()


def test_demo_mode_writes_a_private_secret_file_once(tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path, demo=True).resolve_secret()
    path = tmp_path / "secret_key"
    assert len(first) >= 32 and path.stat().st_mode & 0o777 == 0o600
    assert load_settings(data_dir=tmp_path).resolve_secret() == first  # later runs reuse it


def test_environment_and_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gongshu.toml").write_text('default_language = "en"\ntoken_prefix = "sh_"\n')
    monkeypatch.setenv("GONGSHU_TOKEN_PREFIX", "env_")
    settings = load_settings(data_dir=tmp_path)
    assert settings.default_language == "en"  # from the TOML file in the data directory
    assert settings.token_prefix == "env_"  # the environment wins over the file
    assert settings.metadata_url.endswith(f"{tmp_path}/gongshu.db")


def test_named_config_file_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GONGSHU_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="not a file"):
        load_settings()
