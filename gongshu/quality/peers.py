"""The audit benchmark's peers: the audit engine's row rules written in pandera and Great Expectations.

Each peer gets the rules it can state exactly, with the engine's semantics (``gongshu.quality.engine``
and ``gongshu.cleanse``), and reports failures per ``"RULE_ID:column"`` like the engine:

* **pandera** (polars backend): one ``DataFrameSchema`` validated lazily; per-check failures are
  the rows of the error report's ``failure_cases`` for that check. Rules without a built-in check
  are polars expressions in custom ``Check``\\ s (pandera's way to extend it), attached to the
  column the engine reports them on; they may read other columns of the frame.
* **Great Expectations** 1.x: an ephemeral context, a pandas data source over the file, one
  expectation suite, ``result_format="BASIC"`` (``unexpected_count`` without value lists). Only
  built-in expectations: the ID's area code and birth date become regular expressions (with a
  branch that accepts malformed IDs, which the engine does not check there), the sex/ID parity two
  regular expressions under ``row_condition``, the bounding box two ranges under ``row_condition``.

What a peer cannot state is left out and listed with the reason (:data:`OMITTED`). Both peers run
only in the benchmark's child processes (``gongshu.quality.bench``), never in the library.

Example::

    >>> from gongshu.quality.benchdata import person_bindings
    >>> rules = peer_rules(person_bindings(), key=("id_number",))
    >>> sorted(omitted("gx", rules))[:2]
    ['ADDRESS_DISTRICT:address', 'COORD_DISTRICT:lat']
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gongshu.cleanse import ColumnBinding, load_ruleset
from gongshu.cleanse.reference import area_codes, districts, shipped_element_table
from gongshu.errors import ValidationFailed

ID_PATTERN = r"^[0-9]{17}[0-9X]$"
CITY_BOX = {"lon": (120.85, 122.20), "lat": (30.66, 31.89)}  # COORD_RANGE in quality/data/audit_rules.yaml
EARLIEST = dt.date(1900, 1, 1)  # DATE_RANGE
EARLIEST_BIRTH_YEAR = 1850  # ID_BIRTH_DATE
PATTERNS = {"DE0106": "PHONE_FORMAT", "DE0108": "EMAIL_FORMAT", "DE0303": "POSTCODE_FORMAT"}
ID_RULES = ("ID_FORMAT", "ID_AREA_CODE", "ID_BIRTH_DATE", "ID_CHECK")
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
CHECK_TABLE = "10X98765432"
DATE_RANGE_ELEMENTS = ("DE0104", "DE0111", "DE0205")

TYPED = "typed input: the value is already of its type, so the engine's parse check never fails"
OMITTED: dict[str, dict[str, str]] = {
    "pandera": {"DATE_PARSE": TYPED, "NUMBER_PARSE": TYPED},
    "gx": {
        "DATE_PARSE": TYPED,
        "NUMBER_PARSE": TYPED,
        "ID_CHECK": "MOD 11-2 over 17 digits: no built-in expectation computes it, no regex states it",
        "ID_BIRTH_MATCH": "compares a column with a date derived from another; "
        "expect_column_pair_values_to_be_equal needs the derived column, which GX cannot compute",
        "ADDRESS_DISTRICT": "derives a district from the address text and compares it with another column",
        "COORD_DISTRICT": "nearest of 16 district centres: arithmetic across two columns",
    },
}


@dataclass(frozen=True)
class PeerRules:
    """The engine's row rules for a table, as ``"RULE:column"`` keys, and the columns by role."""

    keys: tuple[str, ...]
    required: frozenset[str]
    roles: dict[str, str]
    bindings: tuple[ColumnBinding, ...]
    key: tuple[str, ...]


