"""The granted slice (授权数据切片): one compiler of a grant into SQL, for every bulk channel.

Query, lake SQL, landing and district return all read a grant's data through
:meth:`GrantSlice.select_sql`: only the granted 信息项 (field minimisation), masked by their
security grade unless the grant allows clear text (明文), and only the granted rows (the
consumer's district, or the declared conditions). Names are quoted and values are literals
built by sqlglot; nothing a department wrote is pasted into SQL.

Masking (脱敏) by grade (GB/T 43697): 一般 is clear; 重要 keeps the head and tail of a value
(``138****5678``, ``张*``, a date's year); 核心 keeps only its first and last character.
:func:`mask_value` is the same rule in Python, for tests and answers built outside SQL.
"""

from __future__ import annotations

# ruff: noqa: S608 - identifiers are quoted with sqlbits.ident; values are literals via sqlbits.lit
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import duckdb
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry
from gongshu.catalogue.specs import Grade
from gongshu.collect.models import Mount
from gongshu.collect.sqlbits import ident, lit
from gongshu.collect.stage import current_state_sql
from gongshu.errors import NotFound
from gongshu.lake import Lake
from gongshu.lake.specs import TableRef, Zone
from gongshu.share.models import Grant
from gongshu.share.specs import RowScope

#: Data element of 公民身份号码: the citizen a row is about (for "who accessed my data").
ID_ELEMENT = "DE0101"
DISTRICT_ELEMENT = "DE0302"
MASKED_GRADES = frozenset({Grade.IMPORTANT.value, Grade.CORE.value})
#: The view name the current state is read from; callers register it with :meth:`GrantSlice.register`.
CURRENT_VIEW = "granted_current"
ALL_VIEW = "granted_changes"


@dataclass(frozen=True)
class SliceColumn:
    name: str
    label: str
    grade: str
    element: str
    type: str  # the catalogue's item type: C N D T L B
    masked: bool


@dataclass(frozen=True)
class GrantSlice:
    """What one grant delivers from one mounted resource."""

    grant: str
    consumer: str
    scenario: str
    entry: str
    mount: str
    key: tuple[str, ...]
    columns: tuple[SliceColumn, ...]
    id_columns: tuple[str, ...]  # every 公民身份号码 column of the resource (granted or not)
    district_column: str | None
    row_scope: str
    district_code: str | None
    conditions: tuple[dict[str, Any], ...]

    @property
    def fields(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def masked(self) -> list[str]:
        return [c.name for c in self.columns if c.masked]

    @property
    def table(self) -> TableRef:
        return TableRef(Zone.STANDARD, self.mount)

    def row_filter(self) -> str:
        """The granted rows as a SQL predicate over the resource's own columns."""
        clauses = []
        if self.row_scope == RowScope.DISTRICT:
            if self.district_column is None or not self.district_code:
                return "false"  # deny by default: a district grant on a resource without districts
            clauses.append(f"{ident(self.district_column)} = {lit(self.district_code)}")
        if self.row_scope == RowScope.CONDITION:
            clauses.extend(condition_sql(c) for c in self.conditions)
        return " AND ".join(clauses) or "true"

    def projection(self, fields: Sequence[str] | None = None) -> str:
        """The granted columns, masked where their grade requires, keeping their names."""
        chosen = [c for c in self.columns if fields is None or c.name in fields]
        return ", ".join(
            f"{mask_sql(ident(c.name), c) if c.masked else ident(c.name)} AS {ident(c.name)}" for c in chosen
        )

    def select_sql(
        self,
        source: str = CURRENT_VIEW,
        *,
        fields: Sequence[str] | None = None,
        where: str = "true",
        with_subjects: bool = False,
        with_key: bool = False,
    ) -> str:
        """``SELECT`` the granted slice of ``source`` (a view of the resource's current state).

        ``with_subjects`` adds ``_subject_ids`` (the rows' ID numbers, for the call log's keyed
        hashes — they never leave gongshu); ``with_key`` adds the clear key as ``_key_<name>``
        columns, which landing uses to upsert and which are not delivered when masked.
        """
        extra = []
        if with_subjects:
            ids = ", ".join(f"CAST({ident(c)} AS VARCHAR)" for c in self.id_columns)
            extra.append(f"[{ids}] AS _subject_ids" if ids else "CAST([] AS VARCHAR[]) AS _subject_ids")
        if with_key:
            extra.extend(f"CAST({ident(k)} AS VARCHAR) AS {ident('_key_' + k)}" for k in self.key)
        columns = ", ".join([self.projection(fields), *extra])
        return f"SELECT {columns} FROM {ident(source)} WHERE ({self.row_filter()}) AND ({where})"

    def register(self, lake: Lake, con: duckdb.DuckDBPyConnection) -> bool:
        """Register the resource's change log (:data:`ALL_VIEW`) and current state (:data:`CURRENT_VIEW`).

        Returns False when nothing was collected yet (both views are then empty)."""
        if not lake.exists(self.table):
            con.execute(f"CREATE OR REPLACE TEMP VIEW {ident(ALL_VIEW)} AS SELECT NULL AS _none WHERE false")
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {ident(CURRENT_VIEW)} AS SELECT * FROM {ident(ALL_VIEW)}"
            )
            return False
        lake.view(con, self.table, ALL_VIEW)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {ident(CURRENT_VIEW)} AS {current_state_sql(ALL_VIEW, self.key)}"
        )
        return True


