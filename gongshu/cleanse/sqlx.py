"""Small builders of sqlglot expressions that render the same on DuckDB and Spark SQL.

Only constructs with the same meaning in both engines are used (ADR 0003): ``TRIM(x, chars)``
(set semantics in both), ``TRANSLATE`` (extra ``from`` characters are deleted in both),
``OCTET_LENGTH(ENCODE(x))`` for the UTF-8 byte length, ``TRY_CAST`` (Spark's ANSI mode would raise
on ``CAST``), anchored ``REGEXP_MATCHES`` / ``RLIKE`` with patterns in the common subset of RE2 and
java.util.regex, ``//`` / ``DIV`` for integer division. Identifiers are always quoted; values are
literals built by sqlglot, never pasted into SQL text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlglot import exp

Expr = exp.Expression


def col(name: str, table: str | None = None) -> exp.Column:
    """A quoted column reference (names may be Chinese or contain spaces)."""
    return exp.column(name, table=table, quoted=True)


def lit(value: str | int | float) -> Expr:
    if isinstance(value, str):
        return exp.Literal.string(value)
    number: Expr = exp.Literal.number(value)
    return number


def null() -> exp.Null:
    return exp.Null()


def call(name: str, *args: Expr) -> exp.Anonymous:
    """A function both engines spell the same way (``STARTS_WITH`` is not one of them)."""
    return exp.Anonymous(this=name, expressions=list(args))


def _wrapped(condition: Expr) -> Expr:
    return exp.Paren(this=condition) if isinstance(condition, exp.Connector) else condition


def and_(*conditions: Expr | None) -> Expr:
    """Conditions joined by AND; AND / OR operands are parenthesised, as ``exp.and_`` does."""
    parts = [_wrapped(c) for c in conditions if c is not None]
    node = parts[0]
    for part in parts[1:]:
        node = exp.And(this=node, expression=part)
    return node


def or_(*conditions: Expr) -> Expr:
    parts = [_wrapped(c) for c in conditions]
    node = parts[0]
    for part in parts[1:]:
        node = exp.Or(this=node, expression=part)
    return node


def not_(condition: Expr) -> Expr:
    return exp.Not(this=exp.Paren(this=condition))


def eq(a: Expr, b: Expr) -> Expr:
    return exp.EQ(this=a, expression=b)


def lt(a: Expr, b: Expr | int) -> Expr:
    return exp.LT(this=a, expression=lit(b) if isinstance(b, int) else b)


def neq(a: Expr, b: Expr) -> Expr:
    return exp.NEQ(this=a, expression=b)


def is_null(a: Expr) -> Expr:
    return exp.Is(this=a, expression=exp.Null())


def not_null(a: Expr) -> Expr:
    return exp.Not(this=is_null(a))


def in_(a: Expr, values: Iterable[str]) -> Expr:
    return exp.In(this=a, expressions=[lit(v) for v in values])


def case(whens: Sequence[tuple[Expr, Expr]], default: Expr | None = None) -> exp.Case:
    node = exp.Case()
    for condition, value in whens:
        node = node.when(condition, value)
    return node.else_(default) if default is not None else node


def coalesce_false(condition: Expr) -> Expr:
    """``COALESCE(condition, FALSE)``: failure flags are never NULL."""
    return exp.Coalesce(this=exp.Paren(this=condition), expressions=[exp.false()])


def length(a: Expr) -> Expr:
    return exp.Length(this=a)


def byte_length(a: Expr) -> Expr:
    """UTF-8 byte length: equal to ``length`` exactly when the text is ASCII."""
    return call("OCTET_LENGTH", exp.Encode(this=a, charset=lit("utf-8")))


def substr(a: Expr, start: int | Expr, size: int | None = None) -> Expr:
    first = lit(start) if isinstance(start, int) else start
    return exp.Substring(this=a, start=first, length=lit(size) if size is not None else None)


def concat(*parts: Expr) -> Expr:
    node = parts[0]
    for part in parts[1:]:
        node = exp.DPipe(this=node, expression=part, safe=True)
    return node


def contains(a: Expr, text: str) -> Expr:
    """``STRPOS`` (DuckDB) / ``LOCATE`` (Spark) > 0: no LIKE wildcards to escape."""
    return exp.GT(this=exp.StrPosition(this=a, substr=lit(text)), expression=lit(0))


def starts(a: Expr, text: str) -> Expr:
    return exp.Like(this=a, expression=lit(_like_escape(text) + "%"))


def ends(a: Expr, text: str) -> Expr:
    return exp.Like(this=a, expression=lit("%" + _like_escape(text)))


def _like_escape(text: str) -> str:
    if "%" in text or "_" in text:
        raise ValueError(f"LIKE wildcard in literal text {text!r}")
    return text


def replace(a: Expr, old: str, new: str) -> Expr:
    return call("REPLACE", a, lit(old), lit(new))


def translate(a: Expr, source: str, target: str) -> Expr:
    """``TRANSLATE``: characters of ``source`` beyond ``target``'s length are deleted."""
    return exp.Translate(this=a, from_=lit(source), to=lit(target))


