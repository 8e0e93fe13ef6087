"""Compiling a table's bindings into one cleansing plan (清洗计划) of set-based SQL.

Example::

    >>> from gongshu.cleanse import ColumnBinding, plan_table
    >>> plan = plan_table([ColumnBinding("id_number", "公民身份号码", "DE0101", "C", 18, required=True)])
    >>> sql = plan.sql(plan.standardise("population"), "duckdb")      # SELECT ... FROM "population"
    >>> [c.rule_id for c in plan.checks]
    ['REQUIRED', 'ID_FORMAT', 'ID_AREA_CODE', 'ID_BIRTH_DATE', 'ID_CHECK']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlglot import exp

from gongshu.cleanse import sqlx as q
from gongshu.cleanse.kinds import (
    FAILURES,
    STEPS,
    ColumnContext,
    Step,
    check_kind,
    format_helpers,
    known_codes,
    number_type,
)
from gongshu.cleanse.reference import ElementInfo, element_table, shipped_element_table
from gongshu.cleanse.rules import RuleSet, load_ruleset
from gongshu.cleanse.specs import ITEM_TYPES, Check, ColumnBinding, Rule, TableRule
from gongshu.cleanse.tables import TableCheck, compile_table_rule, infer_table_rules, validate
from gongshu.cleanse.text import clean_text
from gongshu.errors import ValidationFailed

HELPER = "__in"
LEVEL = "__l{}"
TEXT_TYPES = {"C": "VARCHAR", "B": "VARCHAR", "D": "DATE", "T": "TIMESTAMP", "L": "BOOLEAN"}


@dataclass(frozen=True)
class CompiledColumn:
    """One binding after compilation: its text step, later steps, output type and failures."""

    binding: ColumnBinding
    text: q.Expr
    steps: tuple[Step, ...]
    sql_type: str
    failures: tuple[tuple[Check, q.Expr], ...]
    helpers: tuple[tuple[str, q.Expr], ...] = ()


class CleansePlan:
    """The standardisation and failure checks of one table, as sqlglot expression trees.

    **Columns.** :meth:`standardise` returns, for every binding, the typed output column
    ``"<name>"`` and the helper ``"<name>__in"``: the raw value after TEXT_CLEAN (half-width,
    trimmed, VARCHAR, NULL when empty), before any typing. Rules add helpers computed once from the
    outputs (``"<id>__n"``: the ID's digits as a BIGINT when its format is valid; ``"<uscc>__ok"``;
    ``"<address>__key"``) and table rules derived columns such as ``"<address>__district"``
    (ADDRESS_DISTRICT). :meth:`output_schema` lists outputs and derived columns, never helpers.
    Binding names must not contain ``__``, which is reserved for these.

    **Failures.** Each expression of :meth:`failures` is a boolean over the columns of
    :meth:`standardise` (outputs, helpers, derived), TRUE exactly when the row fails the check and
    never NULL. A value that cannot be standardised is NULL in its output but still non-NULL in its
    helper, which is how DATE_PARSE and NUMBER_PARSE see it (``__in IS NOT NULL AND out IS NULL``)
    and how REQUIRED tells a missing value (``__in IS NULL``) from a malformed one. Assemble::

        SELECT <failures> FROM (<standardise(raw)>)          -- or use plan.checked(raw)

    **Cost.** Evaluate failures in a projection (as :meth:`checked` does) and materialise the flags
    before filtering or aggregating on them: DuckDB turns ID_AREA_CODE's ~7,000-value IN list into
    a hash join only inside a projection; in a WHERE clause or an aggregate it scans the list.
    """

    def __init__(
        self,
        bindings: Sequence[ColumnBinding],
        columns: Sequence[CompiledColumn],
        table_checks: Sequence[TableCheck],
    ) -> None:
        self.bindings = list(bindings)
        self._columns = list(columns)
        self._tables = list(table_checks)
        self._failures = [f for c in self._columns for f in c.failures] + [
            (_check(t.rule, column), t.failure) for t in self._tables for column in t.columns
        ]
        self.checks: list[Check] = [check for check, _ in self._failures]

    # -- public API ---------------------------------------------------------------------------

    def output_schema(self) -> pa.Schema:
        """The standardised columns with their Arrow types: outputs in binding order, then derived."""
        fields = [pa.field(c.binding.name, arrow_type(c.sql_type)) for c in self._columns]
        fields += [pa.field(name, pa.string()) for t in self._tables for name, _ in t.derived]
        return pa.schema(fields)

    def standardise(self, source: str | exp.Expression, *, keep: Sequence[str] = ()) -> exp.Select:
        """``SELECT`` standardised outputs, helpers and derived columns ``FROM source``.

        ``source`` is a table name (quoted as an identifier) or any sqlglot table expression;
        raw columns are read by their quoted names and may hold VARCHAR or NULL. ``keep`` names
        source columns passed through unchanged (row numbers, batch ids) as the first columns.
        """
        self._check_keep(keep)
        kept = [q.col(k) for k in keep]
        texts = [exp.alias_(c.text, c.binding.name + HELPER, quoted=True) for c in self._columns]
        select = exp.select(*kept, *texts).from_(_relation(source))
        names = {c.binding.name: c.binding.name + HELPER for c in self._columns}
        depth = max((len(c.steps) for c in self._columns), default=0)
        for level in range(depth):
            select, names = self._level(select, level, names, keep)
        outputs = [exp.alias_(self._output(c, names), c.binding.name, quoted=True) for c in self._columns]
        cleaned = [q.col(c.binding.name + HELPER) for c in self._columns]
        select = exp.select(*kept, *outputs, *cleaned).from_(_sub(select, depth))
        carried = [*kept, *[q.col(c.binding.name) for c in self._columns], *cleaned]
        return self._with_helpers(select, carried, depth)

    def prepared(self, source: str | exp.Expression, *, keep: Sequence[str] = ()) -> exp.Select:
        """The columns of :meth:`standardise` for input that is *already standardised*.

        The standard zone (标准库) holds typed outputs named after the bindings; re-auditing it
        needs no text cleaning or parsing. Outputs are read as they are (cast to the binding's
        type), each ``"<name>__in"`` helper is the output itself (so REQUIRED still sees NULLs and
        the parse checks cannot fail), then the rules' helpers and derived columns are added as in
        :meth:`standardise`, so every expression of :meth:`failures` applies unchanged.
        """
        self._check_keep(keep)
        kept = [q.col(k) for k in keep]
        outputs = [
            exp.alias_(q.cast(q.col(c.binding.name), c.sql_type), c.binding.name, quoted=True)
            for c in self._columns
        ]
        select = exp.select(*kept, *outputs).from_(_relation(source))
        carried = [*kept, *[q.col(c.binding.name) for c in self._columns]]
        cleaned = [
            exp.alias_(q.col(c.binding.name), c.binding.name + HELPER, quoted=True) for c in self._columns
        ]
        depth = 0
        select = exp.select(*carried, *cleaned).from_(_sub(select, depth))
        carried += [q.col(c.binding.name + HELPER) for c in self._columns]
        return self._with_helpers(select, carried, depth)

    def failures(self) -> list[tuple[Check, exp.Expression]]:
        """Every check with its boolean expression over the columns of :meth:`standardise`."""
        return [(check, expression.copy()) for check, expression in self._failures]

    def checked(self, source: str | exp.Expression, *, keep: Sequence[str] = ()) -> exp.Select:
        """Standardised outputs and derived columns plus one flag per check, ``"<column>__<RULE>"``."""
        flags = [exp.alias_(e, flag_name(c), quoted=True) for c, e in self.failures()]
        names = [*keep, *self.output_schema().names]
        return exp.select(*[q.col(n) for n in names], *flags).from_(
            _sub(self.standardise(source, keep=keep), -1)
        )

    def sql(self, expression: exp.Expression, dialect: str = "duckdb") -> str:
        """Render an expression of this plan for ``duckdb`` or ``spark`` (any sqlglot dialect)."""
        return expression.sql(dialect=dialect)

    # -- internals ----------------------------------------------------------------------------

    def _with_helpers(self, select: exp.Select, carried: Sequence[exp.Expr], depth: int) -> exp.Select:
        """Helpers (from outputs), then derived columns (from outputs and helpers), one level each."""
        for extra in (self._helpers(), self._derived()):
            if extra:
                depth += 1
                added = [exp.alias_(e, n, quoted=True) for n, e in extra]
                select = exp.select(*carried, *added).from_(_sub(select, depth))
                carried = [*carried, *[q.col(n) for n, _ in extra]]
        return select

    def _helpers(self) -> list[tuple[str, q.Expr]]:
        return [h for c in self._columns for h in c.helpers] + [h for t in self._tables for h in t.helpers]

    def _derived(self) -> list[tuple[str, q.Expr]]:
        return [d for t in self._tables for d in t.derived]

    def _level(
        self, inner: exp.Select, level: int, names: dict[str, str], keep: Sequence[str]
    ) -> tuple[exp.Select, dict[str, str]]:
        columns: list[exp.Expr] = [q.col(k) for k in keep]
        columns += [q.col(c.binding.name + HELPER) for c in self._columns]
        new_names = dict(names)
        for c in self._columns:
            name = c.binding.name
            if level < len(c.steps):
                new_names[name] = f"{name}__s{level + 1}"
                step = c.steps[level](q.col(names[name]))
                columns.append(exp.alias_(step, new_names[name], quoted=True))
            elif names[name] != name + HELPER:
                columns.append(q.col(names[name]))
        return exp.select(*columns).from_(_sub(inner, level)), new_names

    def _output(self, c: CompiledColumn, names: dict[str, str]) -> q.Expr:
        value = q.col(names[c.binding.name])
        if c.binding.source is None:
            return q.cast(q.null(), c.sql_type)
        return value if c.sql_type == "VARCHAR" or c.steps else q.try_cast(value, c.sql_type)

    def _check_keep(self, keep: Sequence[str]) -> None:
        taken = {n for c in self._columns for n in (c.binding.name, c.binding.name + HELPER)}
        clash = [k for k in keep if k in taken]
        if clash:
            raise ValidationFailed({"keep": [f"{', '.join(clash)} clash with output columns"]})


def flag_name(check: Check) -> str:
    """The flag column of a check in :meth:`CleansePlan.checked`: ``"<column>__<RULE_ID>"``."""
    return f"{check.column}__{check.rule_id}"


def _relation(source: str | exp.Expression) -> exp.Expression:
    if isinstance(source, str):
        return exp.Table(this=exp.to_identifier(source, quoted=True))
    return source


def _sub(select: exp.Select, level: int) -> exp.Subquery:
    """``(select) AS "__l<level>"`` (``-1``: the standardised relation, ``"__std"``)."""
    if level < 0:
        return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier("__std", quoted=True)))
    return exp.Subquery(
        this=select, alias=exp.TableAlias(this=exp.to_identifier(LEVEL.format(level), quoted=True))
    )


def arrow_type(sql_type: str) -> pa.DataType:
    """The Arrow type of an output's SQL type (DECIMAL(p,s), DOUBLE, BIGINT, DATE, TIMESTAMP ...)."""
    t = exp.DataType.build(sql_type, dialect="duckdb")
    if t.is_type(exp.DataType.Type.DECIMAL):
        params = [int(p.this.this) for p in t.expressions]
        return pa.decimal128(*(params or [18, 3]))
    simple: dict[Any, pa.DataType] = {
        exp.DataType.Type.DOUBLE: pa.float64(),
        exp.DataType.Type.FLOAT: pa.float32(),
        exp.DataType.Type.BIGINT: pa.int64(),
        exp.DataType.Type.INT: pa.int32(),
        exp.DataType.Type.DATE: pa.date32(),
        exp.DataType.Type.TIMESTAMPNTZ: pa.timestamp("us"),
        exp.DataType.Type.TIMESTAMP: pa.timestamp("us"),
        exp.DataType.Type.BOOLEAN: pa.bool_(),
    }
    return simple.get(t.this, pa.string())


