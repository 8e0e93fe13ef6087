"""Table rules (表级规则): checks over several columns of one table.

* ADDRESS_DISTRICT derives the district code of an address (``<address>__district``: the district
  name right after the city prefix, else any current or former district name in the address) and
  warns when none is found or when it differs from the table's district code column.
* COORD_DISTRICT flags points nearer another district's centre than the declared district's
  centre: a Voronoi approximation of district outlines, in planar degrees (the metric the
  synthetic city uses for its discs), until real outlines arrive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlglot import exp

from gongshu.cleanse import sqlx as q
from gongshu.cleanse.reference import districts
from gongshu.cleanse.specs import ColumnBinding, Rule, TableRule
from gongshu.errors import ValidationFailed

ROLES = {
    "ADDRESS_DISTRICT": {"address": "DE0301", "district": "DE0302"},
    "COORD_DISTRICT": {"lon": "DE0304", "lat": "DE0305", "district": "DE0302"},
}
REQUIRED_ROLES = {"ADDRESS_DISTRICT": ("address",), "COORD_DISTRICT": ("lon", "lat", "district")}


@dataclass(frozen=True)
class TableCheck:
    """A compiled table rule: columns it reports on, derived columns and the failure expression."""

    rule: Rule
    columns: tuple[str, ...]
    derived: tuple[tuple[str, q.Expr], ...]
    failure: q.Expr
    helpers: tuple[tuple[str, q.Expr], ...] = ()


def infer_table_rules(bindings: Sequence[ColumnBinding]) -> list[TableRule]:
    """Table rules implied by the elements a table binds.

    One ADDRESS_DISTRICT per address column (compared with the district code column when the table
    has exactly one); one COORD_DISTRICT when the table has exactly one longitude, latitude and
    district code column.
    """
    by_element: dict[str, list[str]] = {}
    for b in bindings:
        by_element.setdefault(b.element, []).append(b.name)
    district = by_element.get("DE0302", [])
    found = [
        TableRule(
            "ADDRESS_DISTRICT", {"address": a, **({"district": district[0]} if len(district) == 1 else {})}
        )
        for a in by_element.get("DE0301", [])
    ]
    lon, lat = by_element.get("DE0304", []), by_element.get("DE0305", [])
    if len(lon) == len(lat) == len(district) == 1:
        found.append(TableRule("COORD_DISTRICT", {"lon": lon[0], "lat": lat[0], "district": district[0]}))
    return found


def validate(table_rule: TableRule, names: Mapping[str, ColumnBinding]) -> None:
    """Refuse unknown rules, missing roles and columns that are not in the table."""
    problems: dict[str, list[str]] = {}
    roles = ROLES.get(table_rule.rule_id)
    if roles is None:
        problems["rule_id"] = [f"{table_rule.rule_id!r} is not a table rule; known: {', '.join(ROLES)}"]
    else:
        for role in REQUIRED_ROLES[table_rule.rule_id]:
            if role not in table_rule.columns:
                problems.setdefault("columns", []).append(f"role {role!r} is missing")
        for role, column in table_rule.columns.items():
            if role not in roles:
                problems.setdefault("columns", []).append(f"unknown role {role!r}")
            elif column not in names:
                problems.setdefault("columns", []).append(f"{role}: no column {column!r} in the table")
    if problems:
        raise ValidationFailed({f"table_rules.{table_rule.rule_id}.{k}": v for k, v in problems.items()})


def compile_table_rule(rule: Rule, table_rule: TableRule) -> TableCheck:
    cols = table_rule.columns
    if rule.kind == "address_district":
        return _address_district(rule, cols["address"], cols.get("district"))
    return _coord_district(rule, cols["lon"], cols["lat"], cols["district"])


def district_key(address: q.Expr) -> q.Expr:
    """The characters after the city prefix that name the district (helper ``<address>__key``)."""
    table = districts()
    return q.case([(q.starts(address, table.city), q.substr(address, len(table.city) + 1, _key_size()))])


def district_of(address: q.Expr, key: q.Expr) -> q.Expr:
    """The GB/T 2260 code of the district an address names, else NULL.

    First the name right after the city prefix (one comparison per name against the ``key``
    helper), else any current or former district name anywhere in the address.
    """
    pairs = districts().names()
    size = _key_size()
    anywhere: q.Expr = q.case([(q.contains(address, name), q.lit(code)) for name, code in pairs])
    ifs = [exp.If(this=q.lit(name[:size]), true=q.lit(code)) for name, code in pairs]
    return exp.Case(this=key, ifs=ifs).else_(anywhere)


def _key_size() -> int:
    """The shortest district name's length; every name's first characters must be unique."""
    names = [name for name, _ in districts().names()]
    size = min(len(n) for n in names)
    if len({n[:size] for n in names}) != len(names):
        raise ValidationFailed(
            {"districts": [f"district names are not unique in their first {size} characters"]}
        )
    return size


def _address_district(rule: Rule, address: str, district: str | None) -> TableCheck:
    derived_name = f"{address}__district"
    key_name = f"{address}__key"
    derived = q.col(derived_name)
    out = q.col(address)
    problem = q.is_null(derived)
    if district is not None:
        code = q.col(district)
        problem = q.or_(problem, q.and_(q.not_null(code), q.neq(derived, code)))
    failure = q.coalesce_false(q.and_(q.not_null(out), q.paren(problem)))
    helpers = ((key_name, district_key(out)),)
    return TableCheck(
        rule, (address,), ((derived_name, district_of(out, q.col(key_name))),), failure, helpers
    )


def _coord_district(rule: Rule, lon: str, lat: str, district: str) -> TableCheck:
    x, y, code = q.col(lon), q.col(lat), q.col(district)

    def squared(a: q.Expr, b: float) -> q.Expr:
        diff = q.paren(q.sub(a, b))
        return q.mul(diff, diff)

    distance = {d.code: q.paren(q.add(squared(x, d.lon), squared(y, d.lat))) for d in districts().items}
    declared = exp.Case(this=code, ifs=[exp.If(this=q.lit(c), true=e) for c, e in distance.items()])
    nearest = exp.Least(this=next(iter(distance.values())), expressions=list(distance.values())[1:])
    failure = q.coalesce_false(q.lt(nearest, declared))
    return TableCheck(rule, (lon, lat), (), failure)
