"""Schema drift (模式漂移): a source's columns changed against its mount and its last batch.

Detected kinds: ``added`` (a new source column), ``removed`` (a mapped column is gone), ``renamed``
(one mapped column gone and one new column in its place), ``retyped`` (the source declares another
type, or a column's values suddenly stop parsing as the 信息项's type). The mount's policy decides:
``stop`` fails the batch with every change listed, ``evolve`` carries on — new columns are kept in
the raw zone, a renamed column feeds its 信息项 under its new name, a removed one leaves the 信息项
empty — and the changes are recorded on the batch and in the audit trail (notify).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gongshu.cleanse import CleansePlan
from gongshu.collect.connectors import Extracted
from gongshu.collect.specs import ColumnMap, MountSpec

#: a 信息项 whose values stop parsing this often, after parsing before, counts as retyped
RETYPE_FAILURE_RATIO = 0.5
RETYPE_PREVIOUS_RATIO = 0.05
PARSE_RULES = ("DATE_PARSE", "NUMBER_PARSE")

LABELS = {
    "added": ("新增列", "column added"),
    "removed": ("删除列", "column removed"),
    "renamed": ("列改名", "column renamed"),
    "retyped": ("类型变化", "column type changed"),
}


@dataclass(frozen=True)
class Change:
    kind: str
    column: str
    detail: str = ""
    item: str | None = None  # the 信息项 it feeds, when mapped
    new_column: str | None = None  # renamed: the new source column

    def describe(self) -> str:
        zh, en = LABELS[self.kind]
        target = f" → {self.new_column}" if self.new_column else ""
        item = f" (信息项 {self.item})" if self.item else ""
        return f"{zh} {en}: {self.column}{target}{item}{' — ' + self.detail if self.detail else ''}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "column": self.column,
            "new_column": self.new_column,
            "item": self.item,
            "detail": self.detail,
            "message": self.describe(),
        }


def detect(
    spec: MountSpec,
    extracted: Extracted,
    *,
    previous_columns: list[str] | None,
    previous_types: dict[str, str] | None,
) -> list[Change]:
    """Changes of the extracted columns against the mount's mapping and the previous batch."""
    if not extracted.columns and extracted.rows_read == 0:
        return []  # an empty drop: nothing to compare
    present = set(extracted.columns)
    item_of = {c.source: item for item, c in spec.columns.items() if c.source is not None}
    removed = [source for source in item_of if source not in present]
    known = set(previous_columns or []) | set(item_of)
    added = [c for c in extracted.columns if c not in known] if previous_columns is not None else []
    changes: list[Change] = []
    if len(removed) == 1 and len(added) == 1:
        changes.append(Change("renamed", removed[0], item=item_of[removed[0]], new_column=added[0]))
    else:
        changes += [Change("removed", c, item=item_of[c]) for c in removed]
        changes += [Change("added", c) for c in added]
    for column, declared in (extracted.source_types or {}).items():
        before = (previous_types or {}).get(column)
        # types a connector inferred from text samples flip with content; only declared types count
        inferred = any(t.startswith("inferred:") for t in (before or "", declared or ""))
        if before and declared and before != declared and column in present and not inferred:
            changes.append(
                Change("retyped", column, detail=f"{before} → {declared}", item=item_of.get(column))
            )
    return changes


def evolve(spec: MountSpec, changes: list[Change]) -> MountSpec:
    """The mount as this batch applies it under the ``evolve`` policy (the stored spec is unchanged)."""
    columns = dict(spec.columns)
    for change in changes:
        if change.item is None:
            continue
        old = columns[change.item]
        if change.kind == "renamed" and change.new_column:
            columns[change.item] = ColumnMap(source=change.new_column, required=old.required, rules=old.rules)
        elif change.kind == "removed":
            columns[change.item] = ColumnMap(source=None, required=old.required, rules=old.rules)
    return spec.model_copy(update={"columns": columns})


def retyped(
    rule_counts: dict[str, int], rows: int, plan: CleansePlan, previous: dict[str, Any]
) -> list[Change]:
    """信息项 whose values mostly fail to parse now although they parsed in the previous batch."""
    if rows <= 0 or not previous:
        return []
    before_rows = max(int(previous.get("rows") or 0), 1)
    before_counts: dict[str, int] = previous.get("rule_counts") or {}
    changes = []
    for binding in plan.bindings:
        for rule in PARSE_RULES:
            label = f"{rule}:{binding.name}"
            now = rule_counts.get(label, 0) / rows
            then = before_counts.get(label, 0) / before_rows
            if now >= RETYPE_FAILURE_RATIO and then < RETYPE_PREVIOUS_RATIO:
                changes.append(
                    Change(
                        "retyped",
                        binding.source or binding.name,
                        item=binding.name,
                        detail=f"{now:.0%} of values no longer parse as {binding.type} (was {then:.0%})",
                    )
                )
    return changes