def _check(rule: Rule, column: str) -> Check:
    severity = rule.severity or "blocking"
    return Check(rule.id, column, severity, rule.reason_zh or rule.name_zh, rule.reason_en or rule.name_en)


def _compile_column(binding: ColumnBinding, element: ElementInfo | None, ruleset: RuleSet) -> CompiledColumn:
    rules = ruleset.for_binding(binding.element, binding.type, binding.rules, required=binding.required)
    for rule in rules:
        check_kind(rule)
    helpers = format_helpers(binding, rules, ruleset)
    context = ColumnContext(binding, element, tuple(rules), ruleset, helpers)
    raw = q.col(binding.source) if binding.source is not None else q.cast(q.null(), "VARCHAR")
    profile = ruleset.profile(binding.element, binding.type)
    text_rule = next(r for r in rules if r.kind == "text")
    steps: list[Step] = []
    failures: list[tuple[Check, q.Expr]] = []
    sql_type = TEXT_TYPES.get(binding.type, "VARCHAR")
    out, inp = q.col(binding.name), q.col(binding.name + HELPER)
    for rule in rules:
        if rule.kind in STEPS:
            steps += STEPS[rule.kind](rule, context)
        if rule.kind == "number":
            sql_type = number_type(rule, binding.element)
        if rule.severity is not None and rule.kind in FAILURES:
            failure = FAILURES[rule.kind](rule, context, out, inp)
            if failure is not None:
                failures.append((_check(rule, binding.name), failure))
    if binding.type == "N" and not any(r.kind == "number" for r in rules):
        sql_type = "VARCHAR"
    extra = tuple((h.column, h.expression(out)) for h in helpers.values())
    text = clean_text(raw, profile, text_rule, known_codes(context))
    return CompiledColumn(binding, text, tuple(steps), sql_type, tuple(failures), extra)