@dataclass(frozen=True)
class Resource:
    """A mounted resource as the exchange needs it: its entry, mount, key and 信息项."""

    entry_id: int
    entry: str
    name: str
    mount: str
    key: tuple[str, ...]
    columns: tuple[SliceColumn, ...]  # every 信息项, unmasked
    id_columns: tuple[str, ...]
    district_column: str | None

    def column(self, name: str) -> SliceColumn | None:
        return next((c for c in self.columns if c.name == name), None)

    def grant_slice(
        self,
        *,
        grant: str,
        consumer: str,
        scenario: str,
        fields: Iterable[str],
        row_scope: str,
        district_code: str | None,
        conditions: Iterable[dict[str, Any]],
        clear_text: bool,
    ) -> GrantSlice:
        granted = set(fields)
        return GrantSlice(
            grant=grant,
            consumer=consumer,
            scenario=scenario,
            entry=self.entry,
            mount=self.mount,
            key=self.key,
            columns=tuple(
                replace(c, masked=c.grade in MASKED_GRADES and not clear_text)
                for c in self.columns
                if c.name in granted
            ),
            id_columns=self.id_columns,
            district_column=self.district_column,
            row_scope=row_scope,
            district_code=district_code,
            conditions=tuple(conditions),
        )


def resource_of(session: Session, entry_id: int) -> Resource:
    """The mounted resource of catalogue entry ``entry_id``; :class:`NotFound` when it is not mounted."""
    entry = session.get(CatalogEntry, entry_id)
    mount = session.scalar(sa.select(Mount).where(Mount.entry_id == entry_id, Mount.active.is_(True)))
    if entry is None or mount is None:
        code = entry.code if entry is not None else entry_id
        raise NotFound(
            f"resource {code} is not mounted: there is no data to share yet",
            hint="the provider mounts the resource (gongshu mount create)",
        )
    return Resource(
        entry_id=entry.id,
        entry=entry.code,
        name=entry.name,
        mount=mount.name,
        key=tuple(mount.spec.get("key") or ()),
        columns=tuple(
            SliceColumn(
                name=item.name,
                label=item.label,
                grade=item.grade,
                element=item.element_code,
                type=item.type,
                masked=False,
            )
            for item in entry.items
        ),
        id_columns=tuple(item.name for item in entry.items if item.element_code == ID_ELEMENT),
        district_column=next((i.name for i in entry.items if i.element_code == DISTRICT_ELEMENT), None),
    )


def slice_of(session: Session, grant: Grant) -> GrantSlice:
    """Compile a grant against its resource's catalogue entry and mount."""
    return resource_of(session, grant.entry_id).grant_slice(
        grant=grant.code,
        consumer=grant.consumer.code,
        scenario=grant.scenario,
        fields=grant.fields,
        row_scope=grant.row_scope,
        district_code=grant.district_code,
        conditions=grant.conditions,
        clear_text=grant.clear_text,
    )


def condition_sql(condition: dict[str, Any]) -> str:
    """One declared condition as SQL with literal values (validated by :class:`specs.Condition`)."""
    column, op, value = ident(str(condition["column"])), condition["op"], condition["value"]
    text = f"CAST({column} AS VARCHAR)"
    if op == "in":
        return f"{text} IN ({', '.join(lit(str(v)) for v in value)})"
    if op == "prefix":
        return f"starts_with({text}, {lit(str(value))})"
    if op in ("gte", "lte"):
        sign = ">=" if op == "gte" else "<="
        if isinstance(value, int | float):
            return f"TRY_CAST({column} AS DOUBLE) {sign} {lit(value)}"
        return f"{text} {sign} {lit(str(value))}"
    sign = "=" if op == "eq" else "<>"
    return f"{text} {sign} {lit(str(value))}"


def mask_sql(expr: str, column: SliceColumn) -> str:
    """The masking of ``expr`` for the column's grade, as DuckDB SQL (see :func:`mask_value`)."""
    if column.type in ("D", "T"):
        return f"CASE WHEN {expr} IS NULL THEN NULL ELSE strftime({expr}, '%Y') || '-**-**' END"
    if column.type in ("N", "L", "B"):
        return f"CASE WHEN {expr} IS NULL THEN NULL ELSE '***' END"
    v = f"CAST({expr} AS VARCHAR)"
    n = f"length({v})"
    if column.grade == Grade.CORE:
        return (
            f"CASE WHEN {expr} IS NULL THEN NULL WHEN {n} <= 2 THEN repeat('*', {n}) "
            f"ELSE left({v}, 1) || repeat('*', {n} - 2) || right({v}, 1) END"
        )
    return (
        f"CASE WHEN {expr} IS NULL THEN NULL WHEN {n} <= 1 THEN '*' "
        f"WHEN {n} <= 3 THEN left({v}, 1) || repeat('*', {n} - 1) "
        f"WHEN {n} <= 7 THEN left({v}, 1) || repeat('*', {n} - 2) || right({v}, 1) "
        f"WHEN {n} <= 11 THEN left({v}, 3) || repeat('*', {n} - 7) || right({v}, 4) "
        f"ELSE left({v}, 6) || repeat('*', {n} - 10) || right({v}, 4) END"
    )


def mask_value(value: object, grade: str, type_: str = "C") -> object:
    """:func:`mask_sql` in Python: the same answer for the same value."""
    if value is None or grade not in MASKED_GRADES:
        return value
    if type_ in ("D", "T"):
        year = value.year if isinstance(value, date | datetime) else str(value)[:4]
        return f"{year}-**-**"
    if type_ in ("N", "L", "B"):
        return "***"
    text = str(value)
    n = len(text)
    if grade == Grade.CORE:
        return "*" * n if n <= 2 else text[0] + "*" * (n - 2) + text[-1]
    if n <= 1:
        return "*"
    if n <= 3:
        return text[0] + "*" * (n - 1)
    if n <= 7:
        return text[0] + "*" * (n - 2) + text[-1]
    if n <= 11:
        return text[:3] + "*" * (n - 7) + text[-4:]
    return text[:6] + "*" * (n - 10) + text[-4:]
