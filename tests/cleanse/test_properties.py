"""Property tests of the validators and parsers, run through DuckDB on small generated tables.

Oracles: python-stdnum's ``cn.ric`` (身份证号) and ``cn.uscc`` (统一社会信用代码) where they are
right, and independent implementations below. python-stdnum 2.2 has no VIN module, and its
``cn.uscc`` requires the first eight characters to be digits, so it rejects valid codes whose
registration authority is a letter (A 军队, N 农业, Y 其他): the tests assert that our check accepts
exactly those valid codes stdnum rejects.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from gongshu.cleanse import ColumnBinding
from gongshu.cleanse.reference import area_codes
from tests.cleanse.conftest import run_one

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(
        zip(
            "ABCDEFGHJKLMNPRSTUVWXYZ",
            [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9],
            strict=True,
        )
    ),
}
VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]

ID = ColumnBinding("id", "id", "DE0101", "C", 18)
USCC = ColumnBinding("uscc", "uscc", "DE0201", "C", 18)
VIN = ColumnBinding("vin", "vin", "DE0402", "C", 17)
PHONE = ColumnBinding("phone", "phone", "DE0106", "C", 11)
DATE = ColumnBinding("d", "d", "DE0901", "D")


def id_check(body17: str) -> str:
    return "10X98765432"[sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(body17)) % 11]


def uscc_check(body17: str) -> str:
    total = sum(USCC_CHARS.index(c) * pow(3, i, 31) for i, c in enumerate(body17))
    return USCC_CHARS[-total % 31]


def vin_with_check(vin: str) -> str:
    total = sum(VIN_VALUES[c] * w for c, w in zip(vin, VIN_WEIGHTS, strict=True)) % 11
    return vin[:8] + ("X" if total == 10 else str(total)) + vin[9:]


def flags(row: dict[str, object], column: str) -> set[str]:
    return {k.split("__")[1] for k, v in row.items() if v is True and k.startswith(column + "__")}


dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2024, 12, 31))
ids = st.builds(
    lambda area, day, order: f"{area}{day:%Y%m%d}{order:03d}",
    st.sampled_from(area_codes()),
    dates,
    st.integers(0, 999),
).map(lambda body: body + id_check(body))


@SETTINGS
@given(st.lists(ids, min_size=1, max_size=30))
def test_valid_id_numbers_pass_and_agree_with_stdnum(numbers: list[str]) -> None:
    rows = run_one(ID, numbers)
    for number, row in zip(numbers, rows, strict=True):
        assert row["id"] == number and flags(row, "id") == set()
        assert ric.calc_check_digit(number) == number[17]


@SETTINGS
@given(st.lists(st.tuples(ids, st.integers(1, 10)), min_size=1, max_size=30))
def test_any_wrong_id_check_character_fails(cases: list[tuple[str, int]]) -> None:
    wrong = ["0123456789X"[("0123456789X".index(n[17]) + k) % 11] for n, k in cases]
    numbers = [n[:17] + w for (n, _), w in zip(cases, wrong, strict=True)]
    for number, row in zip(numbers, run_one(ID, numbers), strict=True):
        assert flags(row, "id") == {"ID_CHECK"}
        assert not ric.is_valid(number)


@SETTINGS
@given(st.lists(ids.filter(lambda n: "1900" <= n[6:10] <= "1999"), min_size=1, max_size=30))
def test_legacy_15_digit_numbers_upgrade_to_18(numbers: list[str]) -> None:
    legacy = [n[:6] + n[8:17] for n in numbers]
    rows = run_one(ID, legacy)
    assert [r["id"] for r in rows] == numbers


@SETTINGS
@given(
    st.lists(
        st.tuples(ids, st.sampled_from(["0230", "0431", "1301", "0000", "0632", "1100"])),
        min_size=1,
        max_size=30,
    )
)
def test_impossible_birth_dates_fail(cases: list[tuple[str, str]]) -> None:
    bodies = [n[:10] + mmdd + n[14:17] for n, mmdd in cases]
    numbers = [b + id_check(b) for b in bodies]
    for row in run_one(ID, numbers):
        assert flags(row, "id") == {"ID_BIRTH_DATE"}


@SETTINGS
@given(st.lists(st.tuples(ids, st.sampled_from(["39", "58", "00", "10", "99"])), min_size=1, max_size=30))
def test_unknown_provinces_fail_the_area_code_check(cases: list[tuple[str, str]]) -> None:
    bodies = [province + n[2:17] for n, province in cases]
    numbers = [b + id_check(b) for b in bodies]
    for number, row in zip(numbers, run_one(ID, numbers), strict=True):
        assert flags(row, "id") == {"ID_AREA_CODE"}
        assert not ric.is_valid(number)


usccs = st.builds(
    lambda auth, cat, division, org: auth + cat + division + org,
    st.sampled_from("123456789ANY"),
    st.sampled_from("123"),
    st.sampled_from(["310000", "310101", "310115", "110105"]),
    st.text(USCC_CHARS, min_size=9, max_size=9),
).map(lambda body: body + uscc_check(body))


@SETTINGS
@given(st.lists(usccs, min_size=1, max_size=30))
def test_valid_usccs_pass_including_the_letter_initial_ones_stdnum_rejects(codes: list[str]) -> None:
    for code, row in zip(codes, run_one(USCC, [c.lower() for c in codes]), strict=True):
        assert row["uscc"] == code and flags(row, "uscc") == set()
        assert uscc.is_valid(code) == code[0].isdigit()


@SETTINGS
@given(st.lists(st.tuples(usccs, st.integers(1, 30)), min_size=1, max_size=30))
def test_any_wrong_uscc_check_character_fails(cases: list[tuple[str, int]]) -> None:
    codes = [c[:17] + USCC_CHARS[(USCC_CHARS.index(c[17]) + k) % 31] for c, k in cases]
    for code, row in zip(codes, run_one(USCC, codes), strict=True):
        assert flags(row, "uscc") == {"USCC_CHECK"}
        if code[:8].isdigit():
            assert not uscc.is_valid(code)


vins = st.text(VIN_CHARS, min_size=17, max_size=17).map(vin_with_check)


@SETTINGS
@given(st.lists(st.tuples(vins, st.integers(1, 10)), min_size=1, max_size=30))
def test_valid_vins_pass_and_a_wrong_check_digit_fails(cases: list[tuple[str, int]]) -> None:
    good = [v for v, _ in cases]
    bad = [v[:8] + "0123456789X"[("0123456789X".index(v[8]) + k) % 11] + v[9:] for v, k in cases]
    rows = run_one(VIN, good + bad)
    assert [flags(r, "vin") for r in rows] == [set()] * len(good) + [{"VIN_CHECK"}] * len(bad)


mobiles = st.builds(lambda p, rest: f"1{p}{rest:09d}", st.sampled_from("3456789"), st.integers(0, 10**9 - 1))
DRESSES = {
    "plain": lambda m: m,
    "plus86": lambda m: f"+86 {m}",
    "86": lambda m: f"86{m}",
    "spaces": lambda m: f" {m[:3]} {m[3:7]} {m[7:]}",
    "dashes": lambda m: f"{m[:3]}-{m[3:7]}-{m[7:]}",
    "fullwidth": lambda m: m.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
}


@SETTINGS
@given(st.lists(st.tuples(mobiles, st.sampled_from(sorted(DRESSES))), min_size=1, max_size=30))
def test_mobile_numbers_in_any_dress_standardise(cases: list[tuple[str, str]]) -> None:
    raw = [DRESSES[dress](number) for number, dress in cases]
    for (number, _), row in zip(cases, run_one(PHONE, raw), strict=True):
        assert row["phone"] == number and flags(row, "phone") == set()


@SETTINGS
@given(
    st.lists(
        st.one_of(
            mobiles.map(lambda m: m[:10]), mobiles.map(lambda m: m + "8"), mobiles.map(lambda m: "12" + m[2:])
        ),
        min_size=1,
        max_size=30,
    )
)
def test_malformed_mobile_numbers_fail(numbers: list[str]) -> None:
    for row in run_one(PHONE, numbers):
        assert flags(row, "phone") == {"PHONE_FORMAT"}


FORMS = {
    "iso": lambda d: d.isoformat(),
    "cn": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "cn_padded": lambda d: f"{d:%Y}年{d:%m}月{d:%d}日",
    "slash": lambda d: f"{d.year}/{d.month}/{d.day}",
    "dash": lambda d: f"{d.year}-{d.month}-{d.day}",
    "dot": lambda d: f"{d.year}.{d.month}.{d.day}",
    "compact": lambda d: f"{d:%Y%m%d}",
    "serial": lambda d: str((d - dt.date(1899, 12, 30)).days),
    "fullwidth": lambda d: d.isoformat().translate(str.maketrans("0123456789-", "０１２３４５６７８９－")),
    "datetime": lambda d: f"{d.isoformat()} 08:30:00",
}


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.dates(min_value=dt.date(1955, 1, 1), max_value=dt.date(2099, 12, 31)),
            st.sampled_from(sorted(FORMS)),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_every_date_form_parses(cases: list[tuple[dt.date, str]]) -> None:
    raw = [FORMS[form](day) for day, form in cases]
    for (day, _), row in zip(cases, run_one(DATE, raw), strict=True):
        assert row["d"] == day and flags(row, "d") == set()


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(1900, 2099), st.integers(1, 12), st.integers(29, 40)), min_size=1, max_size=30
    )
)
def test_impossible_dates_are_null_and_fail(cases: list[tuple[int, int, int]]) -> None:
    raw = [f"{y}年{m}月{d}日" for y, m, d in cases]
    for (y, m, d), row in zip(cases, run_one(DATE, raw), strict=True):
        try:
            expected: dt.date | None = dt.date(y, m, d)
        except ValueError:
            expected = None
        assert row["d"] == expected
        assert flags(row, "d") == (set() if expected else {"DATE_PARSE"})


@SETTINGS
@given(
    st.lists(
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12),
        min_size=1,
        max_size=30,
    )
)
def test_full_width_and_odd_spaces_clean_to_the_ascii_text(texts: list[str]) -> None:
    key = ColumnBinding("k", "k", "DE0906", "C", 64)
    wide = ["\u3000" + "".join(chr(ord(c) + 0xFEE0) for c in t) + " \t" for t in texts]
    assert [r["k"] for r in run_one(key, wide)] == texts


@SETTINGS
@given(
    st.lists(
        st.sampled_from(["0", "1", "2", "9", "3", "5", "男", "女", "M", "F", "m", "f", "男性", "女性"]),
        min_size=1,
        max_size=30,
    )
)
def test_sex_codes_and_synonyms(values: list[str]) -> None:
    strict = ColumnBinding("s", "s", "DE0103", "C", 1)
    words = ColumnBinding("s", "s", "DE0103", "C", 1, rules=("+CODE_SYNONYMS",))
    synonyms = {"男": "1", "男性": "1", "M": "1", "m": "1", "女": "2", "女性": "2", "F": "2", "f": "2"}
    for value, a, b in zip(values, run_one(strict, values), run_one(words, values), strict=True):
        known = value in ("0", "1", "2", "9")
        assert flags(a, "s") == (set() if known else {"CODE_UNKNOWN"})
        expected = synonyms.get(value, value)
        assert b["s"] == expected
        assert flags(b, "s") == (set() if expected in ("0", "1", "2", "9") else {"CODE_UNKNOWN"})