def peer_rules(bindings: Sequence[ColumnBinding], *, key: Sequence[str] = ()) -> PeerRules:
    """Every ``"RULE:column"`` the engine reports for a standardised table with these bindings."""
    ruleset = load_ruleset()
    elements = shipped_element_table()
    skip = set(ruleset.get("LENGTH").params.get("skip_elements", []))
    code_elements = set(ruleset.get("CODE_UNKNOWN").elements)
    keys: list[str] = []
    roles: dict[str, str] = {}
    for b in bindings:
        roles.setdefault(b.element, b.name)
        keys.append(f"{'REQUIRED' if b.required else 'COMPLETENESS'}:{b.name}")
        if b.type == "C" and b.length and b.element not in skip:
            keys.append(f"LENGTH:{b.name}")
        if b.element in code_elements and (b.element == "DE0302" or elements[b.element].codes):
            keys.append(f"CODE_UNKNOWN:{b.name}")
        if b.element == "DE0101":
            keys += [f"{rule}:{b.name}" for rule in ID_RULES]
        if b.element in PATTERNS:
            keys.append(f"{PATTERNS[b.element]}:{b.name}")
        if b.type in ("D", "T"):
            keys.append(f"DATE_PARSE:{b.name}")
        if b.type == "N":
            keys.append(f"NUMBER_PARSE:{b.name}")
        if b.type in ("D", "T") and b.element in DATE_RANGE_ELEMENTS:
            keys.append(f"DATE_RANGE:{b.name}")
    has = roles.__contains__
    if has("DE0101") and has("DE0104"):
        keys.append(f"ID_BIRTH_MATCH:{roles['DE0104']}")
    if has("DE0101") and has("DE0103"):
        keys.append(f"ID_SEX_MATCH:{roles['DE0103']}")
    if has("DE0304") and has("DE0305"):
        keys.append(f"COORD_RANGE:{roles['DE0304']}")
        if has("DE0302"):
            keys += [f"COORD_DISTRICT:{roles['DE0304']}", f"COORD_DISTRICT:{roles['DE0305']}"]
    if has("DE0301"):
        keys.append(f"ADDRESS_DISTRICT:{roles['DE0301']}")
    if key:
        keys.append(f"UNIQUE_KEY:{','.join(key)}")
    unsupported = {b.element for b in bindings} - set(elements)
    if unsupported:
        raise ValidationFailed({"bindings": [f"unknown data elements: {', '.join(sorted(unsupported))}"]})
    required = frozenset(b.name for b in bindings if b.required)
    return PeerRules(tuple(keys), required, roles, tuple(bindings), tuple(key))


def omitted(peer: str, rules: PeerRules) -> dict[str, str]:
    """The rules (``"RULE:column"``) a peer leaves out, with the reason."""
    reasons = OMITTED[peer]
    return {k: reasons[k.split(":")[0]] for k in rules.keys if k.split(":")[0] in reasons}


def expressed(peer: str, rules: PeerRules) -> list[str]:
    """The rules a peer runs."""
    left_out = omitted(peer, rules)
    return [k for k in rules.keys if k not in left_out]


# -- shared reference data -----------------------------------------------------------------------


@cache
def _codes(element: str) -> tuple[str, ...]:
    if element == "DE0302":
        return tuple(districts().codes)
    return tuple(sorted(shipped_element_table()[element].codes or {}))


def _pattern(rule_id: str) -> str:
    return str(load_ruleset().get(rule_id).params["pattern"])


def _district_names() -> list[tuple[str, str]]:
    """``(name, code)`` for every current and former district name, longest first (ADDRESS_DISTRICT)."""
    return districts().names()


def _key_size() -> int:
    return min(len(name) for name, _ in _district_names())


# -- pandera (polars) -----------------------------------------------------------------------------


def pandera_schema(rules: PeerRules, *, today: dt.date) -> Any:
    """A ``pandera.polars.DataFrameSchema`` with one named check per rule the peer runs."""
    import pandera.polars as pa
    import polars as pl

    checks: dict[str, list[Any]] = {b.name: [] for b in rules.bindings}
    for key in expressed("pandera", rules):
        rule, column = key.split(":")
        if rule in ("REQUIRED", "COMPLETENESS"):
            continue  # the column's nullable=False: pandera's not_nullable check
        check = _pandera_check(rule, column, rules, today)
        checks[column.split(",")[0]].append(check)
    columns = {
        b.name: pa.Column(_POLARS_TYPES[b.type](pl), nullable=False, checks=checks[b.name])
        for b in rules.bindings
    }
    return pa.DataFrameSchema(columns, name="person")


_POLARS_TYPES: dict[str, Any] = {
    "C": lambda pl: pl.String,
    "D": lambda pl: pl.Date,
    "T": lambda pl: pl.Datetime("us"),
    "N": lambda pl: pl.Float64,
}


