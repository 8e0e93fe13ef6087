"""TEXT_CLEAN (文本清洗): the first step of every column, producing the ``<name>__in`` helper.

Every raw value goes through one SQL ``CASE``:

1. ``''`` → NULL;
2. a cheap test (byte length equals character length for ASCII profiles, no space at the edges,
   no tab or newline, none of the profile's lower-case letters; a regular expression for Chinese
   text) sends clean values straight through, so the common case makes no new string;
3. everything else takes the slow path: full-width → half-width and odd spaces → space with one
   ``TRANSLATE`` (only when a regular expression finds such characters: DuckDB's ``TRANSLATE``
   costs about 60 ns per character of its map), trim, remove or collapse inner spaces,
   upper-case, NULL when nothing is left.
"""

from __future__ import annotations

from collections.abc import Sequence

from gongshu.cleanse import sqlx as q
from gongshu.cleanse.specs import Rule, TextProfile

CONTROL = "\t\n\r"


def fullwidth_map(kind: str) -> tuple[str, str]:
    """(full-width characters, their half-width forms) for ``all`` (！-～), ``alnum`` or given ASCII.

    The map is kept as short as the profile allows: DuckDB's TRANSLATE costs about 60 ns per
    character of its map on every value it touches.
    """
    narrow = [chr(c) for c in range(0x21, 0x7F)]
    if kind == "alnum":
        narrow = [ch for ch in narrow if ch.isalnum()]
    elif kind != "all":
        narrow = [ch for ch in narrow if ch in kind]
    return "".join(chr(ord(ch) + 0xFEE0) for ch in narrow), "".join(narrow)


def clean_text(raw: q.Expr, profile: TextProfile, rule: Rule, known: Sequence[str] = ()) -> q.Expr:
    """The TEXT_CLEAN expression of one raw value (VARCHAR or NULL) for a text profile.

    ``known`` are values that are clean by definition (a code set): ``raw IN (known)`` is the
    cheapest fast path (DuckDB hashes the list).
    """
    spaces = str(rule.params.get("spaces", "\u3000\u00a0\t\n\r"))
    delete = str(rule.params.get("delete", ""))
    wide, narrow = fullwidth_map(profile.fullwidth) if rule.params.get("fullwidth", True) else ("", "")
    odd = odd_characters(wide, spaces + delete)
    whens: list[tuple[q.Expr, q.Expr]] = [(q.in_(raw, known), raw)] if known else []
    whens.append((q.eq(raw, q.lit("")), q.null()))
    whens.append((_looks_clean(raw, profile, odd), _fast_value(raw, profile)))
    return q.case(whens, _finish(_translated(raw, wide, narrow, spaces, delete), profile))


def _translated(raw: q.Expr, wide: str, narrow: str, spaces: str, delete: str) -> q.Expr:
    """Odd spaces → space and full-width → half-width, each TRANSLATE only where its characters occur.

    Two short maps instead of one long one: TRANSLATE's cost grows with its map. The inner value
    appears in both branches of the outer CASE, which evaluates one branch per row.
    """
    spaced = q.case(
        [
            (
                q.regex_match(raw, odd_characters("", spaces + delete)),
                q.translate(raw, spaces + delete, " " * len(spaces)),
            )
        ],
        raw,
    )
    if not wide:
        return spaced
    return q.case(
        [(q.regex_match(raw, odd_characters(wide, "", control=False)), q.translate(spaced, wide, narrow))],
        spaced,
    )


def odd_characters(wide: str, others: str, *, control: bool = True) -> str:
    """A regular-expression class of the characters the slow path translates."""
    ranges = "".join(f"{a}-{b}" if a != b else a for a, b in _runs(wide))
    members = "".join(ch for ch in others if ch not in CONTROL)
    return f"[{ranges}{members}" + ("\\t\\n\\r]" if control else "]")


def _runs(chars: str) -> list[tuple[str, str]]:
    runs: list[tuple[str, str]] = []
    for ch in chars:
        if runs and ord(ch) == ord(runs[-1][1]) + 1:
            runs[-1] = (runs[-1][0], ch)
        else:
            runs.append((ch, ch))
    return runs


def _looks_clean(raw: q.Expr, profile: TextProfile, odd: str) -> q.Expr:
    """The cheap test that a value needs no work (see the module docstring)."""
    if not profile.ascii:
        # Chinese text: one regular expression for edge spaces, double spaces and odd characters
        # is cheaper than LIKE and STRPOS tests followed by the odd-character expression
        spaces = {"remove": " ", "collapse": "^ | $|  "}.get(profile.spaces, "^ | $")
        return q.not_(q.regex_match(raw, f"{spaces}|{odd}"))
    chars = q.add(q.length(raw), q.lit(profile.multibyte)) if profile.multibyte else q.length(raw)
    tests: list[q.Expr] = [q.eq(q.byte_length(raw), chars)]
    if profile.spaces == "remove":
        tests.append(q.not_(q.contains(raw, " ")))
    else:
        tests += [q.not_(q.starts(raw, " ")), q.not_(q.ends(raw, " "))]
        if profile.spaces == "collapse":
            tests.append(q.not_(q.contains(raw, "  ")))
    tests += [q.not_(q.contains(raw, ch)) for ch in CONTROL]
    if profile.upper not in ("never", "always"):
        tests += [q.not_(q.contains(raw, ch)) for ch in profile.upper]
    return q.and_(*tests)


def _fast_value(raw: q.Expr, profile: TextProfile) -> q.Expr:
    return q.upper(raw) if profile.upper == "always" else raw


def _finish(value: q.Expr, profile: TextProfile) -> q.Expr:
    # removing every space makes TRIM redundant (and every new string costs)
    value = q.replace(value, " ", "") if profile.spaces == "remove" else q.trim(value, " ")
    if profile.spaces == "collapse":
        value = q.regex_replace_all(value, " {2,}", " ")
    if profile.upper != "never":
        value = q.upper(value)
    return q.nullif_empty(value)
