"""The audit benchmark's table: a standardised person register (标准库 实有人口) with planted defects.

:func:`write_person_table` writes N typed rows to Parquet, chunk by chunk (one row group per
chunk), with numpy and pyarrow only: no Python runs per row, and 10,000,000 rows stay within a few
hundred MB. Each row carries at most one planted defect (about 0.5 % of rows per kind, see
:data:`DEFECTS`), and about 0.25 % of rows are exact copies of clean rows (a duplicated key), so the
number of failures of every audit rule is known exactly: :attr:`PersonTable.truth`, keyed
``"RULE_ID:column"`` as the audit engine reports its results.

Clean rows pass every rule: 身份证号 are unique by construction (a bijection from the row number
onto area code × birth date × order code), use real area codes of the synthetic city (Shanghai's
and migrants'), a 17th digit whose parity is the sex and a GB 11643 check character; the birth date
equals the ID's; codes come from the data elements' code sets; the address names the district of
``district_code`` and the coordinates lie well inside that district (nearest to its centre) and
inside the city's bounding box.

Example::

    >>> table = write_person_table(Path("/tmp/person.parquet"), rows=1_000_000)   # doctest: +SKIP
    >>> table.truth["ID_CHECK:id_number"]                                          # doctest: +SKIP
    4987
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gongshu.city import ids
from gongshu.city.reference import reference
from gongshu.city.text import join, take
from gongshu.cleanse import ColumnBinding
from gongshu.cleanse.reference import area_codes, districts
from gongshu.errors import ValidationFailed

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
U8 = npt.NDArray[np.uint8]

DEFAULT_SEED = 20260101
CHUNK = 500_000
RATE = 0.005
DUPLICATE_RATE = 0.0025  # copies of clean rows; a copy and its original both fail UNIQUE_KEY
DEFECTS = (
    "id_null",
    "name_null",
    "sex_null",
    "birth_null",
    "address_null",
    "id_format",
    "id_check",
    "id_area",
    "id_birth",
    "birth_mismatch",
    "sex_mismatch",
    "ethnic_unknown",
    "marital_unknown",
    "education_unknown",
    "district_unknown",
    "mobile_bad",
    "postcode_bad",
    "email_bad",
    "address_long",
    "birth_future",
    "birth_ancient",
    "coord_outside",
)
KIND = {name: i + 1 for i, name in enumerate(DEFECTS)}  # 0: a clean row
NULL_DEFECTS = {"id_number": "id_null", "name": "name_null", "sex": "sex_null", "birth_date": "birth_null",
                "address": "address_null"}  # fmt: skip
UNKNOWN_DEFECTS = {"ethnic": "ethnic_unknown", "marital_status": "marital_unknown",
                   "education": "education_unknown", "district_code": "district_unknown"}  # fmt: skip
FIRST_BIRTH = int(np.datetime64("1925-01-01", "D").astype(np.int64))
LAST_BIRTH = int(np.datetime64("2025-12-31", "D").astype(np.int64))
BIRTH_DAYS = LAST_BIRTH - FIRST_BIRTH + 1
ORDER_HALVES = 500  # order codes 000-999: half-code x 2 + (1 for men)
MIXER = 2_654_435_761  # odd, prime: row number x MIXER mod M is a bijection when coprime to M
REGISTERED = (int(np.datetime64("2010-01-01T00:00:00", "s").astype(np.int64)), 16 * 365 * 86_400)
NAME_LENGTH, ADDRESS_LENGTH, EMAIL_LENGTH = 50, 200, 100
ETHNIC_MINOR = ("03", "11", "02", "10", "15", "06", "08", "04", "05", "12")
MARITAL = (("10", 0.30), ("20", 0.52), ("21", 0.05), ("22", 0.03), ("23", 0.01), ("30", 0.04),
           ("40", 0.04), ("90", 0.01))  # fmt: skip
EDUCATION = (("10", 0.05), ("20", 0.22), ("30", 0.15), ("40", 0.08), ("60", 0.15), ("70", 0.20),
             ("80", 0.12), ("90", 0.03))  # fmt: skip
UNKNOWN_CODES = {
    "ethnic": ("00", "57", "97", "98"),
    "marital_status": ("50", "60", "99"),
    "education": ("00", "50", "11"),
    "district_code": ("310199", "310230", "310225"),  # 崇明县 and 南汇县: former, not current districts
}
UNKNOWN_PROVINCES = (39, 48, 55, 58, 72, 96, 99)  # no province has these codes
DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "outlook.com", "sh.gov.cn")
NULL_RATES = {"ethnic": 0.01, "marital_status": 0.01, "education": 0.02, "mobile": 0.03}
EMAIL_SHARE = 0.3
LONG_NOTE = "（备注：该地址由多处历史门牌合并登记，原门牌号及变更记录详见户籍档案）" * 7


def person_bindings() -> tuple[ColumnBinding, ...]:
    """The table's 信息项 bound to their data elements (the standard zone's names and types)."""
    b = ColumnBinding
    return (
        b("id_number", "id_number", "DE0101", "C", 18, required=True),
        b("name", "name", "DE0102", "C", NAME_LENGTH, required=True),
        b("sex", "sex", "DE0103", "C", 1, required=True),
        b("birth_date", "birth_date", "DE0104", "D", 8, required=True),
        b("ethnic", "ethnic", "DE0105", "C", 2),
        b("marital_status", "marital_status", "DE0109", "C", 2),
        b("education", "education", "DE0110", "C", 2),
        b("mobile", "mobile", "DE0106", "C", 11),
        b("address", "address", "DE0301", "C", ADDRESS_LENGTH, required=True),
        b("district_code", "district_code", "DE0302", "C", 6),
        b("postcode", "postcode", "DE0303", "C", 6),
        b("email", "email", "DE0108", "C", EMAIL_LENGTH),
        b("lon", "lon", "DE0304", "N", 12),
        b("lat", "lat", "DE0305", "N", 12),
        b("registered_at", "registered_at", "DE0902", "T", 14),
    )


SCHEMA = pa.schema(
    [
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("sex", pa.string()),
        ("birth_date", pa.date32()),
        ("ethnic", pa.string()),
        ("marital_status", pa.string()),
        ("education", pa.string()),
        ("mobile", pa.string()),
        ("address", pa.string()),
        ("district_code", pa.string()),
        ("postcode", pa.string()),
        ("email", pa.string()),
        ("lon", pa.float64()),
        ("lat", pa.float64()),
        ("registered_at", pa.timestamp("us")),
    ]
)


@dataclass
class PersonTable:
    """What :func:`write_person_table` wrote: rows, planted defects and the true failure counts."""

    path: Path
    rows: int
    seconds: float
    bytes: int
    defects: dict[str, int] = field(default_factory=dict)
    truth: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Places:
    """Districts (the cleansing rules' codes and centres), their roads, postcodes and area codes."""

    codes: pa.Array
    names: pa.Array
    postcodes: pa.Array
    weight: F64
    lon: F64
    lat: F64
    radius: F64
    roads: pa.Array
    road_start: I64
    road_count: I64
    area: I64
    unknown_area: I64


@cache
def _places() -> _Places:
    ref, table = reference(), districts()
    by_code = {int(c): i for i, c in enumerate(ref.district_code)}
    order = np.array([by_code[int(d.code)] for d in table.items], dtype=np.int64)
    lon = np.array([d.lon for d in table.items], dtype=np.float64)
    lat = np.array([d.lat for d in table.items], dtype=np.float64)
    gap = np.hypot(lon[:, None] - lon[None, :], lat[:, None] - lat[None, :])
    np.fill_diagonal(gap, np.inf)
    # half of the city's district discs: well inside the district's Voronoi cell and the city's box
    radius = np.minimum(gap.min(axis=1) * 0.45, 0.08) * 0.5
    roads = [ref.roads[int(i)] for i in order]
    counts = np.array([len(r) for r in roads], dtype=np.int64)
    known = {int(c) for c in area_codes()}
    area = np.array(sorted({int(c) for c in ref.areas.code} & known), dtype=np.int64)
    unknown = np.array(
        [UNKNOWN_PROVINCES[i % len(UNKNOWN_PROVINCES)] * 10_000 + 100 + i // len(UNKNOWN_PROVINCES)
         for i in range(len(area))],
        dtype=np.int64,
    )  # fmt: skip
    if known & {int(u) for u in unknown}:
        raise AssertionError("an 'unknown' area code is a known one")
    return _Places(
        codes=pa.array(table.codes),
        names=pa.array([d.name for d in table.items]),
        postcodes=ref.district_postcode.take(pa.array(order)),
        weight=np.asarray(ref.district_weight[order], dtype=np.float64),
        lon=lon,
        lat=lat,
        radius=radius,
        roads=pa.concat_arrays(roads),
        road_start=np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64),
        road_count=counts,
        area=area,
        unknown_area=unknown,
    )