def _pandera_check(rule: str, column: str, rules: PeerRules, today: dt.date) -> Any:
    """The pandera check of one rule on one column (built-in where pandera has one)."""
    import pandera.polars as pa

    name = f"{rule}:{column}"  # also the error text: the failure cases' "check" column
    binding = next((b for b in rules.bindings if b.name == column), None)
    if rule == "LENGTH" and binding is not None:
        return pa.Check.str_length(max_value=binding.length, name=name, error=name)
    if rule == "CODE_UNKNOWN" and binding is not None:
        return pa.Check.isin(list(_codes(binding.element)), name=name, error=name)
    if rule in PATTERNS.values() or rule == "ID_FORMAT":
        pattern = ID_PATTERN if rule == "ID_FORMAT" else _pattern(rule)
        return pa.Check.str_matches(pattern, name=name, error=name)
    if rule == "DATE_RANGE":
        return pa.Check.in_range(EARLIEST, today, name=name, error=name)
    build = _POLARS_RULES[rule]
    return pa.Check(lambda data: data.lazyframe.select(build(rules, column, today)), name=name, error=name)


def _id_ok(pl: Any, i: Any) -> Any:
    """The ID's format holds (the engine's ``<id>__n`` helper is not NULL); NULL for a NULL ID."""
    return i.str.contains(ID_PATTERN)


def _p_area(rules: PeerRules, column: str, today: dt.date) -> Any:
    import polars as pl

    i = pl.col(column)
    return ~_id_ok(pl, i) | i.str.slice(0, 6).is_in(list(area_codes()))


def _id_date(pl: Any, i: Any) -> Any:
    return i.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)


def _p_birth(rules: PeerRules, column: str, today: dt.date) -> Any:
    import polars as pl

    i = pl.col(column)
    d = _id_date(pl, i)
    plausible = d.is_not_null() & (d >= dt.date(EARLIEST_BIRTH_YEAR, 1, 1)) & (d <= today)
    return ~_id_ok(pl, i) | plausible


def _p_check(rules: PeerRules, column: str, today: dt.date) -> Any:
    import polars as pl

    i = pl.col(column)
    total = pl.sum_horizontal(
        [i.str.slice(k, 1).cast(pl.Int32, strict=False) * w for k, w in enumerate(ID_WEIGHTS)]
    )
    table = pl.lit(CHECK_TABLE)
    expected = table.str.slice(total % 11, 1)
    return ~_id_ok(pl, i) | (expected == i.str.slice(17, 1))


def _p_unique(rules: PeerRules, column: str, today: dt.date) -> Any:
    import polars as pl

    keys = [pl.col(k) for k in rules.key]
    present = pl.all_horizontal([k.is_not_null() for k in keys])
    # NULL keys pass (ignore_na): the engine counts duplicates among non-NULL keys only
    duplicated = pl.struct(keys).is_duplicated() if len(keys) > 1 else keys[0].is_duplicated()
    return pl.when(present).then(~duplicated)


def _p_birth_match(rules: PeerRules, column: str, today: dt.date) -> Any:
    import polars as pl

    i, d = pl.col(rules.roles["DE0101"]), pl.col(column)
    parsed = _id_date(pl, i)
    present = (i.is_not_null() & d.is_not_null() & _id_ok(pl, i) & parsed.is_not_null()).fill_null(False)
    return ~present | (parsed == d)


def _p_sex_match(rules: PeerRules, column: str, today: dt.date) -> Any:
    import polars as pl

    i, s = pl.col(rules.roles["DE0101"]), pl.col(column)
    present = (_id_ok(pl, i) & s.is_in(["1", "2"])).fill_null(False)
    odd = i.str.slice(16, 1).cast(pl.Int32, strict=False) % 2 == 1
    return ~present | (odd == (s == "1"))


def _p_coord_range(rules: PeerRules, column: str, today: dt.date) -> Any:
    import polars as pl

    x, y = pl.col(rules.roles["DE0304"]), pl.col(rules.roles["DE0305"])
    (x0, x1), (y0, y1) = CITY_BOX["lon"], CITY_BOX["lat"]
    present = x.is_not_null() & y.is_not_null()
    return ~present | (x.is_between(x0, x1) & y.is_between(y0, y1))


def _p_coord_district(rules: PeerRules, column: str, today: dt.date) -> Any:
    import polars as pl

    x, y = pl.col(rules.roles["DE0304"]), pl.col(rules.roles["DE0305"])
    code = pl.col(rules.roles["DE0302"])
    distance = {d.code: (x - d.lon) * (x - d.lon) + (y - d.lat) * (y - d.lat) for d in districts().items}
    nearest = pl.min_horizontal(list(distance.values()))
    declared: Any = pl.lit(None, dtype=pl.Float64)
    for c, expression in reversed(distance.items()):
        declared = pl.when(code == c).then(expression).otherwise(declared)
    return ~(nearest < declared).fill_null(False)


