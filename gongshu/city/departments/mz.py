"""民政 (civil affairs): marriage and death registrations → CSV in GB18030 with Chinese headers.

A legacy Windows export: GB18030, CRLF line ends, dates written 2020年5月8日, sex as 男/女.
"""

from __future__ import annotations

import numpy as np

from gongshu.city.departments.common import col, iso, person_address, record_ids, role
from gongshu.city.frames import Frame, TableSpec
from gongshu.city.noise import IdNoise, Planter, Rates, name_noise
from gongshu.city.population import AS_OF, YEAR, World, rng_for
from gongshu.city.text import date_style, join, take, where

MARRIAGE = TableSpec(
    department="MZ",
    department_name="民政",
    source="marriage",
    table="婚姻登记",
    kind="csv",
    file="mz_marriage.csv",
    encoding="gb18030",
    key="cert_no",
    title="婚姻登记信息",
    columns=(
        col("cert_no", "登记证号", "登记证号"),
        col("reg_type", "登记类型", "登记类型"),
        col("husband_name", "男方姓名", "男方姓名"),
        col("husband_id_number", "男方公民身份号码", "男方身份证号"),
        col("wife_name", "女方姓名", "女方姓名"),
        col("wife_id_number", "女方公民身份号码", "女方身份证号"),
        col("reg_date", "登记日期", "登记日期", date=True),
        col("reg_office", "登记机关", "登记机关"),
    ),
)
DEATH = TableSpec(
    department="MZ",
    department_name="民政",
    source="death",
    table="死亡火化",
    kind="csv",
    file="mz_death.csv",
    encoding="gb18030",
    key="cert_no",
    title="死亡火化信息",
    columns=(
        col("cert_no", "火化证明编号", "火化证明编号"),
        col("name", "姓名", "姓名"),
        col("sex", "性别", "性别"),
        col("id_number", "公民身份号码", "身份证号"),
        col("birth_date", "出生日期", "出生日期", date=True),
        col("death_date", "死亡日期", "死亡日期", date=True),
        col("funeral_home", "殡仪馆", "殡仪馆"),
        col("address", "户籍地址", "户籍地址"),
    ),
)
SPECS = (MARRIAGE, DEATH)
NATIVE = "cn"  # 2020年5月8日
ALTERNATIVES = ("iso", "slash", "compact")
REGISTER_START = int(np.datetime64("1985-01-01", "D").astype(np.int64))  # the electronic register


def _pairs(rng: np.random.Generator, world: World, status: int) -> tuple[np.ndarray, np.ndarray]:
    """Husbands and wives of similar age among persons with a marital status (GB/T 2261.2)."""
    p = world.persons
    has = (p.marital == status) & (rng.random(len(p.gid)) < 0.7)
    men = np.flatnonzero(has & (p.sex == 1))
    women = np.flatnonzero(has & (p.sex == 2))
    k = min(len(men), len(women))
    men = (
        men[np.argsort(p.birth[men], kind="stable")][np.linspace(0, len(men) - 1, k).astype(int)]
        if k
        else men[:0]
    )
    women = (
        women[np.argsort(p.birth[women], kind="stable")][np.linspace(0, len(women) - 1, k).astype(int)]
        if k
        else women[:0]
    )
    return men, women


def marriages(world: World, rates: Rates) -> Frame:
    rng = rng_for(world.seed, world.chunk, "MZ.marriage")
    p = world.persons
    men_m, women_m = _pairs(rng, world, 20)
    men_d, women_d = _pairs(rng, world, 40)
    men, women = np.r_[men_m, men_d], np.r_[women_m, women_d]
    divorce = np.r_[np.zeros(len(men_m), bool), np.ones(len(men_d), bool)]
    earliest = np.maximum(p.birth[men] + int(22 * YEAR), p.birth[women] + int(20 * YEAR))
    earliest = np.minimum(np.maximum(earliest, REGISTER_START), AS_OF - 30)
    span = np.maximum(AS_OF - earliest, 1)
    day = earliest + (rng.random(len(men)) ** 1.5 * np.minimum(span, 15 * YEAR)).astype(np.int64)
    office = join(take(world.ref.district_name, world.addresses.district[p.address[men]]), "民政局婚姻登记处")
    frame = Frame(
        MARRIAGE,
        {
            "cert_no": join(where(divorce, "L", "J"), record_ids("", world, np.arange(len(men)), 11)),
            "reg_type": where(divorce, "离婚登记", "结婚登记"),
            "husband_name": take(p.name, men),
            "husband_id_number": take(p.id_number, men),
            "wife_name": take(p.name, women),
            "wife_id_number": take(p.id_number, women),
            "reg_date": date_style(day, NATIVE),
            "reg_office": office,
        },
        [role(world, "husband", men), role(world, "wife", women)],
    )
    planter = Planter(frame, rng, rates)
    for side, who in (("husband", men), ("wife", women)):
        IdNoise(planter, f"{side}_id_number", p.id_matrix[who], p.birth[who]).apply()
        name_noise(planter, f"{side}_name", p.surname[who], p.given1[who], p.given2[who])
    planter.dates("reg_date", day, ALTERNATIVES, iso(day))
    planter.duplicates()
    return frame


def deaths(world: World, rates: Rates) -> Frame:
    rng = rng_for(world.seed, world.chunk, "MZ.death")
    p = world.persons
    who = np.flatnonzero(p.death >= 0)
    who = who[rng.random(len(who)) < 0.92]
    frame = Frame(
        DEATH,
        {
            "cert_no": record_ids("HH", world, np.arange(len(who)), 10),
            "name": take(p.name, who),
            "sex": where(p.sex[who] == 1, "男", "女"),
            "id_number": take(p.id_number, who),
            "birth_date": date_style(p.birth[who], NATIVE),
            "death_date": date_style(p.death[who], NATIVE),
            "funeral_home": take(
                world.ref.funeral_homes, rng.integers(0, len(world.ref.funeral_homes), len(who))
            ),
            "address": person_address(world, who),
        },
        [role(world, "deceased", who)],
    )
    planter = Planter(frame, rng, rates)
    IdNoise(planter, "id_number", p.id_matrix[who], p.birth[who]).apply()
    name_noise(planter, "name", p.surname[who], p.given1[who], p.given2[who])
    planter.code("sex", ["X", "3", "未知性别"])
    planter.dates("birth_date", p.birth[who], ALTERNATIVES, iso(p.birth[who]))
    planter.dates("death_date", p.death[who], ALTERNATIVES, iso(p.death[who]))
    stale = person_address(world, who, old=True)
    planter.plant("address", "stale_address", lambda r, v: take(stale, r))
    planter.duplicates()
    return frame


def frames(world: World, rates: Rates) -> list[Frame]:
    return [marriages(world, rates), deaths(world, rates)]
