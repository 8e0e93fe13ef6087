"""Dates and times (日期、日期时间) in the forms department systems write them, as SQL.

Accepted (after TEXT_CLEAN made digits half-width and trimmed):

* ISO ``2020-05-08`` and ``2025-12-15 16:37:41`` / ``2025-12-15T16:37:41`` — the fast path,
  recognised with ``LIKE '____-__-__'`` and cast directly;
* compact ``20200508`` (and ``20251215163741`` for date-times);
* ``2020年5月8日``, ``2020/5/8``, ``2020-5-8``, ``2020.5.8`` (one regular expression, only for
  values that missed the fast paths), optionally followed by a time ``16:37[:41[.123]]``;
* Excel serial numbers: five digits within a range (default 20000–80000, i.e. 1954–2119) counted
  from 1899-12-30 (the 1900 date system with Lotus' leap-year bug).

Impossible dates (2019年2月30日, 2020-13-45, 0000-00-00) and text (不详) become NULL: both engines'
``TRY_CAST`` reject them. Values outside the configured years become NULL too.
"""

from __future__ import annotations

from sqlglot import exp

from gongshu.cleanse import sqlx as q

DATE_FORM = r"^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?([ T].*)?$"
DATETIME_FORM = (
    r"^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?"
    r"([ T]([0-9]{1,2})[:时]([0-9]{1,2})([:分]([0-9]{1,2})(\.[0-9]+)?秒?)?)?$"
)
EXCEL_EPOCH = "1899-12-30"


def _iso(y: q.Expr, m: q.Expr, d: q.Expr) -> q.Expr:
    return q.concat(y, q.lit("-"), m, q.lit("-"), d)


def _compact_date(x: q.Expr) -> q.Expr:
    return _iso(q.substr(x, 1, 4), q.substr(x, 5, 2), q.substr(x, 7, 2))


def _serial(x: q.Expr, serials: tuple[int, int]) -> tuple[q.Expr, q.Expr]:
    """(condition, DATE) for an Excel serial number within ``serials``."""
    number = q.try_cast(x, "INTEGER")
    inside = exp.Between(this=number, low=q.lit(serials[0]), high=q.lit(serials[1]))
    return q.and_(q.regex_match(x, "^[0-9]{5}$"), inside), exp.Add(
        this=q.cast(q.lit(EXCEL_EPOCH), "DATE"), expression=number
    )


def _form_date(x: q.Expr, pattern: str) -> q.Expr:
    y, m, d = (q.regex_extract(x, pattern, g) for g in (1, 2, 3))
    return _iso(y, q.lpad(m, 2), q.lpad(d, 2))


def parse_date(x: q.Expr, serials: tuple[int, int]) -> q.Expr:
    """A DATE from any supported form, NULL when the text is not a calendar date."""
    serial_test, serial_date = _serial(x, serials)
    return q.case(
        [
            (exp.Like(this=x, expression=q.lit("____-__-__")), q.try_cast(x, "DATE")),
            (q.regex_match(x, "^[0-9]{8}$"), q.try_cast(_compact_date(x), "DATE")),
            (serial_test, serial_date),
        ],
        q.try_cast(_form_date(x, DATE_FORM), "DATE"),
    )


def parse_timestamp(x: q.Expr, serials: tuple[int, int]) -> q.Expr:
    """A TIMESTAMP (no time zone) from any supported form; a date alone means midnight."""
    serial_test, serial_date = _serial(x, serials)
    g = [q.regex_extract(x, DATETIME_FORM, i) for i in range(10)]
    clock = q.concat(q.lpad(g[5], 2), q.lit(":"), q.lpad(g[6], 2), q.lit(":"), q.lpad(g[8], 2), g[9])
    compact = q.concat(
        _compact_date(x),
        q.lit(" "),
        q.substr(x, 9, 2),
        q.lit(":"),
        q.substr(x, 11, 2),
        q.lit(":"),
        q.substr(x, 13, 2),
    )
    return q.case(
        [
            (exp.Like(this=x, expression=q.lit("____-__-__ __:__:__")), q.try_cast(x, "TIMESTAMP")),
            (exp.Like(this=x, expression=q.lit("____-__-__")), q.try_cast(x, "TIMESTAMP")),
            (q.regex_match(x, "^[0-9]{14}$"), q.try_cast(compact, "TIMESTAMP")),
            (q.regex_match(x, "^[0-9]{8}$"), q.try_cast(_compact_date(x), "TIMESTAMP")),
            (serial_test, q.cast(serial_date, "TIMESTAMP")),
        ],
        q.try_cast(q.concat(_iso(g[1], q.lpad(g[2], 2), q.lpad(g[3], 2)), q.lit(" "), clock), "TIMESTAMP"),
    )


def within_years(x: q.Expr, years: tuple[int, int], *, timestamp: bool) -> q.Expr:
    """``x`` when it falls within the years (inclusive), else NULL."""
    kind = "TIMESTAMP" if timestamp else "DATE"
    low = q.cast(q.lit(f"{years[0]:04d}-01-01"), kind)
    high = q.cast(q.lit(f"{years[1]:04d}-12-31" + (" 23:59:59.999999" if timestamp else "")), kind)
    return q.case([(exp.Between(this=x, low=low, high=high), x)])