def _p_address_district(rules: PeerRules, column: str, today: dt.date) -> Any:
    import polars as pl

    address = pl.col(column)
    city, size = districts().city, _key_size()
    names = _district_names()
    key = pl.when(address.str.starts_with(city)).then(address.str.slice(len(city), size))
    by_key = key.replace_strict(
        {n[:size]: c for n, c in reversed(names)}, default=None, return_dtype=pl.String
    )
    anywhere: Any = pl.lit(None, dtype=pl.String)
    for name, named in reversed(names):  # the first name found, longest first, as the engine's CASE
        anywhere = pl.when(address.str.contains(name, literal=True)).then(pl.lit(named)).otherwise(anywhere)
    derived = pl.coalesce(by_key, anywhere)
    code_column = rules.roles.get("DE0302")
    problem: Any = derived.is_null()
    if code_column is not None:
        code = pl.col(code_column)
        problem = problem | (code.is_not_null() & (derived != code))
    return ~(address.is_not_null() & problem).fill_null(False)


_POLARS_RULES: dict[str, Any] = {
    "ID_AREA_CODE": _p_area,
    "ID_BIRTH_DATE": _p_birth,
    "ID_CHECK": _p_check,
    "UNIQUE_KEY": _p_unique,
    "ID_BIRTH_MATCH": _p_birth_match,
    "ID_SEX_MATCH": _p_sex_match,
    "COORD_RANGE": _p_coord_range,
    "COORD_DISTRICT": _p_coord_district,
    "ADDRESS_DISTRICT": _p_address_district,
}


def pandera_counts(failure_cases: Any, rules: PeerRules) -> dict[str, int]:
    """Failures per ``"RULE:column"`` from pandera's failure cases (one row per failing value)."""
    import polars as pl

    counts = {k: 0 for k in expressed("pandera", rules)}
    if failure_cases is None:
        return counts
    grouped = failure_cases.group_by(["column", "check"]).agg(pl.len().alias("n"))
    for column, check, n in grouped.iter_rows():
        if check == "not_nullable":
            key = f"{'REQUIRED' if column in rules.required else 'COMPLETENESS'}:{column}"
        else:
            key = str(check)
        if key not in counts:
            raise AssertionError(f"pandera reported an unexpected check {check!r} on {column!r}")
        counts[key] += int(n)
    return counts


def run_pandera(path: Path, rules: PeerRules, *, threads: int, today: dt.date) -> dict[str, Any]:
    """Read ``path`` with polars and validate it with the schema; timings and counts."""
    os.environ["POLARS_MAX_THREADS"] = str(threads)  # read once, when polars is first imported
    import polars as pl
    from pandera.errors import SchemaErrors

    schema = pandera_schema(rules, today=today)
    cpu, started = _cpu(), time.perf_counter()
    frame = pl.read_parquet(path)
    read = time.perf_counter() - started
    failure_cases = None
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as error:
        failure_cases = error.failure_cases
    counts = pandera_counts(failure_cases, rules)
    total, cpu = time.perf_counter() - started, _cpu() - cpu
    version = {"pandera": _version("pandera"), "polars": pl.__version__}
    return {"rows": frame.height, "read_seconds": read, "seconds": total, "cpu_seconds": cpu,
            "counts": counts, "versions": version}  # fmt: skip


