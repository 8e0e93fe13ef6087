"""Rule kinds (规则类型): how each ``kind`` of ``data/rules.yaml`` compiles to SQL.

A kind contributes *steps* (standardisation: a function from the column's previous value to its
next value; each step becomes one level of nested ``SELECT`` so that no sub-expression is computed
twice) and/or a *failure* (a boolean over the standardised columns, TRUE when the row fails).
Steps see one column reference; failures see the column's output ``out`` and its cleaned text
``inp`` (the ``<name>__in`` helper).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlglot import exp

from gongshu.cleanse import sqlx as q
from gongshu.cleanse.reference import ElementInfo, area_codes, districts
from gongshu.cleanse.rules import RuleSet
from gongshu.cleanse.specs import ColumnBinding, Rule
from gongshu.cleanse.temporal import parse_date, parse_timestamp, within_years
from gongshu.errors import ValidationFailed

Step = Callable[[q.Expr], q.Expr]


@dataclass(frozen=True)
class FormatHelper:
    """A helper column computed once from the output for the rules that need a valid format first.

    ``n`` helpers hold the code's leading characters as one BIGINT (digits, or letters
    transliterated to digits first) and are NULL when the format rule's pattern does not match;
    ``ok`` helpers hold the pattern's match as a boolean. ID_CHECK, ID_AREA_CODE and ID_BIRTH_DATE
    all read ``"<name>__n"`` instead of re-running the pattern and re-parsing the digits.
    """

    column: str
    kind: Literal["n", "ok"]
    pattern: str
    length: int = 17
    transliterate: tuple[str, str] | None = None

    def expression(self, out: q.Expr) -> q.Expr:
        matches = q.regex_match(out, self.pattern)
        if self.kind == "ok":
            return matches
        text = q.translate(out, *self.transliterate) if self.transliterate else out
        return q.case([(matches, q.try_cast(q.substr(text, 1, self.length), "BIGINT"))])

    def valid(self) -> q.Expr:
        ref = q.col(self.column)
        return q.not_null(ref) if self.kind == "n" else q.coalesce_false(ref)

    def invalid(self, out: q.Expr) -> q.Expr:
        ref = q.col(self.column)
        return q.and_(q.not_null(out), q.is_null(ref) if self.kind == "n" else q.not_(q.coalesce_false(ref)))


@dataclass(frozen=True)
class ColumnContext:
    """What a rule compiler knows about the column it compiles for."""

    binding: ColumnBinding
    element: ElementInfo | None
    rules: tuple[Rule, ...]
    ruleset: RuleSet
    helpers: dict[str, FormatHelper] = field(default_factory=dict)

    @property
    def codes(self) -> dict[str, str]:
        return dict(self.element.codes or {}) if self.element else {}

    def precondition(self, rule: Rule, out: q.Expr) -> q.Expr:
        """What must hold before a checksum-like rule looks at the value (its ``requires`` format)."""
        required = rule.params.get("requires")
        return self.helpers[str(required)].valid() if required else q.not_null(out)


def format_helpers(
    binding: ColumnBinding, rules: Sequence[Rule], ruleset: RuleSet
) -> dict[str, FormatHelper]:
    """One helper per format rule that other rules of the column ``require``."""
    helpers: dict[str, FormatHelper] = {}
    for rule in rules:
        required = rule.params.get("requires")
        if not required:
            continue
        pattern = str(ruleset.get(str(required)).params["pattern"])
        values = str(rule.params.get("values", "digits"))
        numeric = rule.kind in ("id_area", "id_birth") or not values.startswith("index:")
        current = helpers.get(str(required))
        if numeric:
            mapping = _transliteration(values) or (current.transliterate if current else None)
            size = len(rule.params["weights"]) if "weights" in rule.params else 17
            helper = FormatHelper(f"{binding.name}__n", "n", pattern, size, mapping)
        elif current is None:
            helper = FormatHelper(f"{binding.name}__ok", "ok", pattern)
        else:
            continue
        helpers[str(required)] = helper
    return helpers


def _transliteration(values: str) -> tuple[str, str] | None:
    """``map:ABC=123`` → ``("ABC", "123")``; anything else → None."""
    if not values.startswith("map:"):
        return None
    letters, digits = values[len("map:") :].split("=")
    return letters, digits


# --- standardisation steps -----------------------------------------------------------------------


def id_upgrade_steps(rule: Rule, c: ColumnContext) -> list[Step]:
    """15-digit 身份证号 → 18 digits: insert the century, append the MOD 11-2 check character."""
    century = str(rule.params.get("century", "19"))
    weights = [pow(2, 17 - i, 11) for i in range(17)]

    def upgrade(x: q.Expr) -> q.Expr:
        n = q.try_cast(x, "BIGINT")
        terms = [q.mul(q.paren(_digit(n, 15, k)), w) for k, w in zip(range(1, 7), weights[:6], strict=True)]
        terms += [q.lit(int(century[0]) * weights[6] + int(century[1]) * weights[7])]
        terms += [q.mul(q.paren(_digit(n, 15, k)), w) for k, w in zip(range(7, 16), weights[8:], strict=True)]
        check = q.substr(q.lit("10X98765432"), q.add(q.mod(q.add(*terms), 11), q.lit(1)), 1)
        body = q.concat(q.substr(x, 1, 6), q.lit(century), q.substr(x, 7, 9), check)
        return q.case([(q.and_(q.eq(q.length(x), q.lit(15)), q.regex_match(x, "^[0-9]{15}$")), body)], x)

    return [upgrade]


def strip_steps(rule: Rule, c: ColumnContext) -> list[Step]:
    """Delete separator characters, then known prefixes (+86) when the length says they are there."""
    remove = str(rule.params.get("remove", ""))
    prefixes = [str(p) for p in rule.params.get("prefixes", [])]
    size = int(rule.params.get("length") or 0)

    def delete(x: q.Expr) -> q.Expr:
        needs = q.neq(q.length(x), q.lit(size)) if size else q.or_(*[q.contains(x, ch) for ch in remove])
        return q.case([(needs, q.translate(x, remove, ""))], x)

    def unprefix(x: q.Expr) -> q.Expr:
        whens = [
            (q.and_(q.eq(q.length(x), q.lit(size + len(p))), q.starts(x, p)), q.substr(x, len(p) + 1))
            for p in prefixes
        ]
        return q.case(whens, x)

    return [delete, unprefix] if prefixes and size else [delete]


def landline_steps(rule: Rule, c: ColumnContext) -> list[Step]:
    """Digits only, then ``area-number`` (3-digit area codes for 010 and 02x, 4 digits otherwise)."""
    remove = str(rule.params.get("remove", "")) + "-"
    three = [str(p) for p in rule.params.get("three_digit", [])]
    clean = str(rule.params.get("clean", "^0[0-9]{2,3}-[0-9]{7,8}$"))

    def digits(x: q.Expr) -> q.Expr:
        return q.case([(q.regex_match(x, clean), x)], q.translate(x, remove, ""))

    def hyphen(x: q.Expr) -> q.Expr:
        return q.case(
            [
                (q.contains(x, "-"), x),
                (q.in_(q.substr(x, 1, 3), three), q.concat(q.substr(x, 1, 3), q.lit("-"), q.substr(x, 4))),
                (q.starts(x, "0"), q.concat(q.substr(x, 1, 4), q.lit("-"), q.substr(x, 5))),
            ],
            x,
        )

    return [digits, hyphen]


def address_steps(rule: Rule, c: ColumnContext) -> list[Step]:
    """One city prefix: ``上海浦东新区…`` and ``浦东新区…`` become ``上海市浦东新区…``."""
    city = str(rule.params.get("city", districts().city))
    short = str(rule.params.get("city_short", city[:-1]))
    names = [name for name, _ in districts().names()]

    def prefix(x: q.Expr) -> q.Expr:
        return q.case(
            [
                (q.starts(x, city), x),
                (q.starts(x, short), q.concat(q.lit(city), q.substr(x, len(short) + 1))),
                (q.or_(*[q.starts(x, n) for n in names]), q.concat(q.lit(city), x)),
            ],
            x,
        )

    return [prefix]


def code_synonyms_steps(rule: Rule, c: ColumnContext) -> list[Step]:
    """Words → codes: the code set's own names (汉族 → 01) and the rule's synonyms (男 → 1)."""
    mapping: dict[str, str] = {}
    if rule.params.get("names", True):
        mapping.update({name: code for code, name in c.codes.items()})
    synonyms = rule.params.get("synonyms", {}).get(c.binding.element, {})
    for word, code in synonyms.items():
        mapping.update({str(word): str(code), str(word).upper(): str(code), str(word).lower(): str(code)})
    if not mapping:
        return []

    def words(x: q.Expr) -> q.Expr:
        node = exp.Case(this=x, ifs=[exp.If(this=q.lit(k), true=q.lit(v)) for k, v in mapping.items()])
        return node.else_(x)

    return [words]


def code_pad_steps(rule: Rule, c: ColumnContext) -> list[Step]:
    """Left-pad numeric codes shorter than the code set's (uniform) width with zeros."""
    widths = {len(code) for code in c.codes}
    if len(widths) != 1 or not all(code.isdigit() for code in c.codes):
        return []
    width = widths.pop()

    def pad(x: q.Expr) -> q.Expr:
        short = q.and_(q.lt(q.length(x), width), q.regex_match(x, "^[0-9]+$"))
        return q.case([(short, q.lpad(x, width))], x)

    return [pad]


