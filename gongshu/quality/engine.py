"""The audit engine: a table's row rules compiled with sqlglot into one pass of boolean flags.

Example::

    >>> from gongshu.cleanse import ColumnBinding
    >>> table = AuditTable("person", (ColumnBinding("id_number", "id_number", "DE0101", "C", 18, True),),
    ...                    key=("id_number",))
    >>> plan = plan_audit(table, standardised=True)
    >>> outcome = plan.run(con, "person")          # doctest: +SKIP
    >>> [(r.rule_id, r.column, r.checked, r.failed) for r in outcome.results]   # doctest: +SKIP

**Input.** ``standardised=True`` audits a table that is already standardised (the standard zone, or
the benchmark's table): the cleansing plan's :meth:`~gongshu.cleanse.CleansePlan.prepared` view
adds only the rules' helper columns. ``standardised=False`` audits raw rows as collected (a
batch of the raw zone): the same standardisation as the collect stage runs first, in the same pass.

**Rules.** Every cleansing check of the table counts as a validity rule (its dimension from the
rulebook); the audit adds completeness of optional items (COMPLETENESS), key uniqueness
(UNIQUE_KEY), ID-vs-birth-date and ID-vs-sex consistency, date ranges, the city's bounding box and
cross-department references. For each rule × column: ``checked`` values (non-NULL ones, or every
row for REQUIRED/COMPLETENESS/UNIQUE_KEY's non-NULL keys) and ``failed`` values.

**One pass.** Flags are evaluated in one projection and materialised (DuckDB turns the large
IN lists of code sets into hash joins only inside a projection), then one grouped aggregate counts
every flag per district; uniqueness is one hash aggregate over the key.
"""

# ruff: noqa: S608 - identifiers are quoted by sqlglot or sqlbits.ident; values are bound or literals

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import duckdb
from sqlglot import exp, parse_one

from gongshu.cleanse import ColumnBinding, plan_table
from gongshu.cleanse.plan import CleansePlan
from gongshu.collect.sqlbits import ident
from gongshu.quality.rules import AuditSeverity, Rulebook, RuleText, load_rulebook

ID_PATTERN = r"^[0-9]{17}[0-9X]$"
DISTRICT_ELEMENT = "DE0302"
FLAGS = "__audit_flags"


@dataclass(frozen=True)
class Reference:
    """A cross-department reference: ``column`` must exist in ``relation``.``target``.

    ``relation`` names a DuckDB relation the caller registered (a view over another table's
    current state); ``label`` says which register, e.g. "公安 实有人口".
    """

    column: str
    relation: str
    target: str
    label: str = ""
    pattern: str | None = None  # only values matching it are checked (e.g. "9.*": 市场监管's codes)


@dataclass(frozen=True)
class AuditTable:
    """What the engine audits: the table's bindings (信息项 → 数据元), key and references."""

    name: str
    bindings: tuple[ColumnBinding, ...]
    key: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)  # 信息项 name → its Chinese label

    def label(self, name: str) -> str:
        return self.labels.get(name, name)


@dataclass(frozen=True)
class RuleOutcome:
    """One rule on one column (``""`` for the table): values checked, values failed."""

    rule_id: str
    dimension: str
    column: str
    severity: AuditSeverity
    checked: int
    failed: int
    label: str = ""
    reason_zh: str = ""
    reason_en: str = ""
    samples: tuple[int, ...] = ()

    @property
    def pass_ratio(self) -> float | None:
        return None if self.checked == 0 else 1 - self.failed / self.checked


@dataclass
class AuditOutcome:
    """A run of the row rules: rows, rows with any failure, results, per-district counts, profile."""

    rows: int
    failed_rows: int
    results: list[RuleOutcome]
    districts: dict[str, dict[str, Any]] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Flag:
    text: RuleText
    column: str
    label: str
    failed: exp.Expression
    present: exp.Expression


