"""The rule set (规则集): rules, text profiles and their bindings, loaded from ``data/rules.yaml``.

Example::

    >>> ruleset = load_ruleset()
    >>> ruleset.get("ID_CHECK").severity
    'blocking'
    >>> [r.id for r in ruleset.for_binding("DE0101", "C")][:3]
    ['TEXT_CLEAN', 'ID_UPGRADE', 'ID_FORMAT']
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from gongshu.cleanse.specs import Rule, TextProfile
from gongshu.errors import NotFound, ValidationFailed

# The order in which rule kinds run on a column: text, transforms, typing, then checks.
STAGES = {
    "text": 0,
    "id_upgrade": 1,
    "strip": 1,
    "landline": 1,
    "address": 1,
    "code_synonyms": 1,
    "code_pad": 2,
    "datetime": 3,
    "number": 3,
    "boolean": 3,
}
CHECK_STAGE = 9


@dataclass(frozen=True)
class RuleSet:
    """All rules with the text profiles; immutable, shared by every plan.

    ``rules`` keep their file order, which is also the order of transforms of the same stage.
    """

    rules: tuple[Rule, ...]
    profiles: dict[str, TextProfile]
    element_profiles: dict[str, str]
    type_profiles: dict[str, str]

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def get(self, rule_id: str) -> Rule:
        """The rule with this id, or :class:`NotFound` naming the known ids."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        known = ", ".join(r.id for r in self.rules)
        raise NotFound(f"no cleansing rule {rule_id!r}", hint=f"known rules: {known}", value=rule_id)

    def profile(self, element: str, item_type: str) -> TextProfile:
        """The text profile of a column: by element, else by item type."""
        name = self.element_profiles.get(element) if item_type == "C" else None
        return self.profiles[name or self.type_profiles.get(item_type, "text")]

    def for_binding(
        self, element: str, item_type: str, explicit: Sequence[str] | None = None, *, required: bool = False
    ) -> list[Rule]:
        """The column rules that apply, in execution order (stage, then file order)."""
        chosen = [r for r in self.rules if not r.table and self._applies(r, element, item_type, required)]
        if explicit is not None:
            chosen = self._with_explicit(chosen, explicit, required)
        position = {r.id: i for i, r in enumerate(self.rules)}
        return sorted(chosen, key=lambda r: (STAGES.get(r.kind, CHECK_STAGE), position[r.id]))

    def table_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.table]

    def summaries(self) -> list[dict[str, Any]]:
        """Every rule as ``{id, name_zh, name_en, severity, elements, ...}`` for docs, CLI and pages."""
        return [r.summary() for r in self.rules]

    def _applies(self, rule: Rule, element: str, item_type: str, required: bool) -> bool:
        if rule.kind == "required":
            return required
        if rule.mandatory:
            return item_type in rule.types if rule.types else True
        return rule.default and rule.binds(element, item_type)

    def _with_explicit(self, defaults: list[Rule], explicit: Sequence[str], required: bool) -> list[Rule]:
        additive = all(x[:1] in "+-" for x in explicit) and bool(explicit)
        if additive:
            ids = [r.id for r in defaults]
            for entry in explicit:
                rule_id = self.get(entry[1:]).id
                if entry[0] == "+" and rule_id not in ids:
                    ids.append(rule_id)
                elif entry[0] == "-" and rule_id in ids:
                    ids.remove(rule_id)
        else:
            ids = [self.get(x.lstrip("+")).id for x in explicit]
        keep = {r.id for r in defaults if r.mandatory or (r.kind == "required" and required)}
        return [r for r in self.rules if r.id in set(ids) | keep and not r.table]


def parse_ruleset(document: dict[str, Any]) -> RuleSet:
    """Validate a rules document (the shape of ``data/rules.yaml``) into a :class:`RuleSet`."""
    problems: dict[str, list[str]] = {}
    rules: list[Rule] = []
    for i, raw in enumerate(document.get("rules", [])):
        try:
            rules.append(Rule(**raw))
        except ValidationError as error:
            for issue in error.errors():
                loc = ".".join(str(p) for p in issue["loc"])
                problems.setdefault(f"rules[{i}].{loc}", []).append(issue["msg"])
    profiles = {name: TextProfile(**p) for name, p in document.get("text_profiles", {}).items()}
    ids = [r.id for r in rules]
    for rule_id in {x for x in ids if ids.count(x) > 1}:
        problems.setdefault("rules", []).append(f"rule id {rule_id} is declared twice")
    for element, name in {
        **document.get("element_profiles", {}),
        **document.get("type_profiles", {}),
    }.items():
        if name not in profiles:
            problems.setdefault("profiles", []).append(f"{element} names unknown text profile {name!r}")
    if problems:
        raise ValidationFailed(problems, hint="fix the rules document (gongshu/cleanse/data/rules.yaml)")
    return RuleSet(
        rules=tuple(rules),
        profiles=profiles,
        element_profiles=dict(document.get("element_profiles", {})),
        type_profiles=dict(document.get("type_profiles", {})),
    )


@lru_cache(maxsize=1)
def load_ruleset() -> RuleSet:
    """The packaged rule set (``gongshu/cleanse/data/rules.yaml``), parsed once per process."""
    text = resources.files("gongshu.cleanse").joinpath("data/rules.yaml").read_text(encoding="utf-8")
    return parse_ruleset(yaml.safe_load(text))