def write_person_table(path: Path, *, rows: int, seed: int = DEFAULT_SEED, chunk: int = CHUNK) -> PersonTable:
    """Write ``rows`` rows (duplicates included) to the Parquet file ``path``; return the truth."""
    if not isinstance(rows, int) or rows < 1:
        raise ValidationFailed({"rows": [f"must be a positive integer, got {rows!r}"]})
    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    defects: Counter[str] = Counter()
    truth: Counter[str] = Counter()
    base = 0
    with pq.ParquetWriter(path, SCHEMA) as writer:
        for c, start in enumerate(range(0, rows, chunk)):
            n = min(chunk, rows - start)
            table, planted, counted, base_rows = _chunk(seed, c, n, base)
            base += base_rows
            writer.write_table(table, row_group_size=n)
            defects.update(planted)
            truth.update(counted)
    return PersonTable(
        path, rows, time.perf_counter() - started, path.stat().st_size, dict(defects), _ordered(truth)
    )


def _ordered(truth: Counter[str]) -> dict[str, int]:
    return {key: int(truth[key]) for key in sorted(truth)}


# -- one chunk ------------------------------------------------------------------------------------


@dataclass
class _Rows:
    """The base rows of a chunk while they are built: arrays by column, defect kind per row."""

    rng: np.random.Generator
    kind: I64
    gid: I64

    def has(self, name: str) -> Mask:
        return np.asarray(self.kind == KIND[name])

    def pick(self, name: str, choices: int) -> tuple[I64, I64]:
        """Rows planted with defect ``name`` and a variant number in ``[0, choices)`` for each."""
        rows = np.flatnonzero(self.kind == KIND[name])
        return rows, self.rng.integers(0, choices, len(rows))