class AuditPlan:
    """The compiled row rules of one table; :meth:`run` evaluates them over a relation."""

    def __init__(
        self,
        table: AuditTable,
        cleanse: CleansePlan,
        flags: list[Flag],
        *,
        standardised: bool,
        book: Rulebook,
    ) -> None:
        self.table = table
        self.cleanse = cleanse
        self.flags = flags
        self.standardised = standardised
        self.book = book
        self.district = _district_column(table.bindings, self.cleanse)
        coded = {c.column for c in cleanse.checks if c.rule_id == "CODE_UNKNOWN"}
        self.code_columns = [b.name for b in table.bindings if b.name in coded]

    # -- SQL ------------------------------------------------------------------------------------
    def source_select(self, relation: str, *, keep: Sequence[str] = ()) -> exp.Select:
        """Standardised columns (raw input) or the prepared ones (standardised input)."""
        if self.standardised:
            return self.cleanse.prepared(relation, keep=keep)
        return self.cleanse.standardise(relation, keep=keep)

    def flags_sql(self, relation: str, *, keep: Sequence[str] = (), carry: Sequence[str] = ()) -> str:
        """``SELECT`` kept columns, key, district, code columns, then ``p<i>``/``f<i>`` per flag."""
        std = exp.Subquery(
            this=self.source_select(relation, keep=keep),
            alias=exp.TableAlias(this=exp.to_identifier("__std", quoted=True)),
        )
        carried = list(dict.fromkeys([*self.table.key, *self.code_columns, *carry]))
        district = _qcol(self.district, "__std") if self.district else exp.Null()
        columns: list[Any] = [_qcol(k, "__std") for k in keep]
        columns += [_qcol(c, "__std") for c in carried]
        columns.append(exp.alias_(exp.cast(district, "VARCHAR"), "__district", quoted=True))
        for i, flag in enumerate(self.flags):
            columns.append(exp.alias_(_never_null(flag.present), f"p{i}", quoted=True))
            columns.append(exp.alias_(_never_null(flag.failed), f"f{i}", quoted=True))
        # one select: every .select() call copies the tree, with its ~7,000-code IN lists
        select = exp.select(*columns, copy=False).from_(std, copy=False)
        for i, ref in enumerate(self.table.references):
            sub = parse_one(
                f"SELECT DISTINCT CAST({ident(ref.target)} AS VARCHAR) AS __v FROM {ident(ref.relation)}",
                read="duckdb",
            )
            select = select.join(
                exp.Subquery(this=sub, alias=exp.TableAlias(this=exp.to_identifier(f"__r{i}", quoted=True))),
                on=exp.EQ(
                    this=exp.column("__v", table=f"__r{i}", quoted=True),
                    expression=exp.cast(_qcol(ref.column, "__std"), "VARCHAR"),
                ),
                join_type="LEFT",
            )
        return select.sql(dialect="duckdb")

    # -- running --------------------------------------------------------------------------------
    def run(
        self,
        con: duckdb.DuckDBPyConnection,
        relation: str,
        *,
        keep: Sequence[str] = (),
        samples: int = 0,
        carry: Sequence[str] = (),
    ) -> AuditOutcome:
        """Evaluate every row rule over ``relation`` (a table or view name) in one pass.

        ``samples`` > 0 keeps up to that many row positions per failing result (needs ``_row``
        in ``keep``); positions, never values, so results hold no personal data. ``carry`` names
        standardised columns kept beside the flags (e.g. the event time for latency).
        """
        sql = self.flags_sql(relation, keep=keep, carry=carry)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {FLAGS} AS {sql}")
        sums = ", ".join(f'count_if("p{i}"), count_if("f{i}")' for i in range(len(self.flags)))
        scored = [i for i, f in enumerate(self.flags) if f.text.severity != "info"]
        any_failed = " OR ".join(f'"f{i}"' for i in scored) or "false"
        rows_by_district = con.execute(
            f"SELECT __district, count(*), count_if({any_failed}){', ' + sums if sums else ''} "
            f"FROM {FLAGS} GROUP BY ALL"
        ).fetchall()
        totals = [0] * (2 + 2 * len(self.flags))
        districts: dict[str, dict[str, Any]] = {}
        for row in rows_by_district:
            values = [int(v) for v in row[1:]]
            totals = [a + b for a, b in zip(totals, values, strict=True)]
            if row[0] is not None:
                districts[str(row[0])] = {"rows": values[0], "failed_rows": values[1], "counts": values[2:]}
        rows, failed_rows = totals[0], totals[1]
        results = []
        for i, flag in enumerate(self.flags):
            checked, failed = totals[2 + 2 * i], totals[3 + 2 * i]
            found = self._samples(con, f'"f{i}"', samples) if samples and failed and "_row" in keep else ()
            results.append(_outcome(flag.text, flag.column, flag.label, checked, failed, found))
        if self.table.key:
            unique, dup_rows = self._uniqueness(con, samples, keep)
            results.append(unique)
            failed_rows = self._failed_rows(con, any_failed) if dup_rows else failed_rows
        outcome = AuditOutcome(rows=rows, failed_rows=failed_rows, results=results, districts=districts)
        outcome.profile = self._profile(con, rows, results)
        return outcome

    def flag_rows(self, con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
        """After :meth:`run`: (kept columns…, rule_id, column) for every failed flag — for tests."""
        out: list[tuple[Any, ...]] = []
        cols = [c for c in _columns(con, FLAGS) if not (c.startswith(("p", "f")) and c[1:].isdigit())]
        shown = ", ".join(ident(c) for c in cols)
        for i, flag in enumerate(self.flags):
            for row in con.execute(f'SELECT {shown} FROM {FLAGS} WHERE "f{i}"').fetchall():
                out.append((*row, flag.text.rule_id, flag.column))
        if self.table.key:
            for row in con.execute(f"SELECT {shown} FROM {FLAGS} WHERE {self._dup_condition()}").fetchall():
                out.append((*row, "UNIQUE_KEY", ",".join(self.table.key)))
        return out

    # -- internals ------------------------------------------------------------------------------
    def _dup_condition(self) -> str:
        keys = ", ".join(ident(k) for k in self.table.key)
        return f"({keys}) IN (SELECT ({keys}) FROM __audit_dups)"

    def _uniqueness(
        self, con: duckdb.DuckDBPyConnection, samples: int, keep: Sequence[str]
    ) -> tuple[RuleOutcome, int]:
        keys = ", ".join(ident(k) for k in self.table.key)
        not_null = " AND ".join(f"{ident(k)} IS NOT NULL" for k in self.table.key)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE __audit_dups AS SELECT {keys}, count(*) AS n FROM {FLAGS} "
            f"WHERE {not_null} GROUP BY ALL HAVING count(*) > 1"
        )
        row = con.execute(
            f"SELECT (SELECT count(*) FROM {FLAGS} WHERE {not_null}), "
            "(SELECT coalesce(sum(n), 0) FROM __audit_dups)"
        ).fetchone()
        checked, failed = (int(row[0]), int(row[1])) if row else (0, 0)
        found: tuple[int, ...] = ()
        if samples and failed and "_row" in keep:
            found = tuple(
                int(r[0])
                for r in con.execute(
                    f"SELECT _row FROM {FLAGS} WHERE {self._dup_condition()} "
                    f"ORDER BY _row LIMIT {int(samples)}"
                ).fetchall()
            )
        column = ",".join(self.table.key)
        label = "、".join(self.table.label(k) for k in self.table.key)
        return _outcome(self.book.text("UNIQUE_KEY"), column, label, checked, failed, found), failed

    def _failed_rows(self, con: duckdb.DuckDBPyConnection, any_failed: str) -> int:
        row = con.execute(
            f"SELECT count_if(({any_failed}) OR {self._dup_condition()}) FROM {FLAGS}"
        ).fetchone()
        return int(row[0]) if row else 0

    def _samples(self, con: duckdb.DuckDBPyConnection, flag: str, limit: int) -> tuple[int, ...]:
        rows = con.execute(
            f"SELECT _row FROM {FLAGS} WHERE {flag} ORDER BY _row LIMIT {int(limit)}"
        ).fetchall()
        return tuple(int(r[0]) for r in rows)

    def _profile(
        self, con: duckdb.DuckDBPyConnection, rows: int, results: Sequence[RuleOutcome]
    ) -> dict[str, Any]:
        """Per column: the NULL ratio (from COMPLETENESS/REQUIRED) and, for code columns, code shares."""
        columns: dict[str, Any] = {}
        for r in results:
            if r.rule_id in ("COMPLETENESS", "REQUIRED") and rows:
                columns.setdefault(r.column, {})["null_ratio"] = round(r.failed / rows, 6)
        if self.code_columns and rows:
            histograms = ", ".join(f"histogram(CAST({ident(n)} AS VARCHAR))" for n in self.code_columns)
            found = con.execute(f"SELECT {histograms} FROM {FLAGS}").fetchone() or ()
            for name, shares in zip(self.code_columns, found, strict=True):
                top = sorted((shares or {}).items(), key=lambda kv: -kv[1])[:50]
                columns.setdefault(name, {})["codes"] = {str(k): round(int(n) / rows, 6) for k, n in top}
        return {"rows": rows, "columns": columns}