def _validate(bindings: Sequence[ColumnBinding], elements: Mapping[str, ElementInfo]) -> None:
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    for i, b in enumerate(bindings):
        where = f"bindings[{i}]"
        if not b.name or "__" in b.name:
            problems.setdefault(f"{where}.name", []).append(
                f"{b.name!r}: names must be non-empty without '__'"
            )
        if b.name in seen:
            problems.setdefault(f"{where}.name", []).append(f"{b.name!r} is bound twice")
        seen.add(b.name)
        if b.type not in ITEM_TYPES:
            problems.setdefault(f"{where}.type", []).append(
                f"{b.type!r} is not one of {', '.join(ITEM_TYPES)}"
            )
        if b.element not in elements:
            problems.setdefault(f"{where}.element", []).append(f"unknown data element {b.element!r}")
    if problems:
        raise ValidationFailed(problems, hint="bind every 信息项 to a known 数据元 with a type letter")


def plan_table(
    bindings: Sequence[ColumnBinding],
    *,
    table_rules: Sequence[TableRule] = (),
    ruleset: RuleSet | None = None,
    elements: Sequence[Mapping[str, Any]] | None = None,
    infer: bool = True,
) -> CleansePlan:
    """Compile the bindings of one table into a :class:`CleansePlan`.

    ``table_rules`` adds or (for the same rule id) replaces the table rules inferred from the
    elements (``infer=False`` turns inference off); ``elements`` are ElementSpec-shaped documents
    of the installation's data elements (default: the shipped ``elements.yaml``).
    """
    rules = ruleset or load_ruleset()
    known = element_table(list(elements)) if elements is not None else shipped_element_table()
    _validate(bindings, known)
    columns = [_compile_column(b, known.get(b.element), rules) for b in bindings]
    names = {b.name: b for b in bindings}
    explicit = {t.rule_id for t in table_rules}
    chosen = [t for t in (infer_table_rules(bindings) if infer else []) if t.rule_id not in explicit]
    chosen += list(table_rules)
    compiled = []
    for table_rule in chosen:
        validate(table_rule, names)
        compiled.append(compile_table_rule(rules.get(table_rule.rule_id), table_rule))
    return CleansePlan(bindings, columns, compiled)