def _cpu() -> float:
    """CPU seconds of every thread of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


# -- Great Expectations ---------------------------------------------------------------------------


def trie_regex(strings: Iterable[str]) -> str:
    """A compact regular expression (RE2 / Rust / Python) matching exactly ``strings``.

    Example::

        >>> trie_regex(["310101", "310104", "310115"])
        '3101(?:0[14]|15)'
    """
    return _trie(sorted(set(strings)))


def _trie(words: list[str]) -> str:
    if words == [""]:
        return ""
    optional = "" in words
    heads: dict[str, list[str]] = {}
    for word in words:
        if word:
            heads.setdefault(word[0], []).append(word[1:])
    by_tail: dict[str, list[str]] = {}
    for head, tails in heads.items():
        by_tail.setdefault(_trie(tails), []).append(head)
    branches = [_char_class(chars) + tail for tail, chars in by_tail.items()]
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if optional:
        body = (body if len(branches) > 1 or len(body) == 1 else f"(?:{body})") + "?"
    return body


def _char_class(chars: list[str]) -> str:
    """``[0-35-7]``-style class of single characters (runs of three or more become ranges)."""
    if len(chars) == 1:
        return chars[0] if chars[0].isalnum() else "\\" + chars[0]
    codes = sorted(ord(c) for c in chars)
    runs: list[list[int]] = [[codes[0]]]
    for code in codes[1:]:
        if code == runs[-1][-1] + 1:
            runs[-1].append(code)
        else:
            runs.append([code])
    parts = [f"{chr(r[0])}-{chr(r[-1])}" if len(r) >= 3 else "".join(map(chr, r)) for r in runs]
    return "[" + "".join(parts) + "]"


# An ID the engine does not look at for its area code, birth date or sex: anything whose format
# fails (not 17 digits and a digit or X). Written without look-ahead, which RE2 lacks.
NOT_AN_ID = r"^(?s:.{0,17}|.{19,})$|^(?s:.{0,16})[^0-9]|^(?s:.{17})[^0-9X]"


def _or_not_an_id(valid: str) -> str:
    return f"^(?:{valid})$|{NOT_AN_ID}"


def area_regex() -> str:
    """The ID's first six digits are a known area code (or the ID's format fails)."""
    return _or_not_an_id(f"(?:{trie_regex(area_codes())})[0-9]{{11}}[0-9X]")


def birth_regex(today: dt.date) -> str:
    """Digits 7-14 are a calendar date from 1850-01-01 to ``today`` (or the ID's format fails)."""
    common = r"(?:0[1-9]|1[0-2])(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])(?:29|30)|(?:0[13578]|1[02])31"
    years = range(EARLIEST_BIRTH_YEAR, today.year)
    leap = [str(y) for y in years if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)]
    this_year = [
        (dt.date(today.year, 1, 1) + dt.timedelta(days=n)).strftime("%m%d")
        for n in range((today - dt.date(today.year, 1, 1)).days + 1)
    ]
    date = (
        f"(?:{trie_regex(str(y) for y in years)})(?:{common})|(?:{trie_regex(leap)})0229"
        f"|{today.year}(?:{trie_regex(this_year)})"
    )
    return _or_not_an_id(f"[0-9]{{6}}(?:{date})[0-9]{{3}}[0-9X]")


def parity_regex(odd: bool) -> str:
    return _or_not_an_id(f"[0-9]{{16}}[{'13579' if odd else '02468'}][0-9X]")


def _expectations() -> Any:
    """GX's expectation classes (the package re-exports them without ``__all__``)."""
    import great_expectations.expectations as module

    return module


def gx_expectations(rules: PeerRules, *, today: dt.date) -> list[tuple[str, Any]]:
    """``("RULE:column", expectation)`` pairs; a rule may take more than one expectation."""
    from great_expectations.expectations.row_conditions import Column as Where

    gxe = _expectations()

    out: list[tuple[str, Any]] = []
    for key in expressed("gx", rules):
        rule, column = key.split(":")
        binding = next((b for b in rules.bindings if b.name == column), None)
        if rule in ("REQUIRED", "COMPLETENESS"):
            out.append((key, gxe.ExpectColumnValuesToNotBeNull(column=column)))
        elif rule == "LENGTH" and binding is not None:
            out.append(
                (key, gxe.ExpectColumnValueLengthsToBeBetween(column=column, max_value=binding.length))
            )
        elif rule == "CODE_UNKNOWN" and binding is not None:
            out.append(
                (key, gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(_codes(binding.element))))
            )
        elif rule == "ID_FORMAT" or rule in PATTERNS.values():
            regex = ID_PATTERN if rule == "ID_FORMAT" else _pattern(rule)
            out.append((key, gxe.ExpectColumnValuesToMatchRegex(column=column, regex=regex)))
        elif rule == "ID_AREA_CODE":
            out.append((key, gxe.ExpectColumnValuesToMatchRegex(column=column, regex=area_regex())))
        elif rule == "ID_BIRTH_DATE":
            out.append((key, gxe.ExpectColumnValuesToMatchRegex(column=column, regex=birth_regex(today))))
        elif rule == "UNIQUE_KEY" and len(rules.key) == 1:
            out.append((key, gxe.ExpectColumnValuesToBeUnique(column=column)))
        elif rule == "DATE_RANGE":
            out.append(
                (key, gxe.ExpectColumnValuesToBeBetween(column=column, min_value=_midnight(EARLIEST),
                                                        max_value=_midnight(today)))
            )  # fmt: skip
        elif rule == "ID_SEX_MATCH":
            id_column = rules.roles["DE0101"]
            for code, odd in (("1", True), ("2", False)):
                out.append(
                    (key, gxe.ExpectColumnValuesToMatchRegex(column=id_column, regex=parity_regex(odd),
                                                             row_condition=Where(column) == code))
                )  # fmt: skip
        elif rule == "COORD_RANGE":
            x, y = rules.roles["DE0304"], rules.roles["DE0305"]
            (x0, x1), (y0, y1) = CITY_BOX["lon"], CITY_BOX["lat"]
            # rows with both values: lat outside, plus lat inside and lon outside
            out.append(
                (key, gxe.ExpectColumnValuesToBeBetween(column=y, min_value=y0, max_value=y1,
                                                        row_condition=Where(x) >= -1e300))
            )  # fmt: skip
            out.append(
                (key, gxe.ExpectColumnValuesToBeBetween(column=x, min_value=x0, max_value=x1,
                                                        row_condition=(Where(y) >= y0) & (Where(y) <= y1)))
            )  # fmt: skip
        else:
            raise AssertionError(f"no expectation for {key}")
    return out