def _chunk(seed: int, chunk: int, n: int, base: int) -> tuple[pa.Table, Counter[str], Counter[str], int]:
    rng = np.random.default_rng([seed, chunk])
    copies = int(n * DUPLICATE_RATE)
    size = n - copies
    u = rng.random(size)
    kind = np.where(u < RATE * len(DEFECTS), (u / RATE).astype(np.int64) + 1, 0)
    rows = _Rows(rng, kind, np.arange(base, base + size, dtype=np.int64))
    columns, truth = _columns(rows)
    table = pa.Table.from_arrays([columns[f.name] for f in SCHEMA], schema=SCHEMA)
    sources = np.sort(rng.choice(np.flatnonzero(kind == 0), copies, replace=False))
    table = pa.concat_tables([table, table.take(pa.array(sources))])
    planted = Counter({name: int(np.count_nonzero(kind == KIND[name])) for name in DEFECTS})
    planted["duplicate_copy"] = copies
    truth["UNIQUE_KEY:id_number"] += 2 * copies
    for name in ("ethnic", "marital_status", "education", "mobile", "district_code", "postcode", "email",
                 "lon", "lat", "registered_at"):  # fmt: skip
        truth[f"COMPLETENESS:{name}"] += table.column(name).null_count
    return table, planted, truth, size


