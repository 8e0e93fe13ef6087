"""Quality scores (质量得分, 0–100): a documented weighted formula over audit results.

* A result (one rule on one column) scores its pass ratio ``1 − failed / checked``; results with
  nothing checked and ``info`` results (COMPLETENESS of optional items) are not scored.
* A dimension's score is 100 × the mean pass ratio of its results, errors weighing 1 and warnings
  0.5 (a warning is a doubt, not a defect).
* A table's score is the weighted mean of its dimension scores with the rulebook's weights
  (规范性 0.20, 完整性 0.20, 准确性 0.25, 一致性 0.15, 时效性 0.10, 可访问性 0.10), renormalised over
  the dimensions that have results, so a table without coordinates is not marked down for them.
* An entry's, a department's or a district's score for a month is the mean of its tables' scores
  (each table's latest run in the month); the city's is the mean of its departments' scores, as the
  Big Data Center averages its departments (seed 004: 市级单位平均得分 76.38).

Example::

    >>> from gongshu.quality.engine import RuleOutcome
    >>> score_results([RuleOutcome("ID_CHECK", "accuracy", "id", "error", 1000, 20)])
    (98.0, {'accuracy': 98.0})
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from gongshu.quality.rules import Rulebook, load_rulebook

SEVERITY_WEIGHTS = {"error": 1.0, "warning": 0.5}


class Scored(Protocol):
    @property
    def dimension(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def checked(self) -> int: ...
    @property
    def failed(self) -> int: ...


def score_results(
    results: Iterable[Scored], rulebook: Rulebook | None = None
) -> tuple[float | None, dict[str, float | None]]:
    """(table score, {dimension: score}) of a run's results; None where nothing was scored."""
    book = rulebook or load_rulebook()
    sums: dict[str, list[float]] = {}
    for r in results:
        weight = SEVERITY_WEIGHTS.get(r.severity)
        if weight is None or r.checked <= 0:
            continue
        ratio = 1 - min(r.failed, r.checked) / r.checked
        acc = sums.setdefault(r.dimension, [0.0, 0.0])
        acc[0] += weight * ratio
        acc[1] += weight
    dimensions: dict[str, float | None] = {d: round(100 * s / w, 2) for d, (s, w) in sums.items() if w}
    total_weight = sum(book.dimensions[d].weight for d in dimensions if d in book.dimensions)
    if not total_weight:
        return None, dimensions
    score = sum(book.dimensions[d].weight * (v or 0.0) for d, v in dimensions.items() if d in book.dimensions)
    return round(score / total_weight, 2), dimensions


def mean_score(scores: Sequence[float | None]) -> float | None:
    """The mean of the scores that exist (None when none do)."""
    present = [s for s in scores if s is not None]
    return round(sum(present) / len(present), 2) if present else None


def ranks(scores: dict[str, float | None]) -> dict[str, int | None]:
    """Competition ranking (1, 2, 2, 4) by score, highest first; None for unscored."""
    ordered = sorted((v, k) for k, v in scores.items() if v is not None)
    ordered.reverse()
    out: dict[str, int | None] = {k: None for k in scores}
    previous, rank = None, 0
    for position, (value, key) in enumerate(ordered, start=1):
        if value != previous:
            rank, previous = position, value
        out[key] = rank
    return out