def _midnight(day: dt.date) -> dt.datetime:
    """A date as a datetime: GX turns ISO strings into dates, which pandas will not compare with
    datetime64 values."""
    return dt.datetime(day.year, day.month, day.day)  # naive, as the column is


def run_gx(path: Path, rules: PeerRules, *, threads: int, today: dt.date) -> dict[str, Any]:
    """Read ``path`` with pandas and validate it with the suite; timings and counts.

    Importing great_expectations imports pyspark when it is installed, which then ends the
    process; the child that runs this hides pyspark first.
    """
    sys.modules["pyspark"] = None  # type: ignore[assignment]
    import great_expectations as gx
    import pyarrow as pa
    import pyarrow.parquet as pq
    from great_expectations.data_context.types.base import ProgressBarsConfig

    pa.set_cpu_count(threads)
    setup_started = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batches = context.data_sources.add_pandas("bench").add_dataframe_asset("person")
    definition = batches.add_batch_definition_whole_dataframe("all")
    suite = context.suites.add(gx.ExpectationSuite("audit"))
    keys = []
    for key, expectation in gx_expectations(rules, today=today):
        suite.add_expectation(expectation)
        keys.append((key, expectation))
    setup = time.perf_counter() - setup_started
    cpu, started = _cpu(), time.perf_counter()
    table = pq.read_table(path)
    for b in rules.bindings:
        if b.type == "D":  # as datetime64 in pandas (not datetime.date objects): GX compares those vectorised
            table = table.set_column(table.schema.get_field_index(b.name), b.name,
                                     table.column(b.name).cast(pa.timestamp("ns")))  # fmt: skip
    frame = table.to_pandas()
    read = time.perf_counter() - started
    result = definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        suite, result_format="BASIC"
    )
    counts = gx_counts(result, keys, rules)
    total, cpu = time.perf_counter() - started, _cpu() - cpu
    versions = {"great_expectations": gx.__version__, "pandas": _version("pandas")}
    return {"rows": len(frame), "read_seconds": read, "seconds": total, "cpu_seconds": cpu,
            "setup_seconds": setup, "counts": counts, "versions": versions}  # fmt: skip


def _gx_error(info: dict[str, Any]) -> str:
    """The first exception message in a result's exception info (flat, or keyed by metric)."""
    if "exception_message" in info:
        return str(info["exception_message"])
    nested = [v for v in info.values() if isinstance(v, dict) and v.get("exception_message")]
    return str(nested[0]["exception_message"]) if nested else str(info)


def gx_counts(result: Any, keys: Sequence[tuple[str, Any]], rules: PeerRules) -> dict[str, int]:
    """``unexpected_count`` summed per ``"RULE:column"`` (results matched to expectations by id)."""
    by_id = {expectation.id: key for key, expectation in keys}
    counts = {k: 0 for k in expressed("gx", rules)}
    for r in result.results:
        if "unexpected_count" not in r.result:
            raise RuntimeError(
                f"GX failed on {by_id[r.expectation_config.id]}: {_gx_error(r.exception_info)}"
            )
        counts[by_id[r.expectation_config.id]] += int(r.result["unexpected_count"])
    return counts
