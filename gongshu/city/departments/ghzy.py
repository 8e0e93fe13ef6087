"""规划资源 (planning & natural resources): standard addresses 标准地址 → one JSON document.

An API-style paged export: ``{"code": 0, "message": "success", "crs": "CGCS2000",
"data": {"total": N, "records": [...]}}`` with one record per building address (门牌).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from gongshu.city.departments.common import col, timestamps
from gongshu.city.frames import Frame, Identity, TableSpec
from gongshu.city.noise import Planter, Rates
from gongshu.city.population import World, rng_for
from gongshu.city.reference import reference
from gongshu.city.text import ints, put, take

ADDRESS = TableSpec(
    department="GHZY",
    department_name="规划资源",
    source="address",
    table="standard_address",
    kind="json",
    file="ghzy_address.json",
    encoding="utf-8",
    key="address_id",
    title="标准地址信息",
    columns=(
        col("address_id", "地址编码"),
        col("district_code", "行政区划代码"),
        col("district_name", "区名称"),
        col("street", "街道（镇）"),
        col("road", "路（街、巷）"),
        col("house_no", "门牌号"),
        col("building_name", "建筑物（小区）名称"),
        col("full_address", "标准地址"),
        col("postcode", "邮政编码"),
        col("lon", "经度", number=True),
        col("lat", "纬度", number=True),
        col("crs", "坐标系"),
        col("update_time", "更新时间"),
    ),
)
SPECS = (ADDRESS,)


def frames(world: World, rates: Rates) -> list[Frame]:
    rng = rng_for(world.seed, world.chunk, "GHZY.address")
    a, ref = world.addresses, world.ref
    n = len(a.gid)
    frame = Frame(
        ADDRESS,
        {
            "address_id": a.address_id,
            "district_code": ints(ref.district_code[a.district]),
            "district_name": take(ref.district_name, a.district),
            "street": a.street,
            "road": a.road,
            "house_no": a.house_no,
            "building_name": a.building,
            "full_address": a.full,
            "postcode": take(ref.district_postcode, a.district),
            "lon": pa.array(a.lon),
            "lat": pa.array(a.lat),
            "crs": pa.array(["CGCS2000"] * n),
            "update_time": timestamps(rng, n),
        },
        [Identity("subject", "address", a.address_id)],
    )
    pl = Planter(frame, rng, rates)
    pl.whitespace("full_address")
    pl.whitespace("building_name")
    pl.missing_optional("building_name")
    pl.required("road")
    pl.code("district_code", ["310199", "310000", "3101"])
    _outside(pl, a.district)
    pl.duplicates()
    return [frame]


def _outside(pl: Planter, district: np.ndarray) -> None:
    """Move some points into another district's disc: the coord_outside_district defect."""
    ref = reference()
    rows = pl.rows("lon", "coord_outside_district")
    if len(rows) == 0:
        return
    other = (district[rows] + pl.rng.integers(1, len(ref.district_code), len(rows))) % len(ref.district_code)
    lon = np.round(ref.centre_lon[other] + pl.rng.uniform(-0.3, 0.3, len(rows)) * ref.radius[other], 6)
    lat = np.round(ref.centre_lat[other] + pl.rng.uniform(-0.3, 0.3, len(rows)) * ref.radius[other], 6)
    for name, new in (("lon", lon), ("lat", lat)):
        column = pl.frame.columns[name]
        pl.record(rows, name, "coord_outside_district", pa.array(new), take(column, rows))
        pl.frame.columns[name] = put(column, rows, pa.array(new))
