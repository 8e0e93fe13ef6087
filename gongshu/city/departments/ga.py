"""公安 (public security): the population register 实有人口基本信息 → SQL table ``population``."""

from __future__ import annotations

import numpy as np

from gongshu.city.departments.common import (
    code_text,
    col,
    iso,
    person_address,
    person_ids,
    phones,
    record_ids,
    timestamps,
)
from gongshu.city.frames import Frame, TableSpec
from gongshu.city.noise import IdNoise, Planter, Rates, name_noise, phone_noise
from gongshu.city.population import World, rng_for
from gongshu.city.reference import reference
from gongshu.city.text import ints, null_where, take

POPULATION = TableSpec(
    department="GA",
    department_name="公安",
    source="population",
    table="population",
    kind="sqlite",
    file="ga_population.sqlite",
    encoding="utf-8",
    key="record_id",
    title="实有人口基本信息",
    columns=(
        col("record_id", "人员编号"),
        col("id_number", "公民身份号码"),
        col("name", "姓名"),
        col("sex_code", "性别代码"),
        col("ethnic_code", "民族代码"),
        col("birth_date", "出生日期", date=True),
        col("marital_code", "婚姻状况代码"),
        col("education_code", "学历代码"),
        col("population_type", "人口类型（1 户籍人口 2 来沪人员）"),
        col("district_code", "居住地行政区划代码"),
        col("address", "现住址"),
        col("phone", "联系电话"),
        col("status", "人员状态（1 正常 2 死亡注销）"),
        col("cancel_date", "注销日期", date=True),
        col("update_time", "更新时间"),
    ),
)
SPECS = (POPULATION,)


def frames(world: World, rates: Rates) -> list[Frame]:
    """The population register rows of the chunk (every true person, the dead marked 注销)."""
    rng = rng_for(world.seed, world.chunk, "GA.population")
    p, n = world.persons, len(world.persons.gid)
    everyone = np.arange(n)
    dead = p.death >= 0
    frame = Frame(
        POPULATION,
        {
            "record_id": record_ids("RK", world, everyone),
            "id_number": p.id_number,
            "name": p.name,
            "sex_code": ints(p.sex),
            "ethnic_code": ints(p.ethnic, 2),
            "birth_date": iso(p.birth),
            "marital_code": code_text(p.marital, 2),
            "education_code": code_text(p.education, 2),
            "population_type": ints(np.where(p.migrant, 2, 1)),
            "district_code": ints(reference().district_code[world.addresses.district[p.address]]),
            "address": person_address(world, everyone),
            "phone": phones(world, everyone),
            "status": ints(np.where(dead, 2, 1)),
            "cancel_date": null_where(iso(np.maximum(p.death, 0)), ~dead),
            "update_time": timestamps(rng, n),
        },
        [person_ids(world, everyone)],
    )
    planter = Planter(frame, rng, rates)
    IdNoise(planter, "id_number", p.id_matrix, p.birth).apply()
    name_noise(planter, "name", p.surname, p.given1, p.given2)
    planter.code("sex_code", ["3", "5", "男"])
    planter.code("ethnic_code", ["99", "60", "00"])
    planter.dates("birth_date", p.birth, ("compact", "slash"), iso(p.birth))
    phone_noise(planter, "phone")
    stale = person_address(world, everyone, old=True)
    planter.plant("address", "stale_address", lambda r, v: take(stale, r))
    planter.whitespace("address")
    planter.duplicates()
    return [frame]