def datetime_steps(rule: Rule, c: ColumnContext) -> list[Step]:
    """Parse every supported date form, then NULL outside the plausible years."""
    low, high = (int(v) for v in rule.params.get("excel_serial", (20000, 80000)))
    years = int(rule.params.get("min_year", 1800)), int(rule.params.get("max_year", 2199))
    timestamp = c.binding.type == "T"

    def parse(x: q.Expr) -> q.Expr:
        return parse_timestamp(x, (low, high)) if timestamp else parse_date(x, (low, high))

    def window(x: q.Expr) -> q.Expr:
        return within_years(x, years, timestamp=timestamp)

    return [parse, window]


NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
INTEGER = r"^[+-]?[0-9]{1,18}(\.0*)?$"


def number_type(rule: Rule, element: str) -> str:
    return str(rule.params.get("types", {}).get(element, rule.params.get("default", "DOUBLE"))).upper()


def number_steps(rule: Rule, c: ColumnContext) -> list[Step]:
    """Drop thousands separators, then cast to the element's numeric type (checked by a pattern)."""
    to = number_type(rule, c.binding.element)

    def separators(x: q.Expr) -> q.Expr:
        return q.case([(q.contains(x, ","), q.replace(x, ",", ""))], x)

    def cast(x: q.Expr) -> q.Expr:
        if to in ("BIGINT", "INTEGER", "INT"):
            whole = q.try_cast(q.regex_extract(x, r"^([+-]?[0-9]+)", 1), to)
            return q.case([(q.regex_match(x, INTEGER), whole)])
        return q.case([(q.regex_match(x, NUMBER), q.try_cast(x, to))])

    return [separators, cast]


