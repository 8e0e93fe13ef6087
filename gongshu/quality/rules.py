"""The audit rules (稽核规则) as declared in ``data/audit_rules.yaml``: dimensions, weights, rules.

Example::

    >>> from gongshu.quality.rules import load_rulebook
    >>> book = load_rulebook()
    >>> book.dimension_of("ID_CHECK"), book.dimensions["accuracy"].zh
    ('accuracy', '准确性')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from gongshu.cleanse import load_ruleset
from gongshu.errors import NotFound

Level = Literal["row", "table"]
AuditSeverity = Literal["error", "warning", "info"]
ROW_KINDS = ("non_null", "unique", "id_birth_match", "id_sex_match", "date_range", "bbox", "reference")
TABLE_KINDS = ("crs", "distribution", "cycle", "latency", "batch_failures", "malformed")


class Dimension(BaseModel):
    """One GB/T 36344 dimension with its Chinese and English names and its weight in a score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str
    en: str
    weight: float = Field(gt=0)


class AuditRule(BaseModel):
    """One rule of the audit's own (the cleansing checks are described by gongshu.cleanse)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    kind: str
    level: Level
    dimension: str
    severity: AuditSeverity
    name_zh: str
    name_en: str
    reason_zh: str
    reason_en: str
    description: str = ""
    params: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class RuleText:
    """What a result row says about its rule: severity, names and the Chinese/English reason."""

    rule_id: str
    dimension: str
    severity: AuditSeverity
    name_zh: str
    name_en: str
    reason_zh: str
    reason_en: str


@dataclass(frozen=True)
class Rulebook:
    """Dimensions with weights, the dimension of each cleansing check, and the audit's own rules."""

    dimensions: dict[str, Dimension]
    cleanse: dict[str, str]
    rules: dict[str, AuditRule] = field(default_factory=dict)

    def get(self, rule_id: str) -> AuditRule:
        try:
            return self.rules[rule_id]
        except KeyError:
            raise NotFound(f"no audit rule {rule_id}") from None

    def dimension_of(self, rule_id: str) -> str:
        if rule_id in self.rules:
            return self.rules[rule_id].dimension
        return self.cleanse.get(rule_id, "normative")

    def text(self, rule_id: str, *, severity: AuditSeverity | None = None) -> RuleText:
        """The result text of an audit rule or of a cleansing check counted by the audit."""
        if rule_id in self.rules:
            r = self.rules[rule_id]
            return RuleText(
                r.id, r.dimension, severity or r.severity, r.name_zh, r.name_en, r.reason_zh, r.reason_en
            )
        rule = load_ruleset().get(rule_id)
        return RuleText(
            rule_id,
            self.dimension_of(rule_id),
            severity or ("warning" if rule.severity == "warning" else "error"),
            rule.name_zh,
            rule.name_en,
            rule.reason_zh or rule.name_zh,
            rule.reason_en or rule.name_en,
        )

    def summaries(self) -> list[dict[str, Any]]:
        """Every rule the audit applies, its own and the cleansing checks it counts, for docs and pages."""
        rows = [
            {**r.model_dump(exclude={"params"}), "source": "audit", "params": r.params}
            for r in self.rules.values()
        ]
        for rule_id, dimension in self.cleanse.items():
            t = self.text(rule_id)
            rows.append(
                {
                    "id": rule_id,
                    "kind": "cleanse",
                    "level": "row",
                    "dimension": dimension,
                    "severity": t.severity,
                    "name_zh": t.name_zh,
                    "name_en": t.name_en,
                    "reason_zh": t.reason_zh,
                    "reason_en": t.reason_en,
                    "source": "cleanse",
                }
            )
        return rows


def parse_rulebook(document: dict[str, Any]) -> Rulebook:
    dimensions = {k: Dimension.model_validate(v) for k, v in document["dimensions"].items()}
    rules = {}
    for raw in document.get("rules", []):
        rule = AuditRule.model_validate(raw)
        if rule.dimension not in dimensions:
            raise ValueError(f"audit rule {rule.id}: unknown dimension {rule.dimension}")
        kinds = ROW_KINDS if rule.level == "row" else TABLE_KINDS
        if rule.kind not in kinds:
            raise ValueError(f"audit rule {rule.id}: kind {rule.kind} is not a {rule.level} kind")
        rules[rule.id] = rule
    cleanse = {str(k): str(v) for k, v in document.get("cleanse", {}).items()}
    unknown = sorted({v for v in cleanse.values()} - set(dimensions))
    if unknown:
        raise ValueError(f"cleanse dimensions not declared: {unknown}")
    return Rulebook(dimensions=dimensions, cleanse=cleanse, rules=rules)


@cache
def load_rulebook() -> Rulebook:
    """The shipped rulebook (cached)."""
    text = resources.files("gongshu.quality").joinpath("data/audit_rules.yaml").read_text("utf-8")
    return parse_rulebook(yaml.safe_load(text))
