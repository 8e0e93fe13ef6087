"""交通 (transport): motor vehicles 机动车登记信息 → NDJSON.

Plates follow GA 36 (沪 + letter + 5 characters; new-energy plates 沪 + letter + D/F + 5), VINs
GB 16735 with a valid check character. Owners are persons (身份证号) or organisations (USCC).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.city import ids
from gongshu.city.departments.common import col, iso, record_ids
from gongshu.city.frames import Frame, Identity, TableSpec
from gongshu.city.noise import IdNoise, Planter, Rates, name_noise, uscc_noise
from gongshu.city.population import AS_OF, YEAR, World, rng_for
from gongshu.city.text import ints, join, null_where, take, where

VEHICLE = TableSpec(
    department="JT",
    department_name="交通",
    source="vehicle",
    table="vehicle",
    kind="ndjson",
    file="jt_vehicle.ndjson",
    encoding="utf-8",
    key="vehicle_id",
    title="机动车登记信息",
    columns=(
        col("vehicle_id", "机动车序号"),
        col("plate_no", "号牌号码"),
        col("plate_type", "号牌种类代码"),
        col("vin", "车辆识别代号"),
        col("owner_type", "所有人类型（1 个人 2 单位）"),
        col("owner_name", "所有人名称"),
        col("owner_id_number", "所有人公民身份号码"),
        col("owner_uscc", "所有人统一社会信用代码"),
        col("first_registration_date", "初次登记日期", date=True),
    ),
)
SPECS = (VEHICLE,)
VEHICLES_PER_PERSON = 0.22
CHARS34 = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # model years 2010.. cycle of 30


def plates(world: World, gid: np.ndarray, nev: np.ndarray) -> pa.Array:
    """Unique plates from a bijection of the global vehicle index (13 letters x 10^4 x 34)."""
    letters = world.ref.plate_letters
    space = len(letters) * 10**4 * 34
    code = (gid * 1_000_003 + 12_345) % space
    letter = ids.letters("".join(letters), code // (10**4 * 34))
    digits = ids.digits(code // 34 % 10**4, 4)
    tail = ids.letters(CHARS34, code % 34)
    df = ids.letters("DF", code % 2)
    plain = np.hstack([letter, digits, tail])
    green = np.hstack([letter, df, tail, digits])
    return join("沪", where(nev, ids.to_strings(green), ids.to_strings(plain)))


def vins(
    world: World, rng: np.random.Generator, gid: np.ndarray, year: np.ndarray
) -> tuple[np.ndarray, pa.Array]:
    n = len(gid)
    wmis = world.ref.vin_wmis
    wmi = np.frombuffer("".join(wmis).encode(), np.uint8).reshape(-1, 3)[rng.integers(0, len(wmis), n)]
    vds = np.hstack([ids.letters(VIN_CHARS, rng.integers(0, len(VIN_CHARS), n)) for _ in range(5)])
    year_code = ids.letters(YEAR_CODES, (year - 2010) % 30)
    plant = ids.letters("ABCDEFGHJK", gid // 10**6 % 10)
    return ids.vins(wmi, vds, year_code, plant, gid % 10**6)


def frames(world: World, rates: Rates) -> list[Frame]:
    rng = rng_for(world.seed, world.chunk, "JT.vehicle")
    p, lp = world.persons, world.legal
    n = max(1, int(len(p.gid) * VEHICLES_PER_PERSON))
    gid = int(world.persons.gid[0] * VEHICLES_PER_PERSON) + np.arange(n, dtype=np.int64)
    adults = np.flatnonzero((p.age >= 18) & (p.death < 0))
    company = rng.random(n) < 0.15
    person = adults[rng.integers(0, len(adults), n)]
    org = rng.integers(0, len(lp.gid), n)
    earliest = np.maximum(p.birth[person] + int(18 * YEAR), AS_OF - int(15 * YEAR))
    first = earliest + (rng.random(n) * (AS_OF - earliest)).astype(np.int64)
    nev = rng.random(n) < np.where(first > AS_OF - 5 * YEAR, 0.45, 0.08)
    plate_type = np.where(nev, np.where(company, 51, 52), np.where(company, 1, 2))
    plate_type = np.where(~nev & ~company & (rng.random(n) < 0.04), 7, plate_type)
    vin_m, vin = vins(world, rng, gid, ids.ymd(first) // 10000)
    frame = Frame(
        VEHICLE,
        {
            "vehicle_id": record_ids("JD", world, np.arange(n)),
            "plate_no": plates(world, gid, nev),
            "plate_type": ints(plate_type, 2),
            "vin": vin,
            "owner_type": where(company, "2", "1"),
            "owner_name": where(company, take(lp.name, org), take(p.name, person)),
            "owner_id_number": null_where(take(p.id_number, person), company),
            "owner_uscc": null_where(take(lp.uscc, org), ~company),
            "first_registration_date": iso(first),
        },
        [
            Identity("owner", "person", null_where(take(p.person_id, person), company)),
            Identity("owner", "enterprise", null_where(take(lp.entity_id, org), ~company)),
        ],
    )
    pl = Planter(frame, rng, rates)
    _plate_noise(pl)
    pl.code("plate_type", ["99", "00", "2"])
    pl.lower("vin")
    pl.plant("vin", "vin_check_digit", lambda r, v: _bad_vin(rng, vin_m[r]))
    name_noise(
        pl,
        "owner_name",
        p.surname[person],
        p.given1[person],
        p.given2[person],
        required=False,
        eligible=~company,
    )
    IdNoise(pl, "owner_id_number", p.id_matrix[person], p.birth[person]).apply(required=False)
    uscc_noise(pl, "owner_uscc", lp.uscc_matrix[org])
    pl.dates("first_registration_date", first, ("compact", "slash"), iso(first))
    pl.duplicates()
    return [frame]


def _plate_noise(pl: Planter) -> None:
    def dotted(rows: np.ndarray, v: pa.Array) -> pa.Array:
        head = pc.utf8_slice_codeunits(v, 0, 2)
        rest = pc.utf8_slice_codeunits(v, 2, 10)
        sep = take(pa.array(["·", " ", "-"]), pl.rng.integers(0, 3, len(rows)))
        return join(head, sep, rest)

    pl.plant("plate_no", "plate_format", dotted)
    pl.lower("plate_no")


def _bad_vin(rng: np.random.Generator, m: np.ndarray) -> pa.Array:
    m = m.copy()
    true = np.where(m[:, 8] == ord("X"), 10, m[:, 8].astype(np.int64) - 48)
    m[:, 8:9] = ids.letters("0123456789X", (true + rng.integers(1, 11, len(m))) % 11)
    return ids.to_strings(m)