def boolean_steps(rule: Rule, c: ColumnContext) -> list[Step]:
    truthy = [str(v).upper() for v in rule.params.get("true", [])]
    falsy = [str(v).upper() for v in rule.params.get("false", [])]

    def parse(x: q.Expr) -> q.Expr:
        return q.case([(q.in_(x, truthy), exp.true()), (q.in_(x, falsy), exp.false())])

    return [parse]


# --- failures ----------------------------------------------------------------------------------


def pattern_failure(rule: Rule, c: ColumnContext, out: q.Expr, inp: q.Expr) -> q.Expr:
    helper = c.helpers.get(rule.id)
    if helper is not None:
        return q.coalesce_false(helper.invalid(out))
    return q.coalesce_false(q.and_(q.not_null(out), q.not_(q.regex_match(out, str(rule.params["pattern"])))))


def unparsed_failure(rule: Rule, c: ColumnContext, out: q.Expr, inp: q.Expr) -> q.Expr:
    """Non-empty text that did not become a value of the column's type."""
    return q.coalesce_false(q.and_(q.not_null(inp), q.is_null(out)))


def required_failure(rule: Rule, c: ColumnContext, out: q.Expr, inp: q.Expr) -> q.Expr:
    return q.coalesce_false(q.is_null(inp))