def _columns(rows: _Rows) -> tuple[dict[str, pa.Array], Counter[str]]:
    places = _places()
    truth: Counter[str] = Counter()
    sex = np.where(rows.rng.random(len(rows.kind)) < 0.505, 1, 2).astype(np.int64)
    district = _choose(rows.rng, len(rows.kind), places.weight)
    birth, id_number = _identity(rows, sex, truth)
    lon, lat = _coordinates(rows, district, truth)
    columns: dict[str, pa.Array] = {
        "id_number": id_number,
        "name": _names(rows, sex),
        "sex": _sex(rows, sex),
        "birth_date": _birth_dates(rows, birth),
        "ethnic": _codes(rows, "ethnic", _ethnic(rows)),
        "marital_status": _codes(rows, "marital_status", _weighted(rows.rng, len(rows.kind), MARITAL)),
        "education": _codes(rows, "education", _weighted(rows.rng, len(rows.kind), EDUCATION)),
        "mobile": _mobiles(rows),
        "address": _addresses(rows, district),
        "district_code": _district_codes(rows, district),
        "postcode": _postcodes(rows, district),
        "email": _emails(rows),
        "lon": pa.array(lon, type=pa.float64()),
        "lat": pa.array(lat, type=pa.float64()),
        "registered_at": _registered(rows),
    }
    _count(rows, truth)
    return columns, truth


def _count(rows: _Rows, truth: Counter[str]) -> None:
    """The failures planted one kind per row (the ID, birth-date and coordinate ones are counted
    where they are built, because some of them fail more than one rule)."""
    n = {name: int(np.count_nonzero(rows.kind == KIND[name])) for name in DEFECTS}
    for column, defect in NULL_DEFECTS.items():
        truth[f"REQUIRED:{column}"] += n[defect]
    truth["ID_FORMAT:id_number"] += n["id_format"]
    truth["ID_AREA_CODE:id_number"] += n["id_area"]
    truth["ID_BIRTH_DATE:id_number"] += n["id_birth"]
    truth["ID_CHECK:id_number"] += n["id_check"]
    truth["ID_SEX_MATCH:sex"] += n["sex_mismatch"]
    for column, defect in UNKNOWN_DEFECTS.items():
        truth[f"CODE_UNKNOWN:{column}"] += n[defect]
    truth["CODE_UNKNOWN:sex"] += 0
    truth["PHONE_FORMAT:mobile"] += n["mobile_bad"]
    truth["POSTCODE_FORMAT:postcode"] += n["postcode_bad"]
    truth["EMAIL_FORMAT:email"] += n["email_bad"]
    truth["LENGTH:address"] += n["address_long"]
    truth["LENGTH:name"] += 0
    truth["LENGTH:email"] += 0
    truth["ADDRESS_DISTRICT:address"] += n["district_unknown"]
    truth["DATE_RANGE:birth_date"] += n["birth_future"] + n["birth_ancient"]
    truth["ID_BIRTH_MATCH:birth_date"] += n["birth_mismatch"] + n["birth_future"] + n["birth_ancient"]
    truth["COORD_RANGE:lon"] += n["coord_outside"]
    for column, rule in (("birth_date", "DATE_PARSE"), ("registered_at", "DATE_PARSE"),
                         ("lon", "NUMBER_PARSE"), ("lat", "NUMBER_PARSE")):  # fmt: skip
        truth[f"{rule}:{column}"] += 0  # typed input: nothing left unparsed


def _choose(rng: np.random.Generator, n: int, weights: F64) -> I64:
    return np.asarray(rng.choice(len(weights), size=n, p=weights / weights.sum()), dtype=np.int64)


def _weighted(rng: np.random.Generator, n: int, codes: tuple[tuple[str, float], ...]) -> pa.Array:
    index = _choose(rng, n, np.array([w for _, w in codes], dtype=np.float64))
    return take(pa.array([c for c, _ in codes]), index)


