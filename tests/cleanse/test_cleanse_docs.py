"""docs/cleanse.md documents every rule and the defect mapping (in the manner of datasette's docs test)."""

from __future__ import annotations

from pathlib import Path

from gongshu.cleanse import DEFECT_RULES, load_ruleset

DOC = Path(__file__).resolve().parents[2] / "docs" / "cleanse.md"


def test_every_rule_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [r.id for r in load_ruleset() if f"| `{r.id}` | {r.name_zh} |" not in text]
    assert missing == []


def test_the_defect_mapping_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert [k for k, v in DEFECT_RULES.items() if f"| `{k}` | `{v}` |" not in text] == []
