"""人社 (human resources & social security): employment and social insurance → XLSX.

One workbook ``rs_employment.xlsx`` with two logical tables, 就业登记 and 参保信息, each on its own
sheet (continued on 就业登记_2 ... past 1,048,575 data rows). Chinese headers; dates are real
Excel dates, with some cells left as raw serial numbers or text.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from gongshu.city.departments.common import col, iso, phones, record_ids, role
from gongshu.city.frames import Frame, Identity, TableSpec
from gongshu.city.noise import IdNoise, Planter, Rates, name_noise, phone_noise, uscc_noise
from gongshu.city.population import AS_OF, YEAR, World, rng_for
from gongshu.city.text import ints, take

EMPLOYMENT = TableSpec(
    department="RS",
    department_name="人社",
    source="employment",
    table="就业登记",
    kind="xlsx",
    file="rs_employment.xlsx",
    encoding="",
    key="record_no",
    title="就业登记信息",
    columns=(
        col("record_no", "记录号", "记录号"),
        col("name", "姓名", "姓名"),
        col("id_number", "公民身份号码", "公民身份号码"),
        col("employer_uscc", "单位统一社会信用代码", "单位统一社会信用代码"),
        col("employer_name", "单位名称", "单位名称"),
        col("employment_status", "就业状态代码", "就业状态"),
        col("hire_date", "入职日期", "入职日期", date=True),
        col("phone", "联系电话", "联系电话"),
    ),
)
INSURANCE = TableSpec(
    department="RS",
    department_name="人社",
    source="insurance",
    table="参保信息",
    kind="xlsx",
    file="rs_employment.xlsx",
    encoding="",
    key="record_no",
    title="社会保险参保信息",
    columns=(
        col("record_no", "记录号", "记录号"),
        col("id_number", "公民身份号码", "公民身份号码"),
        col("name", "姓名", "姓名"),
        col("employer_uscc", "单位统一社会信用代码", "单位统一社会信用代码"),
        col("insurance_type", "参保险种代码", "险种代码"),
        col("contribution_base", "缴费基数（元/月）", "缴费基数", number=True),
        col("insurance_status", "参保状态（1 正常参保 2 暂停缴费 3 终止参保）", "参保状态"),
        col("start_date", "参保日期", "参保日期", date=True),
    ),
)
SPECS = (EMPLOYMENT, INSURANCE)
ALTERNATIVES = ("serial", "cn", "slash")
INSURANCE_TYPES = np.array([110, 310, 210, 410, 510])
INSURANCE_SHARE = np.array([1.0, 1.0, 0.6, 0.4, 0.3])


def _employed(rng: np.random.Generator, world: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = world.persons
    age = p.age
    pool = np.flatnonzero((age >= 18) & (age <= 62) & (p.death < 0) & (rng.random(len(age)) < 0.7))
    n_lp = len(world.legal.gid)
    employer = np.minimum((rng.pareto(1.2, len(pool)) * n_lp / 50).astype(np.int64), n_lp - 1)
    employer = (employer * 7919) % n_lp  # big employers spread over the register
    start = np.maximum(p.birth[pool] + int(18 * YEAR), AS_OF - int(20 * YEAR))
    hire = start + (rng.random(len(pool)) * (AS_OF - start)).astype(np.int64)
    return pool, employer, hire


def frames(world: World, rates: Rates) -> list[Frame]:
    rng = rng_for(world.seed, world.chunk, "RS")
    p, lp = world.persons, world.legal
    who, employer, hire = _employed(rng, world)
    n = len(who)
    status = np.array([11, 12, 21, 90])[np.searchsorted([0.86, 0.95, 0.99], rng.random(n))]
    employment = Frame(
        EMPLOYMENT,
        {
            "record_no": record_ids("JY", world, np.arange(n)),
            "name": take(p.name, who),
            "id_number": take(p.id_number, who),
            "employer_uscc": take(lp.uscc, employer),
            "employer_name": take(lp.name, employer),
            "employment_status": ints(status),
            "hire_date": iso(hire),
            "phone": phones(world, who),
        },
        [role(world, "subject", who), Identity("employer", "enterprise", take(lp.entity_id, employer))],
    )
    pl = Planter(employment, rng, rates)
    name_noise(pl, "name", p.surname[who], p.given1[who], p.given2[who])
    IdNoise(pl, "id_number", p.id_matrix[who], p.birth[who]).apply()
    uscc_noise(pl, "employer_uscc", lp.uscc_matrix[employer])
    pl.code("employment_status", ["00", "13", "99"])
    pl.dates("hire_date", hire, ALTERNATIVES, iso(hire))
    phone_noise(pl, "phone")
    pl.duplicates()
    return [employment, _insurance(rng, world, rates, who, employer, hire)]


def _insurance(
    rng: np.random.Generator,
    world: World,
    rates: Rates,
    who: np.ndarray,
    employer: np.ndarray,
    hire: np.ndarray,
) -> Frame:
    p, lp = world.persons, world.legal
    has = rng.random((len(who), len(INSURANCE_TYPES))) < INSURANCE_SHARE
    row, kind = np.nonzero(has)
    person, emp, start = who[row], employer[row], hire[row]
    base = np.round(np.clip(rng.lognormal(9.2, 0.45, len(who)), 7384, 36921))[row]
    status = np.array([1, 2, 3])[np.searchsorted([0.9, 0.96], rng.random(len(row)))]
    frame = Frame(
        INSURANCE,
        {
            "record_no": record_ids("CB", world, np.arange(len(row))),
            "id_number": take(p.id_number, person),
            "name": take(p.name, person),
            "employer_uscc": take(lp.uscc, emp),
            "insurance_type": ints(INSURANCE_TYPES[kind]),
            "contribution_base": pa.array(base),
            "insurance_status": ints(status),
            "start_date": iso(start),
        },
        [role(world, "subject", person), Identity("employer", "enterprise", take(lp.entity_id, emp))],
    )
    pl = Planter(frame, rng, rates)
    IdNoise(pl, "id_number", p.id_matrix[person], p.birth[person]).apply()
    name_noise(pl, "name", p.surname[person], p.given1[person], p.given2[person])
    uscc_noise(pl, "employer_uscc", lp.uscc_matrix[emp])
    pl.code("insurance_type", ["999", "100", "11"])
    pl.dates("start_date", start, ALTERNATIVES, iso(start))
    pl.duplicates()
    return frame