def _nulls(values: pa.Array, mask: Mask) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def _put(values: pa.Array, rows: I64, new: pa.Array) -> pa.Array:
    """``values`` with ``values[rows] = new`` (rows ascending)."""
    if len(rows) == 0:
        return values
    index = np.arange(len(values), dtype=np.int64)
    index[rows] = len(values) + np.arange(len(rows))
    return pa.concat_arrays([values, new.cast(values.type)]).take(pa.array(index))


# -- 身份证号 and birth dates -----------------------------------------------------------------------


def _identity(rows: _Rows, sex: I64, truth: Counter[str]) -> tuple[I64, pa.Array]:
    """Birth days and 身份证号 (with the ID defects planted)."""
    places = _places()
    areas = len(places.area)
    modulus = areas * BIRTH_DAYS * ORDER_HALVES
    if np.gcd(MIXER, modulus) != 1 or int(rows.gid[-1]) >= modulus:
        raise AssertionError("the row → ID mapping is not a bijection")
    mixed = (rows.gid * MIXER + 12_345) % modulus
    area = mixed % areas
    birth = FIRST_BIRTH + (mixed // areas) % BIRTH_DAYS
    order = (mixed // (areas * BIRTH_DAYS)) * 2 + (sex == 1)
    body = np.hstack([ids.digits(places.area[area], 6), ids.digits(ids.ymd(birth), 8), ids.digits(order, 3)])
    check = ids.id_check_chars(body)
    wrong, _ = rows.pick("id_check", 1)
    check[wrong] = _wrong_check(check[wrong], rows.rng)
    bad_area, _ = rows.pick("id_area", 1)
    body[bad_area, :6] = ids.digits(places.unknown_area[area[bad_area]], 6)
    check[bad_area] = ids.id_check_chars(body[bad_area])
    _plant_birth(rows, body, check, truth)
    matrix = np.hstack([body, check])
    text = ids.to_strings(matrix)
    malformed, variant = rows.pick("id_format", 2)
    typo = matrix[malformed].copy()
    typo[:, 9] = ord("O")  # the letter O for a zero, a common typing slip
    doubled = np.hstack([matrix[malformed, :12], matrix[malformed, 11:]])  # a digit typed twice: 19
    text = _put(
        text, malformed, pc.if_else(pa.array(variant == 0), ids.to_strings(typo), ids.to_strings(doubled))
    )
    return birth, _nulls(text, rows.has("id_null"))


def _wrong_check(right: U8, rng: np.random.Generator) -> U8:
    """A check character other than ``right`` (an (n, 1) ASCII column) for every row."""
    position = np.zeros(128, dtype=np.int64)
    position[np.frombuffer(b"0123456789X", dtype=np.uint8)] = np.arange(11)
    shifted = (position[right[:, 0]] + rng.integers(1, 11, len(right))) % 11
    return ids.letters("0123456789X", shifted)


def _plant_birth(rows: _Rows, body: U8, check: U8, truth: Counter[str]) -> None:
    """Impossible birth dates inside the ID: month + 20, day + 40, or a century ahead (future)."""
    planted, variant = rows.pick("id_birth", 3)
    if len(planted) == 0:
        return
    date = _value(body[planted, 6:14])
    year, month, day = date // 10_000, date // 100 % 100, date % 100
    month = np.where(variant == 0, month + 20, month)
    day = np.where(variant == 1, day + 40, day)
    year = np.where(variant == 2, year + 112, year)
    body[planted, 6:14] = ids.digits(year * 10_000 + month * 100 + day, 8)
    check[planted] = ids.id_check_chars(body[planted])
    # a future date that is still a calendar date makes the ID "valid" for ID_BIRTH_MATCH, which
    # then sees a birth date different from the ID's
    truth["ID_BIRTH_MATCH:birth_date"] += int(np.count_nonzero(_calendar_date(year, month, day)))


def _value(matrix: U8) -> I64:
    """The integer an ASCII digit matrix spells, row by row."""
    out = np.zeros(len(matrix), dtype=np.int64)
    for k in range(matrix.shape[1]):
        out = out * 10 + (matrix[:, k].astype(np.int64) - 48)
    return out


def _calendar_date(year: I64, month: I64, day: I64) -> Mask:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    lengths = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    valid_month = (month >= 1) & (month <= 12)
    days = np.where(valid_month, lengths[np.clip(month, 0, 12)], 0) + ((month == 2) & leap)
    return np.asarray(valid_month & (day >= 1) & (day <= days))


def _birth_dates(rows: _Rows, birth: I64) -> pa.Array:
    days = birth.copy()
    shifted, _ = rows.pick("birth_mismatch", 1)
    days[shifted] -= rows.rng.integers(1, 366, len(shifted))
    future, _ = rows.pick("birth_future", 1)
    days[future] = int(np.datetime64("2030-01-01", "D").astype(np.int64)) + rows.rng.integers(
        0, 3650, len(future)
    )
    ancient, _ = rows.pick("birth_ancient", 1)
    days[ancient] = int(np.datetime64("1800-01-01", "D").astype(np.int64)) + rows.rng.integers(
        0, 36_500, len(ancient)
    )
    values = pa.array(days.astype(np.int32), type=pa.int32()).cast(pa.date32())
    return _nulls(values, rows.has("birth_null"))


def _sex(rows: _Rows, sex: I64) -> pa.Array:
    shown = np.where(rows.has("sex_mismatch"), 3 - sex, sex)
    return _nulls(take(pa.array(["", "1", "2"]), shown), rows.has("sex_null"))


# -- names, codes, contacts ------------------------------------------------------------------------


def _names(rows: _Rows, sex: I64) -> pa.Array:
    ref, n = reference(), len(rows.kind)
    surname = _choose(rows.rng, n, np.asarray(ref.surname_weight, dtype=np.float64))
    offset = np.where(sex == 1, 0, ref.female_offset)
    size = np.where(sex == 1, ref.male_base, ref.female_base)
    first = offset + (rows.rng.random(n) * size).astype(np.int64)
    second = offset + (rows.rng.random(n) * size).astype(np.int64)
    chars = pa.concat_arrays([ref.given_chars, pa.array([""])])
    second = np.where(rows.rng.random(n) < 0.3, len(chars) - 1, second)
    name = join(take(ref.surnames, surname), take(chars, first), take(chars, second))
    return _nulls(name, rows.has("name_null"))


def _ethnic(rows: _Rows) -> pa.Array:
    n = len(rows.kind)
    minor = rows.rng.integers(0, len(ETHNIC_MINOR), n) + 1
    index = np.where(rows.rng.random(n) < 0.985, 0, minor)
    return take(pa.array(["01", *ETHNIC_MINOR]), index)


def _codes(rows: _Rows, column: str, values: pa.Array) -> pa.Array:
    unknown = UNKNOWN_CODES[column]
    planted, variant = rows.pick(UNKNOWN_DEFECTS[column], len(unknown))
    values = _put(values, planted, take(pa.array(unknown), variant))
    missing = (rows.rng.random(len(rows.kind)) < NULL_RATES[column]) & (rows.kind == 0)
    return _nulls(values, missing)


def _mobiles(rows: _Rows) -> pa.Array:
    n = len(rows.kind)
    prefixes = reference().mobile_prefixes
    number = prefixes[rows.rng.integers(0, len(prefixes), n)] * 10**8 + rows.rng.integers(0, 10**8, n)
    values = ids.to_strings(ids.digits(number, 11))
    bad, variant = rows.pick("mobile_bad", 2)
    short = ids.to_strings(ids.digits(number[bad] // 10, 10))  # a digit lost
    twelve = ids.to_strings(ids.digits(12 * 10**9 + number[bad] % 10**9, 11))  # no 12x mobile prefix
    values = _put(values, bad, pc.if_else(pa.array(variant == 0), short, twelve))
    missing = (rows.rng.random(n) < NULL_RATES["mobile"]) & (rows.kind == 0)
    return _nulls(values, missing)


def _emails(rows: _Rows) -> pa.Array:
    n = len(rows.kind)
    user = join("u", ids.to_strings(ids.digits(rows.gid % 10**9, 9)))
    domain = take(pa.array(DOMAINS), rows.rng.integers(0, len(DOMAINS), n))
    values = join(user, "@", domain)
    bad, variant = rows.pick("email_bad", 2)
    hashed = join(take(user, bad), "#", take(domain, bad))  # no @
    bare = join(
        take(user, bad), "@", take(pa.array(["qq", "163", "sina"]), variant % 3)
    )  # no top-level domain
    values = _put(values, bad, pc.if_else(pa.array(variant == 0), hashed, bare))
    present = (rows.rng.random(n) < EMAIL_SHARE) | rows.has("email_bad")
    return _nulls(values, ~present)


def _postcodes(rows: _Rows, district: I64) -> pa.Array:
    values = take(_places().postcodes, district)
    bad, variant = rows.pick("postcode_bad", 2)
    good = take(values, bad)
    short = pc.utf8_slice_codeunits(good, 0, 5)
    letter = join(pc.utf8_slice_codeunits(good, 0, 4), "O", pc.utf8_slice_codeunits(good, 5, 6))
    return _put(values, bad, pc.if_else(pa.array(variant == 0), short, letter))


# -- places ---------------------------------------------------------------------------------------


def _addresses(rows: _Rows, district: I64) -> pa.Array:
    places, n = _places(), len(rows.kind)
    road = places.road_start[district] + (rows.rng.random(n) * places.road_count[district]).astype(np.int64)
    number = _ints(rows.rng.integers(1, 1500, n))
    room = _ints(rows.rng.integers(1, 29, n) * 100 + rows.rng.integers(1, 5, n))
    values = join("上海市", take(places.names, district), take(places.roads, road), number, "号", room, "室")
    long, _ = rows.pick("address_long", 1)
    values = _put(values, long, join(take(values, long), LONG_NOTE))
    return _nulls(values, rows.has("address_null"))


def _ints(values: I64) -> pa.Array:
    return pa.array(values, type=pa.int64()).cast(pa.string())


def _district_codes(rows: _Rows, district: I64) -> pa.Array:
    values = take(_places().codes, district)
    unknown = UNKNOWN_CODES["district_code"]
    planted, variant = rows.pick(UNKNOWN_DEFECTS["district_code"], len(unknown))
    return _put(values, planted, take(pa.array(unknown), variant))


def _coordinates(rows: _Rows, district: I64, truth: Counter[str]) -> tuple[F64, F64]:
    """Points inside their district; outside the city: swapped, (0, 0) or 1.5° out to sea."""
    places, n = _places(), len(rows.kind)
    distance = places.radius[district] * np.sqrt(rows.rng.random(n))
    angle = rows.rng.random(n) * 2 * np.pi
    lon = np.round(places.lon[district] + distance * np.cos(angle), 6)
    lat = np.round(places.lat[district] + distance * np.sin(angle), 6)
    out, variant = rows.pick("coord_outside", 3)
    x, y = lon[out].copy(), lat[out].copy()
    lon[out] = np.select([variant == 0, variant == 1], [y, 0.0], x + 1.5)
    lat[out] = np.select([variant == 0, variant == 1], [x, 0.0], y)
    nearer = _nearer_other(lon[out], lat[out], district[out])
    for column in ("lon", "lat"):
        truth[f"COORD_DISTRICT:{column}"] += int(np.count_nonzero(nearer))
    return lon, lat


def _nearer_other(lon: F64, lat: F64, district: I64) -> Mask:
    """COORD_DISTRICT's test: some district centre is strictly nearer than the declared one."""
    places = _places()
    distance = (lon[:, None] - places.lon[None, :]) ** 2 + (lat[:, None] - places.lat[None, :]) ** 2
    declared = distance[np.arange(len(lon)), district]
    return np.asarray(distance.min(axis=1) < declared)


def _registered(rows: _Rows) -> pa.Array:
    start, span = REGISTERED
    seconds = start + rows.rng.integers(0, span, len(rows.kind))
    return pa.array(seconds * 1_000_000, type=pa.int64()).cast(pa.timestamp("us"))
