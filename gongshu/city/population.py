"""The true world of one chunk of the city: persons, standard addresses, legal persons.

The city is generated in chunks of :data:`CHUNK` persons. Chunk ``c`` owns persons
``[c*CHUNK, ...)``, a proportional slice of addresses and legal persons, and every department
record derived from them, so memory stays flat at any scale. Each chunk draws from its own
seeded random stream, so the result depends only on the seed and the number of persons.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from gongshu.city import ids
from gongshu.city.reference import Reference, reference
from gongshu.city.text import ints, join, take, where

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

CHUNK = 250_000
PERSONS_PER_ADDRESS = 3
PERSONS_PER_LEGAL_PERSON = 8
AS_OF = int(np.datetime64("2025-12-31", "D").astype(np.int64))
YEAR = 365.2425
# share of residents per 5-year age band 0-4 ... 95-99 (Shanghai 2020 census, rounded)
AGE_BANDS = np.array(
    [3.5, 4.0, 3.8, 3.4, 5.0, 7.5, 9.5, 9.0, 8.0, 7.5, 7.5, 7.5, 7.0, 6.5, 4.5, 2.5, 1.8, 1.2, 0.6, 0.2]
)
MINOR_ETHNIC = np.array([3, 11, 2, 10, 15, 6, 8, 4, 5, 12])


def rng_for(seed: int, chunk: int, stream: str) -> np.random.Generator:
    """An independent, reproducible random stream per (seed, chunk, purpose)."""
    return np.random.default_rng([seed, chunk, zlib.crc32(stream.encode())])


def pick(rng: np.random.Generator, n: int, weights: F64 | list[float]) -> I64:
    """``n`` indices drawn with the given (unnormalised) weights."""
    w = np.asarray(weights, dtype=np.float64)
    return np.asarray(rng.choice(len(w), size=n, p=w / w.sum()), dtype=np.int64)


def years_of(days: I64) -> I64:
    """Calendar years of days since the epoch."""
    return np.asarray(days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970)


def age_at(birth: I64, day: int = AS_OF) -> I64:
    """Completed years of age on ``day``."""
    return np.asarray(((day - birth) / YEAR).astype(np.int64))


@dataclass
class Addresses:
    """Standard addresses (标准地址) of buildings: one row per 门牌."""

    gid: I64
    district: I64
    street: pa.Array
    road: pa.Array
    house_no: pa.Array
    building: pa.Array
    full: pa.Array
    lon: F64
    lat: F64
    address_id: pa.Array


@dataclass
class Persons:
    """True natural persons (自然人) of the chunk."""

    gid: I64
    person_id: pa.Array
    sex: I64
    birth: I64
    migrant: Mask
    area: I64
    id_matrix: npt.NDArray[np.uint8]
    id_number: pa.Array
    surname: I64
    given1: I64
    given2: I64
    name: pa.Array
    ethnic: I64
    marital: I64
    education: I64
    phone: I64
    address: I64
    room: I64
    old_address: I64
    death: I64

    @property
    def age(self) -> I64:
        return age_at(self.birth)


@dataclass
class LegalPersons:
    """True legal persons and other organisations (法人和其他组织) of the chunk."""

    gid: I64
    entity_id: pa.Array
    authority: pa.Array
    uscc_matrix: npt.NDArray[np.uint8]
    uscc: pa.Array
    name: pa.Array
    entity_type: pa.Array
    status: pa.Array
    industry: I64
    capital: F64
    established: I64
    legal_rep: I64
    address: I64
    division: I64
    phone: pa.Array


@dataclass
class World:
    """Everything true about one chunk; departments derive their records from it."""

    seed: int
    chunk: int
    chunks: int
    persons: Persons
    addresses: Addresses
    legal: LegalPersons
    ref: Reference


def chunk_bounds(persons: int) -> list[tuple[int, int]]:
    """Person index ranges ``[start, stop)`` of each chunk."""
    return [(s, min(s + CHUNK, persons)) for s in range(0, persons, CHUNK)]


def slice_of(start: int, stop: int, per: int) -> tuple[int, int]:
    """The slice of a derived universe (addresses, legal persons) owned by a person range."""
    return -(-start // per), max(-(-stop // per), -(-start // per) + 1)


def build_world(seed: int, chunk: int, chunks: int, start: int, stop: int, *, legal: bool = True) -> World:
    """Generate the true world of persons ``[start, stop)`` (legal persons optional)."""
    ref = reference()
    a0, a1 = slice_of(start, stop, PERSONS_PER_ADDRESS)
    addresses = _addresses(rng_for(seed, chunk, "addresses"), ref, a0, a1)
    persons = _persons(rng_for(seed, chunk, "persons"), ref, addresses, start, stop, chunk, chunks)
    e0, e1 = slice_of(start, stop, PERSONS_PER_LEGAL_PERSON)
    if not legal:
        e1 = e0 + 1
    entities = _legal(rng_for(seed, chunk, "legal"), ref, persons, addresses, e0, e1)
    return World(seed, chunk, chunks, persons, addresses, entities, ref)


def _ragged(rng: np.random.Generator, tables: list[pa.Array], group: I64) -> pa.Array:
    """For each row pick a value from ``tables[group]`` (per-district vocabularies)."""
    sizes = np.array([len(t) for t in tables])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    local = (rng.random(len(group)) * sizes[group]).astype(np.int64)
    return take(pa.concat_arrays(tables), offsets[group] + local)


def _addresses(rng: np.random.Generator, ref: Reference, a0: int, a1: int) -> Addresses:
    n = a1 - a0
    gid = np.arange(a0, a1, dtype=np.int64)
    district = pick(rng, n, ref.district_weight)
    road = _ragged(rng, ref.roads, district)
    street = _ragged(rng, ref.streets, district)
    lane = rng.integers(1, 1200, n)
    number = rng.integers(1, 900, n)
    has_lane = rng.random(n) < 0.55
    house_no = join(where(has_lane, join(ints(lane), "弄"), ""), ints(number), "号")
    building = join(
        take(ref.building_prefixes, rng.integers(0, len(ref.building_prefixes), n)),
        take(ref.building_suffixes, rng.integers(0, len(ref.building_suffixes), n)),
    )
    full = join("上海市", take(ref.district_name, district), road, house_no)
    angle = rng.random(n) * 2 * np.pi
    dist = np.sqrt(rng.random(n)) * ref.radius[district] * 0.95
    lon = np.round(ref.centre_lon[district] + dist * np.cos(angle), 6)
    lat = np.round(ref.centre_lat[district] + dist * np.sin(angle), 6)
    address_id = to_text(ref.district_code[district] * 10**9 + gid, 15)
    return Addresses(gid, district, street, road, house_no, building, full, lon, lat, address_id)


def to_text(values: I64, width: int) -> pa.Array:
    """Non-negative integers as zero-padded digit strings (fast path via ASCII matrices)."""
    return ids.to_strings(ids.digits(values, width))


def _birth_days(rng: np.random.Generator, n: int) -> I64:
    band = pick(rng, n, AGE_BANDS)
    age_days = (band * 5 + rng.random(n) * 5) * YEAR
    return np.asarray(AS_OF - age_days.astype(np.int64), dtype=np.int64)


def _area_codes(rng: np.random.Generator, ref: Reference, owner: I64, year: I64) -> I64:
    """Pick an area code valid in the birth year among the owner's (district / migrant) codes.

    Rows are grouped by owner and by validity period (between the codes' start / end years),
    and each group draws from its valid codes by weight.
    """
    areas = ref.areas
    out = np.zeros(len(owner), dtype=np.int64)
    breaks = np.unique(np.r_[areas.start, areas.end + 1])
    period = np.searchsorted(breaks, year, side="right")
    key = (owner + 1) * 1000 + period
    order = np.argsort(key, kind="stable")
    groups, starts = np.unique(key[order], return_index=True)
    for g, lo, hi in zip(groups, starts, np.r_[starts[1:], len(key)], strict=True):
        rows = order[lo:hi]
        y = year[rows[0]]
        cand = np.flatnonzero((areas.owner == g // 1000 - 1) & (areas.start <= y) & (y <= areas.end))
        w = areas.weight[cand]
        out[rows] = areas.code[cand][rng.choice(len(cand), size=len(rows), p=w / w.sum())]
    return out


def _order_codes(area: I64, birth: I64, sex: I64, chunk: int, chunks: int) -> I64:
    """Order codes (顺序码) unique per (area, birth date) across all chunks; odd for men.

    Within a chunk people sharing area, birth date and sex get consecutive ranks; rank ``r`` of
    chunk ``c`` becomes half-code ``(h + r*chunks + c) mod 500`` with ``h`` a hash of the group,
    so codes never repeat while a group has fewer than 500/chunks members per chunk.
    """
    key = area * 1_000_000 + (birth + 50_000) * 2 + (sex - 1)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    lengths = np.diff(np.r_[starts, len(key)])
    rank = np.empty(len(key), dtype=np.int64)
    rank[order] = np.arange(len(key)) - np.repeat(starts, lengths)
    h = (key.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(500)
    half = (h.astype(np.int64) + rank * chunks + chunk) % 500
    return np.asarray(half * 2 + (sex == 1), dtype=np.int64)


def _given_names(rng: np.random.Generator, ref: Reference, sex: I64) -> tuple[I64, I64]:
    """Indices into ``ref.given_chars`` (male block then female block); -1 = no second char."""
    n = len(sex)
    offset = np.where(sex == 1, 0, ref.female_offset)
    size = np.where(sex == 1, ref.male_base, ref.female_base)
    g1 = offset + (rng.random(n) * size).astype(np.int64)
    g2 = offset + (rng.random(n) * size).astype(np.int64)
    g2 = np.where(rng.random(n) < 0.3, -1, g2)
    return g1, g2


def person_names(ref: Reference, surname: I64, g1: I64, g2: I64) -> pa.Array:
    """Full names from surname and given-name character indices."""
    chars = ref.given_chars
    second = take(pa.concat_arrays([chars, pa.array([""])]), np.where(g2 < 0, len(chars), g2))
    return join(take(ref.surnames, surname), take(chars, g1), second)


def _persons(
    rng: np.random.Generator, ref: Reference, addr: Addresses, start: int, stop: int, chunk: int, chunks: int
) -> Persons:
    n = stop - start
    gid = np.arange(start, stop, dtype=np.int64)
    birth = _birth_days(rng, n)
    age = age_at(birth)
    sex = np.where(rng.random(n) < 0.505, 1, 2)
    migrant = rng.random(n) < np.where((age >= 18) & (age <= 60), 0.38, 0.12)
    address = rng.integers(0, len(addr.gid), n)
    owner = np.where(migrant, -1, addr.district[address])
    area = _area_codes(rng, ref, owner, years_of(birth))
    order = _order_codes(area, birth, sex, chunk, chunks)
    id_matrix, id_number = ids.id_numbers(area, birth, order)
    surname = pick(rng, n, ref.surname_weight)
    g1, g2 = _given_names(rng, ref, sex)
    ethnic = np.where(rng.random(n) < 0.985, 1, MINOR_ETHNIC[rng.integers(0, 10, n)])
    marital = _marital(rng, age)
    education = _education(rng, age)
    prefix = ref.mobile_prefixes[rng.integers(0, len(ref.mobile_prefixes), n)]
    phone = np.where(age >= 12, prefix * 10**8 + rng.integers(0, 10**8, n), -1)
    room = rng.integers(1, 29, n) * 100 + rng.integers(1, 5, n)
    old_address = rng.integers(0, len(addr.gid), n)
    p_death = np.where(age >= 80, 0.12, np.where(age >= 60, 0.03, 0.002))
    died = rng.random(n) < p_death
    death = np.where(died, AS_OF - rng.integers(0, 5 * 365, n), -1)
    death = np.where(died, np.maximum(death, birth + 1), -1)
    return Persons(
        gid=gid,
        person_id=join("P", to_text(gid, 10)),
        sex=sex,
        birth=birth,
        migrant=migrant,
        area=area,
        id_matrix=id_matrix,
        id_number=id_number,
        surname=surname,
        given1=g1,
        given2=g2,
        name=person_names(ref, surname, g1, g2),
        ethnic=ethnic,
        marital=marital,
        education=education,
        phone=phone,
        address=address,
        room=room,
        old_address=old_address,
        death=death,
    )


def _marital(rng: np.random.Generator, age: I64) -> I64:
    u = rng.random(len(age))
    young = np.where(u < 0.5, 10, 20)
    mid = np.select([u < 0.85, u < 0.93, u < 0.99], [20, 10, 40], 30)
    old = np.select([u < 0.75, u < 0.93, u < 0.98], [20, 30, 40], 10)
    return np.asarray(np.select([age < 22, age < 30, age < 60], [10, young, mid], old))


def _education(rng: np.random.Generator, age: I64) -> I64:
    adult = np.array([10, 20, 30, 60, 70, 80])[pick(rng, len(age), [8, 30, 20, 22, 15, 5])]
    return np.asarray(np.select([age < 6, age < 12, age < 15, age < 18], [90, 80, 70, 60], adult))


# --- legal persons --------------------------------------------------------------------------------

# (authority, category, weight, entity type code, name pattern)
ORG_KINDS: list[tuple[str, str, float, str, str]] = [
    ("9", "1", 62.0, "1100", "上海{b}{w}有限公司"),
    ("9", "1", 4.0, "1200", "上海{b}{w}股份有限公司"),
    ("9", "1", 3.0, "2000", "上海{b}{w}公司"),
    ("9", "1", 4.0, "4000", "上海{b}{w}商行"),
    ("9", "1", 5.0, "4500", "上海{b}{w}企业管理中心（有限合伙）"),
    ("9", "2", 12.0, "9100", "{d}{b}{w}店"),
    ("9", "3", 2.0, "9300", "上海{b}农业专业合作社"),
    ("1", "2", 2.0, "", "上海市{d}{b}事务中心"),
    ("1", "1", 0.5, "", "上海市{d}{b}管理办公室"),
    ("5", "1", 1.0, "", "上海市{w}行业协会"),
    ("5", "2", 1.0, "", "上海市{d}{b}社区服务中心"),
    ("5", "3", 0.3, "", "上海{b}公益基金会"),
    ("N", "2", 1.2, "", "{d}{b}村股份经济合作社"),
    ("N", "3", 0.3, "", "{d}{b}镇集体资产经营公司"),
    ("Y", "1", 1.0, "", "上海{b}{w}工会联合会"),
    ("A", "1", 0.7, "", "军队{b}服务中心"),
]


def _org_bodies(rng: np.random.Generator, gid: I64, modern: Mask) -> npt.NDArray[np.uint8]:
    """8-character organisation-code bodies, unique per legal person.

    Before the 2015 reform codes were 8 digits; new ones are ``MA`` + 6 characters. Both come from
    bijections of the global index, so they never collide.
    """
    old = ids.digits((gid * 37_735_173 + 13_579_113) % 10**8, 8)
    value = (gid * 7_919 + 123_457) % 31**6
    cols = [(value // 31**k) % 31 for k in range(5, -1, -1)]
    new_tail = np.hstack([ids.letters(ids.USCC_ALPHABET, c) for c in cols])
    new = np.hstack(
        [np.full((len(gid), 1), ord("M"), np.uint8), np.full((len(gid), 1), ord("A"), np.uint8), new_tail]
    )
    return np.where(modern[:, None], new, old).astype(np.uint8)


def _legal(
    rng: np.random.Generator, ref: Reference, persons: Persons, addr: Addresses, e0: int, e1: int
) -> LegalPersons:
    n = e1 - e0
    gid = np.arange(e0, e1, dtype=np.int64)
    kind = pick(rng, n, [k[2] for k in ORG_KINDS])
    authority_s = np.array([k[0] for k in ORG_KINDS])[kind]
    category_s = np.array([k[1] for k in ORG_KINDS])[kind]
    established = AS_OF - (rng.random(n) * 33 * YEAR).astype(np.int64)
    modern = established >= int(np.datetime64("2015-10-01", "D").astype(np.int64))
    org9 = ids.org_codes(_org_bodies(rng, gid, modern))
    address = rng.integers(0, len(addr.gid), n)
    district = addr.district[address]
    division = np.where(rng.random(n) < 0.12, 310000, ref.district_code[district])
    auth_m = np.frombuffer("".join(authority_s).encode(), np.uint8)[:, None]
    cat_m = np.frombuffer("".join(category_s).encode(), np.uint8)[:, None]
    uscc_m, uscc = ids.usccs(auth_m, cat_m, division, org9)
    industry = rng.integers(0, len(ref.industry_code), n)
    name = _org_names(rng, ref, kind, district, industry)
    adults = np.flatnonzero((persons.age >= 25) & (persons.age <= 75) & (persons.death < 0))
    legal_rep = adults[rng.integers(0, len(adults), n)] if len(adults) else np.zeros(n, np.int64)
    status = np.array(["1", "2", "3", "4", "5"])[pick(rng, n, [80, 8, 4, 7, 1])]
    capital = np.round(np.exp(rng.normal(5.0, 1.4, n)) * np.where(category_s == "2", 0.05, 1), 2)
    landline = join("021-", to_text(rng.integers(50_000_000, 70_000_000, n), 8))
    return LegalPersons(
        gid=gid,
        entity_id=join("E", to_text(gid, 9)),
        authority=pa.array(authority_s),
        uscc_matrix=uscc_m,
        uscc=uscc,
        name=name,
        entity_type=pa.array(np.array([k[3] for k in ORG_KINDS])[kind]),
        status=pa.array(status),
        industry=industry,
        capital=capital,
        established=established,
        legal_rep=legal_rep,
        address=address,
        division=division,
        phone=landline,
    )


def _org_names(rng: np.random.Generator, ref: Reference, kind: I64, district: I64, industry: I64) -> pa.Array:
    n = len(kind)
    brand = join(
        take(ref.brand_chars, rng.integers(0, len(ref.brand_chars), n)),
        take(ref.brand_chars, rng.integers(0, len(ref.brand_chars), n)),
    )
    word = take(ref.industry_word, industry)
    dname = take(ref.district_name, district)
    out: pa.Array = pa.nulls(n, pa.string())
    for k, (_a, _c, _w, _t, pattern) in enumerate(ORG_KINDS):
        parts: list[pa.Array | str] = []
        rest = pattern
        while rest:
            i = rest.find("{")
            if i < 0:
                parts.append(rest)
                break
            if i:
                parts.append(rest[:i])
            token, rest = rest[i + 1], rest[i + 3 :]
            parts.append({"b": brand, "w": word, "d": dname}[token])
        out = where(kind == k, join(*parts), out)
    return out
