"""教育 (education): primary and secondary students 中小学生学籍信息 → NDJSON.

Student number (学籍号) is ``G`` + the student's 身份证号 (JY/T 1001). One JSON object a line,
English keys, ISO dates.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.city.departments.common import col, iso, phones, pick_older, role
from gongshu.city.frames import Frame, TableSpec
from gongshu.city.noise import IdNoise, Planter, Rates, name_noise, phone_noise
from gongshu.city.population import World, age_at, rng_for
from gongshu.city.text import ints, join, take

STUDENT = TableSpec(
    department="JW",
    department_name="教育",
    source="student",
    table="student",
    kind="ndjson",
    file="jw_student.ndjson",
    encoding="utf-8",
    key="student_no",
    title="中小学生学籍信息",
    columns=(
        col("student_no", "学籍号"),
        col("name", "姓名"),
        col("id_number", "公民身份号码"),
        col("sex_code", "性别代码"),
        col("birth_date", "出生日期", date=True),
        col("school_name", "学校名称"),
        col("school_district_code", "学校所在区行政区划代码"),
        col("grade", "年级"),
        col("enrol_date", "入学日期", date=True),
        col("guardian_name", "监护人姓名"),
        col("guardian_id_number", "监护人公民身份号码"),
        col("guardian_phone", "监护人联系电话"),
    ),
)
SPECS = (STUDENT,)
GRADES = [
    "一年级",
    "二年级",
    "三年级",
    "四年级",
    "五年级",
    "六年级",
    "初一",
    "初二",
    "初三",
    "高一",
    "高二",
    "高三",
]
SCHOOL_KIND = ["小学"] * 6 + ["初级中学"] * 3 + ["高级中学"] * 3
SEPT_1 = int(np.datetime64("2025-09-01", "D").astype(np.int64))


def frames(world: World, rates: Rates) -> list[Frame]:
    rng = rng_for(world.seed, world.chunk, "JW.student")
    p, ref = world.persons, world.ref
    age = age_at(p.birth, SEPT_1)
    who = np.flatnonzero((age >= 6) & (age <= 17) & (p.death < 0))
    grade = age[who] - 6
    district = world.addresses.district[p.address[who]]
    guardian_pool = np.flatnonzero((p.age >= 24) & (p.death < 0))
    guardian = pick_older(rng, world, guardian_pool, p.birth[who], 22, 45)
    street = take(world.addresses.street, p.address[who])
    school = join(
        "上海市",
        take(ref.district_name, district),
        pc.replace_substring_regex(street, "(街道|新镇|镇|乡)$", ""),
        take(pa.array(["第一", "第二", "第三", "实验", ""]), rng.integers(0, 5, len(who))),
        take(pa.array(SCHOOL_KIND), grade),
    )
    enrol_year = 2025 - np.where(grade < 6, grade, np.where(grade < 9, grade - 6, grade - 9))
    enrol = np.array([f"{y}-09-01" for y in range(2010, 2026)], dtype="datetime64[D]").astype(np.int64)[
        enrol_year - 2010
    ]
    frame = Frame(
        STUDENT,
        {
            "student_no": join("G", take(p.id_number, who)),
            "name": take(p.name, who),
            "id_number": take(p.id_number, who),
            "sex_code": ints(p.sex[who]),
            "birth_date": iso(p.birth[who]),
            "school_name": school,
            "school_district_code": ints(ref.district_code[district]),
            "grade": take(pa.array(GRADES), grade),
            "enrol_date": iso(enrol),
            "guardian_name": take(p.name, guardian),
            "guardian_id_number": take(p.id_number, guardian),
            "guardian_phone": phones(world, guardian),
        },
        [role(world, "subject", who), role(world, "guardian", guardian)],
    )
    pl = Planter(frame, rng, rates)
    name_noise(pl, "name", p.surname[who], p.given1[who], p.given2[who])
    IdNoise(pl, "id_number", p.id_matrix[who], p.birth[who]).apply(legacy=False)
    pl.code("sex_code", ["3", "F", "M"])
    pl.dates("birth_date", p.birth[who], ("compact", "cn"), iso(p.birth[who]))
    name_noise(
        pl, "guardian_name", p.surname[guardian], p.given1[guardian], p.given2[guardian], required=False
    )
    IdNoise(pl, "guardian_id_number", p.id_matrix[guardian], p.birth[guardian]).apply(required=False)
    phone_noise(pl, "guardian_phone")
    pl.duplicates()
    return [frame]
