"""卫健 (health): births 出生医学证明信息 → CSV in UTF-8 with BOM (an Excel-friendly export)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from gongshu.city.departments.common import col, iso, pick_older, record_ids, role
from gongshu.city.frames import Frame, TableSpec
from gongshu.city.noise import IdNoise, Planter, Rates, name_noise
from gongshu.city.population import AS_OF, YEAR, World, rng_for
from gongshu.city.text import ints, join, take

BIRTH = TableSpec(
    department="WJ",
    department_name="卫健",
    source="birth",
    table="出生医学证明",
    kind="csv",
    file="wj_birth.csv",
    encoding="utf-8-sig",
    key="cert_no",
    title="出生医学证明信息",
    columns=(
        col("cert_no", "出生医学证明编号", "出生医学证明编号"),
        col("child_name", "新生儿姓名", "新生儿姓名"),
        col("child_sex_code", "新生儿性别代码", "性别"),
        col("birth_date", "出生日期", "出生日期", date=True),
        col("birth_weight", "出生体重（克）", "出生体重(克)", number=True),
        col("mother_name", "母亲姓名", "母亲姓名"),
        col("mother_id_number", "母亲公民身份号码", "母亲身份证号"),
        col("hospital", "助产机构名称", "助产机构"),
        col("district_code", "助产机构所在区行政区划代码", "区划代码"),
    ),
)
SPECS = (BIRTH,)


def frames(world: World, rates: Rates) -> list[Frame]:
    rng = rng_for(world.seed, world.chunk, "WJ.birth")
    p, ref = world.persons, world.ref
    who = np.flatnonzero(p.birth >= AS_OF - int(3 * YEAR))
    who = who[rng.random(len(who)) < 0.93]
    mothers = np.flatnonzero((p.sex == 2) & (p.age >= 20))
    mother = pick_older(rng, world, mothers, p.birth[who], 21, 42)
    hospital = rng.integers(0, len(ref.hospitals), len(who))
    letter = np.array(list("NOPQ"))[np.clip(((p.birth[who] - AS_OF) / YEAR + 4).astype(int), 0, 3)]
    frame = Frame(
        BIRTH,
        {
            "cert_no": join(pa.array(letter), record_ids("", world, np.arange(len(who)), 9)),
            "child_name": take(p.name, who),
            "child_sex_code": ints(p.sex[who]),
            "birth_date": iso(p.birth[who]),
            "birth_weight": pa.array(
                np.round(rng.normal(3300, 420, len(who))).clip(1200, 5200).astype(np.int64)
            ),
            "mother_name": take(p.name, mother),
            "mother_id_number": take(p.id_number, mother),
            "hospital": take(ref.hospitals, hospital),
            "district_code": ints(ref.hospital_district[hospital]),
        },
        [role(world, "subject", who), role(world, "mother", mother)],
    )
    pl = Planter(frame, rng, rates)
    pl.missing_optional("child_name")
    name_noise(pl, "child_name", p.surname[who], p.given1[who], p.given2[who], required=False)
    pl.code("child_sex_code", ["3", "男", "女"])
    pl.dates("birth_date", p.birth[who], ("slash", "cn", "compact"), iso(p.birth[who]))
    name_noise(pl, "mother_name", p.surname[mother], p.given1[mother], p.given2[mother])
    IdNoise(pl, "mother_id_number", p.id_matrix[mother], p.birth[mother]).apply()
    pl.required("hospital")
    pl.duplicates()
    return [frame]