def length_failure(rule: Rule, c: ColumnContext, out: q.Expr, inp: q.Expr) -> q.Expr | None:
    size = c.binding.length
    if size is None or c.binding.type != "C":
        return None
    return q.coalesce_false(exp.GT(this=q.length(out), expression=q.lit(size)))


def code_set(rule: Rule, c: ColumnContext) -> list[str]:
    """The code set a CODE_UNKNOWN rule checks a column against (the element's, or the districts)."""
    source = rule.params.get("sets", {}).get(c.binding.element)
    return districts().codes if source == "districts" else sorted(c.codes)


def known_codes(c: ColumnContext) -> list[str]:
    """The column's code set when a code-set rule applies (values that need no cleaning)."""
    return next((code_set(r, c) for r in c.rules if r.kind == "code_set"), [])


def code_set_failure(rule: Rule, c: ColumnContext, out: q.Expr, inp: q.Expr) -> q.Expr | None:
    codes = code_set(rule, c)
    if not codes:
        return None
    return q.coalesce_false(q.not_(q.in_(out, codes)))


def _number(c: ColumnContext, rule: Rule) -> q.Expr:
    return q.col(c.helpers[str(rule.params["requires"])].column)


def id_area_failure(rule: Rule, c: ColumnContext, out: q.Expr, inp: q.Expr) -> q.Expr:
    """The first six digits (read from the ``__n`` helper) are not a known division code."""
    area = q.int_div(_number(c, rule), 10**11)
    known = exp.In(this=area, expressions=[q.lit(int(code)) for code in area_codes()])
    return q.coalesce_false(q.and_(c.precondition(rule, out), q.not_(known)))


def id_birth_failure(rule: Rule, c: ColumnContext, out: q.Expr, inp: q.Expr) -> q.Expr:
    """Positions 7-14 are not a calendar date from ``min_year`` to today (integer arithmetic on ``__n``).

    Leap years are only worked out for 29 February (CASE evaluates a branch for its rows only).
    """
    n = _number(c, rule)
    ymd = q.mod(q.int_div(n, 1000), 10**8)
    year, month, day = (
        q.mod(q.int_div(n, 10**7), 10**4),
        q.mod(q.int_div(n, 10**5), 100),
        q.mod(q.int_div(n, 1000), 100),
    )
    leap = q.or_(
        q.and_(q.eq(q.mod(year, 4), q.lit(0)), q.neq(q.mod(year, 100), q.lit(0))),
        q.eq(q.mod(year, 400), q.lit(0)),
    )
    february = q.case([(q.eq(day, q.lit(29)), q.case([(leap, q.lit(29))], q.lit(28)))], q.lit(28))
    days = q.case(
        [(q.eq(month, q.lit(2)), february)], q.add(q.lit(30), q.mod(q.add(month, q.int_div(month, 8)), 2))
    )
    today = q.add(
        q.mul(exp.Extract(this=exp.var("YEAR"), expression=exp.CurrentDate()), 10000),
        q.mul(exp.Extract(this=exp.var("MONTH"), expression=exp.CurrentDate()), 100),
        exp.Extract(this=exp.var("DAY"), expression=exp.CurrentDate()),
    )
    plausible = q.and_(
        exp.Between(this=month, low=q.lit(1), high=q.lit(12)),
        exp.Between(this=day, low=q.lit(1), high=days),
        exp.GTE(this=year, expression=q.lit(int(rule.params.get("min_year", 1850)))),
        exp.LTE(this=ymd, expression=today),
    )
    return q.coalesce_false(q.and_(c.precondition(rule, out), q.not_(q.coalesce_false(plausible))))


