"""Documentation is complete: every setting documented, generated references up to date."""

from __future__ import annotations

from gongshu.config import Settings
from gongshu.docs import generated


def test_every_setting_has_a_description() -> None:
    undocumented = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undocumented == []


def test_generated_references_are_committed_and_current() -> None:
    for path, text in generated().items():
        assert path.exists(), f"{path} is missing: run `make docs`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `make docs`"