def plan_audit(
    table: AuditTable, *, standardised: bool, rulebook: Rulebook | None = None, today: dt.date | None = None
) -> AuditPlan:
    """Compile the table's row rules: the cleansing checks plus the audit's own row rules."""
    book = rulebook or load_rulebook()
    bindings = [b if not standardised else _as_standard(b) for b in table.bindings]
    cleanse = plan_table(bindings)
    labels = {b.name: table.label(b.name) for b in bindings}
    flags: list[Flag] = []
    own_failures: dict[str, list[exp.Expression]] = {}  # a column's blocking checks, for REFERENCE
    for check, failed in cleanse.failures():
        present = exp.true() if check.rule_id == "REQUIRED" else _not_null(f"{check.column}__in")
        text = book.text(check.rule_id, severity="warning" if check.severity == "warning" else "error")
        flags.append(Flag(text, check.column, labels.get(check.column, check.column), failed, present))
        if check.severity != "warning" and check.rule_id != "REQUIRED":
            own_failures.setdefault(check.column, []).append(failed)
    flags += _own_flags(table, bindings, book, today or dt.date.today(), own_failures)
    return AuditPlan(table, cleanse, flags, standardised=standardised, book=book)


# -- the audit's own row rules --------------------------------------------------------------------


def _own_flags(
    table: AuditTable,
    bindings: Sequence[ColumnBinding],
    book: Rulebook,
    today: dt.date,
    own_failures: dict[str, list[exp.Expression]],
) -> list[Flag]:
    flags: list[Flag] = []
    by_element: dict[str, list[ColumnBinding]] = {}
    for b in bindings:
        if b.source is not None:
            by_element.setdefault(b.element, []).append(b)
    for rule in book.rules.values():
        if rule.level != "row":
            continue
        text = book.text(rule.id)
        p = rule.params
        if rule.kind == "non_null":
            for b in bindings:
                if not b.required and b.source is not None:
                    flags.append(
                        Flag(text, b.name, b.name, _sql(f"{_c(b.name + '__in')} IS NULL"), exp.true())
                    )
        elif rule.kind == "id_birth_match":
            for id_binding, date_binding in _subject_pairs(by_element, p["id_element"], p["date_element"]):
                i, d = _c(id_binding.name), _c(date_binding.name)
                present = _sql(
                    f"{i} IS NOT NULL AND {d} IS NOT NULL AND regexp_full_match({i}, '{ID_PATTERN}') "
                    f"AND try_strptime(substr({i}, 7, 8), '%Y%m%d') IS NOT NULL"
                )
                failed = _sql(
                    f"coalesce({_text(present)} AND CAST(try_strptime(substr({i}, 7, 8), '%Y%m%d') AS DATE) "
                    f"<> CAST({d} AS DATE), false)"
                )
                flags.append(Flag(text, date_binding.name, table.label(date_binding.name), failed, present))
        elif rule.kind == "id_sex_match":
            for id_binding, sex_binding in _subject_pairs(by_element, p["id_element"], p["sex_element"]):
                i, s = _c(id_binding.name), _c(sex_binding.name)
                male, female = _lit(str(p["male"])), _lit(str(p["female"]))
                present = _sql(f"regexp_full_match({i}, '{ID_PATTERN}') AND {s} IN ({male}, {female})")
                failed = _sql(
                    f"coalesce({_text(present)} AND ((TRY_CAST(substr({i}, 17, 1) AS INTEGER) % 2 = 1) "
                    f"<> ({s} = {male})), false)"
                )
                flags.append(Flag(text, sex_binding.name, table.label(sex_binding.name), failed, present))
        elif rule.kind == "date_range":
            low, high = _lit(str(p["min"])), _lit(today.isoformat())
            for element in p["elements"]:
                for b in by_element.get(element, []):
                    if b.type not in ("D", "T"):
                        continue
                    v = f"CAST({_c(b.name)} AS DATE)"
                    failed = _sql(f"coalesce({v} < DATE {low} OR {v} > DATE {high}, false)")
                    flags.append(Flag(text, b.name, table.label(b.name), failed, _not_null(b.name)))
        elif rule.kind == "bbox":
            lons, lats = by_element.get(p["lon_element"], []), by_element.get(p["lat_element"], [])
            if len(lons) == 1 and len(lats) == 1:
                x, y = _c(lons[0].name), _c(lats[0].name)
                (x0, x1), (y0, y1) = p["lon"], p["lat"]
                present = _sql(f"{x} IS NOT NULL AND {y} IS NOT NULL")
                failed = _sql(
                    f"coalesce(NOT ({x} BETWEEN {float(x0)} AND {float(x1)} "
                    f"AND {y} BETWEEN {float(y0)} AND {float(y1)}), false)"
                )
                flags.append(Flag(text, lons[0].name, table.label(lons[0].name), failed, present))
        elif rule.kind == "reference":
            for n, ref in enumerate(table.references):
                # a value is looked up when present, valid by its own rules and in the register's scope
                conditions = [_not_null(ref.column)]
                conditions += [exp.not_(f.copy()) for f in own_failures.get(ref.column, [])]
                if ref.pattern:
                    conditions.append(_sql(f"regexp_full_match({_c(ref.column)}, {_lit(ref.pattern)})"))
                present = cast(exp.Expression, exp.and_(*conditions))
                failed = cast(exp.Expression, exp.and_(present.copy(), _sql(f'"__r{n}"."__v" IS NULL')))
                label = f"{table.label(ref.column)} → {ref.label or ref.relation}"
                flags.append(Flag(text, ref.column, label, failed, present))
    return flags