def checksum_failure(rule: Rule, c: ColumnContext, out: q.Expr, inp: q.Expr) -> q.Expr:
    """Weighted-sum check characters: ``table[sum(value(char_i) * weight_i) mod modulus]``.

    ``values``: ``digits`` (each character is its digit) or ``map:<letters>=<digits>`` (letters
    transliterated to digits, as for VINs) read from the ``__n`` helper and split arithmetically
    (several times cheaper in DuckDB than one SUBSTRING per character); ``index:<alphabet>`` (the
    character's position in the alphabet, via STRPOS, as for USCCs).
    """
    p = rule.params
    weights = [int(w) for w in p["weights"]]
    values = str(p.get("values", "digits"))
    if values.startswith("index:"):
        alphabet = q.lit(values[len("index:") :])
        terms = [
            q.mul(q.paren(q.sub(exp.StrPosition(this=alphabet, substr=q.substr(out, i, 1)), 1)), w)
            for i, w in enumerate(weights, start=1)
            if w
        ]
    else:
        n = _number(c, rule)
        terms = [q.mul(q.paren(_digit(n, len(weights), i)), w) for i, w in enumerate(weights, start=1) if w]
    index = q.add(q.mod(q.add(*terms), int(p["modulus"])), q.lit(1))
    expected = q.substr(q.lit(str(p["table"])), index, 1)
    actual = q.substr(out, int(p["check_position"]), 1)
    return q.coalesce_false(q.and_(c.precondition(rule, out), q.neq(expected, actual)))


def _digit(n: q.Expr, width: int, position: int) -> q.Expr:
    """Digit ``position`` (1-based, from the left) of the ``width``-digit number ``n``."""
    shift = width - position
    return q.mod(q.int_div(n, 10**shift), 10) if shift else q.mod(n, 10)


StepsFn = Callable[[Rule, ColumnContext], list[Step]]
FailureFn = Callable[[Rule, ColumnContext, q.Expr, q.Expr], q.Expr | None]

STEPS: dict[str, StepsFn] = {
    "id_upgrade": id_upgrade_steps,
    "strip": strip_steps,
    "landline": landline_steps,
    "address": address_steps,
    "code_synonyms": code_synonyms_steps,
    "code_pad": code_pad_steps,
    "datetime": datetime_steps,
    "number": number_steps,
    "boolean": boolean_steps,
}
FAILURES: dict[str, FailureFn] = {
    "pattern": pattern_failure,
    "datetime": unparsed_failure,
    "number": unparsed_failure,
    "boolean": unparsed_failure,
    "required": required_failure,
    "length": length_failure,
    "code_set": code_set_failure,
    "id_area": id_area_failure,
    "id_birth": id_birth_failure,
    "checksum": checksum_failure,
}
TABLE_KINDS = ("address_district", "coord_district")


def check_kind(rule: Rule) -> None:
    """Refuse a rule whose kind no compiler knows (a typo in the rules document)."""
    known = {"text", *STEPS, *FAILURES, *TABLE_KINDS}
    if rule.kind not in known:
        raise ValidationFailed(
            {f"rules.{rule.id}.kind": [f"unknown kind {rule.kind!r}; known: {', '.join(sorted(known))}"]}
        )