def trim(a: Expr, chars: str = " ") -> Expr:
    return exp.Trim(this=a, expression=lit(chars), position="BOTH")


def upper(a: Expr) -> Expr:
    return exp.Upper(this=a)


def nullif_empty(a: Expr) -> Expr:
    return exp.Nullif(this=a, expression=lit(""))


def end_of_text(pattern: str) -> str:
    r"""``$`` outside character classes → ``\z``, so that both engines anchor at the very end.

    java.util.regex's ``$`` also matches before a final line terminator (``\r``, ``\n``,
    U+2028 …), RE2's only at the end; ``\z`` means the end of the text in both.
    """
    out, in_class, escaped = [], False, False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "[":
            in_class = True
        elif ch == "]":
            in_class = False
        elif ch == "$" and not in_class:
            out.append("\\z")
            continue
        out.append(ch)
    return "".join(out)


def regex_match(a: Expr, pattern: str) -> Expr:
    """Partial-match semantics in both engines; anchor the pattern (``^…$``) to match the whole value."""
    return exp.RegexpLike(this=a, expression=lit(end_of_text(pattern)))


def regex_extract(a: Expr, pattern: str, group: int) -> Expr:
    """Group ``group`` of the first match, or the empty string when nothing matches (both engines)."""
    return exp.RegexpExtract(this=a, expression=lit(end_of_text(pattern)), group=lit(group))


def regex_replace_all(a: Expr, pattern: str, replacement: str) -> Expr:
    return exp.RegexpReplace(
        this=a, expression=lit(pattern), replacement=lit(replacement), modifiers=lit("g")
    )


def lpad(a: Expr, width: int, char: str = "0") -> Expr:
    return exp.Pad(this=a, expression=lit(width), fill_pattern=lit(char), is_left=True)


def data_type(name: str) -> exp.DataType:
    """A type named as DuckDB names it (``TIMESTAMP`` is Spark's ``TIMESTAMP_NTZ``: no time zone)."""
    return exp.DataType.build(name, dialect="duckdb")


def try_cast(a: Expr, to: str) -> Expr:
    """``TRY_CAST``: NULL instead of an error in both engines (``safe`` makes Spark say TRY_CAST)."""
    return exp.TryCast(this=a, to=data_type(to), safe=True)


def cast(a: Expr, to: str) -> Expr:
    return exp.Cast(this=a, to=data_type(to))


def int_div(a: Expr, b: int) -> Expr:
    return exp.IntDiv(this=exp.Paren(this=a), expression=lit(b))


def mod(a: Expr, b: int) -> Expr:
    return exp.Mod(this=exp.Paren(this=a), expression=lit(b))


def add(*terms: Expr) -> Expr:
    node = terms[0]
    for term in terms[1:]:
        node = exp.Add(this=node, expression=term)
    return node


def mul(a: Expr, b: Expr | int) -> Expr:
    return exp.Mul(this=a, expression=lit(b) if isinstance(b, int) else b)


def sub(a: Expr, b: Expr | int | float) -> Expr:
    return exp.Sub(this=a, expression=lit(b) if isinstance(b, int | float) else b)


def paren(a: Expr) -> Expr:
    return exp.Paren(this=a)