# Which ID number a birth date or sex belongs to: the same subject prefix (``id_number`` with
# ``birth_date``; ``owner_id_number`` with ``owner_birth_date``), never the mother's ID with the child's
# birth date.
SUBJECT_SUFFIXES = {
    "DE0101": ("id_number", "id_no", "idcard", "id"),
    "DE0104": ("birth_date", "birthday", "dob"),
    "DE0103": ("sex_code", "sex", "gender"),
}


def _subject(binding: ColumnBinding) -> str | None:
    for suffix in SUBJECT_SUFFIXES.get(binding.element, ()):
        if binding.name == suffix or binding.name.endswith("_" + suffix):
            return binding.name[: -len(suffix)]
    return None


def _subject_pairs(
    by_element: dict[str, list[ColumnBinding]], first: str, second: str
) -> list[tuple[ColumnBinding, ColumnBinding]]:
    pairs = []
    for a in by_element.get(first, []):
        for b in by_element.get(second, []):
            if _subject(a) is not None and _subject(a) == _subject(b):
                pairs.append((a, b))
    return pairs


# -- helpers --------------------------------------------------------------------------------------


def _as_standard(binding: ColumnBinding) -> ColumnBinding:
    """A binding reading the standardised column of the same name."""
    return ColumnBinding(
        binding.name,
        binding.name if binding.source is not None else None,
        binding.element,
        binding.type,
        binding.length,
        binding.required,
        binding.rules,
    )


