"""市场监管 (market regulation): the market-entity register 市场主体登记信息 → SQL table ``enterprise``.

Only entities registered by market regulation (registration-authority code 9) are here; the other
legal persons of the city (机关、事业单位、社会组织、农村集体经济组织 ...) appear as employers and
vehicle owners in other departments.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from gongshu.city.departments.common import col, iso, record_ids, timestamps
from gongshu.city.frames import Frame, Identity, TableSpec
from gongshu.city.noise import IdNoise, Planter, Rates, name_noise, uscc_noise
from gongshu.city.population import World, rng_for
from gongshu.city.text import ints, join, take

ENTERPRISE = TableSpec(
    department="SCJG",
    department_name="市场监管",
    source="enterprise",
    table="enterprise",
    kind="sqlite",
    file="scjg_enterprise.sqlite",
    encoding="utf-8",
    key="reg_no",
    title="市场主体登记信息",
    columns=(
        col("reg_no", "注册号"),
        col("uscc", "统一社会信用代码"),
        col("ent_name", "企业名称"),
        col("ent_type_code", "市场主体类型代码"),
        col("legal_rep_name", "法定代表人姓名"),
        col("legal_rep_id_number", "法定代表人公民身份号码"),
        col("reg_capital", "注册资本（万元）", number=True),
        col("establish_date", "成立日期", date=True),
        col("status_code", "经营状态代码"),
        col("industry_code", "国民经济行业代码"),
        col("district_code", "住所行政区划代码"),
        col("address", "住所"),
        col("phone", "联系电话"),
        col("update_time", "更新时间"),
    ),
)
SPECS = (ENTERPRISE,)


def frames(world: World, rates: Rates) -> list[Frame]:
    rng = rng_for(world.seed, world.chunk, "SCJG.enterprise")
    lp, p = world.legal, world.persons
    rows = np.flatnonzero(lp.authority.to_numpy(zero_copy_only=False) == "9")
    rep = lp.legal_rep[rows]
    addr = lp.address[rows]
    frame = Frame(
        ENTERPRISE,
        {
            "reg_no": record_ids("31", world, rows, 13),
            "uscc": take(lp.uscc, rows),
            "ent_name": take(lp.name, rows),
            "ent_type_code": take(lp.entity_type, rows),
            "legal_rep_name": take(p.name, rep),
            "legal_rep_id_number": take(p.id_number, rep),
            "reg_capital": pa.array(lp.capital[rows]),
            "establish_date": iso(lp.established[rows]),
            "status_code": take(lp.status, rows),
            "industry_code": take(world.ref.industry_code, lp.industry[rows]),
            "district_code": ints(world.ref.district_code[world.addresses.district[addr]]),
            "address": join(take(world.addresses.full, addr), ints(rng.integers(101, 2900, len(rows))), "室"),
            "phone": take(lp.phone, rows),
            "update_time": timestamps(rng, len(rows)),
        },
        [
            Identity("subject", "enterprise", take(lp.entity_id, rows)),
            Identity("legal_rep", "person", take(p.person_id, rep)),
            Identity("address", "address", take(world.addresses.address_id, addr)),
        ],
    )
    planter = Planter(frame, rng, rates)
    uscc_noise(planter, "uscc", lp.uscc_matrix[rows])
    planter.required("ent_name")
    planter.whitespace("ent_name")
    planter.code("ent_type_code", ["0000", "1190", "99"])
    name_noise(planter, "legal_rep_name", p.surname[rep], p.given1[rep], p.given2[rep], required=False)
    IdNoise(planter, "legal_rep_id_number", p.id_matrix[rep], p.birth[rep]).apply(required=False)
    planter.dates("establish_date", lp.established[rows], ("compact", "cn"), iso(lp.established[rows]))
    planter.code("status_code", ["0", "9"])
    planter.duplicates()
    return [frame]
