"""The CLI: user errors print a message and exit non-zero without a traceback; commands work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import entry_doc

GONGSHU = [sys.executable, "-m", "gongshu.cli.main"]


def gongshu(*args: str | Path, data_dir: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*GONGSHU, *map(str, args), "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=300
    )
    if check and result.returncode != 0:
        pytest.fail(f"gongshu {args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    gongshu("db", "upgrade", data_dir=tmp_path)
    gongshu("org", "create", "GA", "上海市公安局", data_dir=tmp_path)
    return tmp_path


def test_validation_errors_list_every_problem_without_a_traceback(data_dir: Path) -> None:
    bad = data_dir / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(entry_doc(code="oops", share_type="不予共享", share_methods=[]), allow_unicode=True),
        encoding="utf-8",
    )
    result = gongshu("catalog", "validate", bad, data_dir=data_dir, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "oops:code" in result.stderr and "oops:share_basis" in result.stderr


def test_unreadable_input_is_a_clear_error(data_dir: Path) -> None:
    binary = data_dir / "gb.yaml"
    binary.write_bytes("名称: 人口".encode("gb18030"))
    result = gongshu("catalog", "create", binary, data_dir=data_dir, check=False)
    assert result.returncode == 2 and "not UTF-8 YAML" in result.stderr and "Traceback" not in result.stderr
    missing = gongshu("catalog", "show", "301001001/000404", data_dir=data_dir, check=False)
    assert missing.returncode == 4 and "no catalogue entry" in missing.stderr


def test_catalogue_lifecycle_from_the_command_line(data_dir: Path) -> None:
    spec = data_dir / "entry.yaml"
    spec.write_text(yaml.safe_dump(entry_doc(), allow_unicode=True), encoding="utf-8")
    gongshu("catalog", "create", spec, "--submit", data_dir=data_dir)
    gongshu("catalog", "publish", "301001001/000001", data_dir=data_dir)
    listed = gongshu("catalog", "list", "-q", "人口", "--json", data_dir=data_dir).stdout
    assert '"301001001/000001"' in listed and '"published"' in listed
    noted = gongshu("catalog", "revoke", "301001001/000001", data_dir=data_dir, check=False)
    assert noted.returncode == 2 and "reason" in noted.stderr
    gongshu("catalog", "revoke", "301001001/000001", "--note", "下线", data_dir=data_dir)
    versions = gongshu("catalog", "versions", "301001001/000001", "--json", data_dir=data_dir).stdout
    assert versions.count('"version"') == 4
    assert "audit chain intact" in gongshu("audit", "verify", data_dir=data_dir).stdout


def test_tokens_from_the_command_line(data_dir: Path) -> None:
    gongshu("user", "create", "ops", "运维", "--role", "operator", data_dir=data_dir)
    secret = gongshu("token", "issue", "--user", "ops", data_dir=data_dir).stdout.strip().splitlines()[-1]
    assert secret.startswith("gsk_")
    listed = gongshu("token", "list", "--json", data_dir=data_dir).stdout
    assert secret not in listed and '"active"' in listed


def test_a_store_without_schema_says_how_to_fix_it(tmp_path: Path) -> None:
    result = gongshu("catalog", "list", data_dir=tmp_path, check=False)
    assert result.returncode == 3 and "gongshu db upgrade" in result.stderr


def test_serve_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    gongshu("db", "upgrade", data_dir=tmp_path)
    result = gongshu("serve", "--port", "1", data_dir=tmp_path, check=False)
    assert result.returncode == 3 and "no secret key" in result.stderr