def _district_column(bindings: Sequence[ColumnBinding], cleanse: CleansePlan) -> str | None:
    derived = [n for n in cleanse.output_schema().names if n.endswith("__district")]
    if derived:
        return str(derived[0])
    codes = [b.name for b in bindings if b.element == DISTRICT_ELEMENT and b.source is not None]
    return codes[0] if codes else None


def _outcome(
    text: RuleText, column: str, label: str, checked: int, failed: int, samples: tuple[int, ...]
) -> RuleOutcome:
    return RuleOutcome(
        text.rule_id, text.dimension, column, text.severity, checked, failed, label,
        text.reason_zh, text.reason_en, samples,
    )  # fmt: skip


def _c(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def _lit(value: str) -> str:
    return exp.Literal.string(value).sql(dialect="duckdb")


def _sql(text: str) -> exp.Expression:
    return cast(exp.Expression, parse_one(text, read="duckdb"))


def _text(expression: exp.Expression) -> str:
    return f"({expression.sql(dialect='duckdb')})"


def _not_null(name: str) -> exp.Expression:
    return _sql(f"{_c(name)} IS NOT NULL")


def _qcol(name: str, table: str) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _qualify(expression: exp.Expression) -> exp.Expression:
    """Columns of a flag read from ``__std`` (reference lookups keep their own ``__r<i>`` alias)."""
    copy = expression.copy()
    for column in copy.find_all(exp.Column):
        if not column.table:
            column.set("table", exp.to_identifier("__std", quoted=True))
    return copy


def _never_null(expression: exp.Expression) -> exp.Expression:
    return cast(exp.Expression, exp.func("coalesce", _qualify(expression), exp.false()))


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [str(r[0]) for r in con.execute(f"DESCRIBE {table}").fetchall()]
