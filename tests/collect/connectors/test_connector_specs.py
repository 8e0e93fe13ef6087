"""Source specs: validation with every problem keyed by field, ${ENV} references, masked URLs."""

from __future__ import annotations

import pytest

from gongshu.collect.connectors import FileSource, HttpSource, SqlSource, parse_source
from gongshu.collect.connectors.envvars import mask_url, resolve
from gongshu.errors import ConfigError, ValidationFailed


def test_kinds_are_told_apart_and_defaults_filled() -> None:
    sql = parse_source({"kind": "sql", "url": "sqlite:///a.db", "table": "t", "schema": "main"})
    assert isinstance(sql, SqlSource) and sql.schema_ == "main" and sql.mode == "full" and sql.timeout_s == 30
    files = parse_source({"kind": "file", "path": "/drop"})
    assert isinstance(files, FileSource) and (files.pattern, files.format, files.encoding) == (
        "*",
        "auto",
        "auto",
    )
    http = parse_source({"kind": "http", "url": "https://api.example.gov.cn/v1/x"})
    assert isinstance(http, HttpSource) and http.pagination.style == "none"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"kind": "sql", "url": "sqlite:///a.db", "table": "t", "mode": "incremental"}, "cursor"),
        ({"kind": "sql", "url": "oracle://x/y", "table": "t"}, "url"),
        ({"kind": "sql", "url": "sqlite:///a.db", "table": "t", "columns": ["a"], "cursor": "b"}, "cursor"),
        ({"kind": "file", "path": "/d", "delimiter": ";;"}, "delimiter"),
        ({"kind": "file", "path": "/d", "pattern": "../*.csv"}, "pattern"),
        ({"kind": "file", "path": "/d", "encoding": "latin-1"}, "encoding"),
        ({"kind": "file", "path": "/d", "surprise": 1}, "surprise"),
        ({"kind": "http", "url": "ftp://x"}, "url"),
        ({"kind": "http", "url": "http://x", "pagination": {"style": "cursor"}}, "pagination.next_path"),
        ({"kind": "ftp", "path": "/d"}, "document"),
    ],
)
def test_bad_specs_are_refused_with_the_field(document: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_source(document)
    assert any(
        key == field or key.startswith(field) or key.endswith(field) for key in error.value.problems
    ), error.value.problems


def test_environment_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GS_A", "x")
    assert resolve("Bearer ${GS_A}-${GS_A}", field="headers") == "Bearer x-x"
    monkeypatch.delenv("GS_MISSING", raising=False)
    with pytest.raises(ConfigError, match="GS_MISSING"):
        resolve("${GS_MISSING}", field="url")
    assert mask_url("postgresql+psycopg://u:p%40ss@h:5432/db") == "postgresql+psycopg://u:***@h:5432/db"
    source = parse_source({"kind": "sql", "url": "mysql+pymysql://u:${GS_A}@h/db", "table": "t"})
    assert isinstance(source, SqlSource) and source.public_url == "mysql+pymysql://u:***@h/db"
