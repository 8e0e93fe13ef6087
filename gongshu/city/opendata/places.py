"""Open directories of places and institutions (场所与机构名录): 助餐点, 居委会, 文化场馆, 社区事务受理
服务中心, 建筑物（小区）, 学校, 养老机构, 医疗机构. Every address is a standard address of the city."""

from __future__ import annotations

from typing import Any

from gongshu.city.opendata.common import Context, institution_usccs, landline, stem, unique

HUANGPU, XUHUI, PUDONG = 310101, 310104, 310115
SCHOOL_VARIANTS = ("第一", "第二", "第三", "实验", "")
SCHOOL_KINDS = ("小学", "初级中学", "高级中学")
MAX_BUILDINGS = 5_000


def _streets(ctx: Context, code: int) -> list[str]:
    streets: list[str] = ctx.world.ref.streets[ctx.district_index(code)].to_pylist()
    return streets


def meal_sites(ctx: Context) -> list[dict[str, Any]]:
    """黄浦区老年助餐点: a 长者食堂 per street and 1-3 助餐点 in its 小区."""
    rng, d = ctx.rng("meal_sites"), ctx.district_index(HUANGPU)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for street in _streets(ctx, HUANGPU):
        for k in range(1 + int(rng.integers(1, 4))):
            place = ctx.place(rng, d, street)
            name = f"{stem(street)}社区长者食堂" if k == 0 else f"{stem(street)}{place.building}老年助餐点"
            if unique(name, seen) is None:
                continue
            rows.append(
                {
                    "name_of_site": name,
                    "site_type": "长者食堂" if k == 0 else "老年助餐点",
                    "street": street,
                    "address": place.full,
                    "phone": landline(rng),
                    "meal_times": ctx.lexicon["meal_hours"][
                        int(rng.integers(len(ctx.lexicon["meal_hours"])))
                    ],
                    "lon": place.lon,
                    "lat": place.lat,
                }
            )
    return rows


def committees(ctx: Context) -> list[dict[str, Any]]:
    """黄浦区居委会名录: 10-20 居民委员会 per street, named after their 小区."""
    rng, d, ref = ctx.rng("committees"), ctx.district_index(HUANGPU), ctx.world.ref
    names = [p + s for p in ref.building_prefixes.to_pylist() for s in ref.building_suffixes.to_pylist()]
    order = rng.permutation(len(names))
    rows, i = [], 0
    for street in _streets(ctx, HUANGPU):
        for _ in range(int(rng.integers(10, 21))):
            place = ctx.place(rng, d, street)
            rows.append(
                {
                    "org_name": f"{names[order[i % len(names)]]}居民委员会",
                    "street": street,
                    "address": place.full,
                    "phone": landline(rng),
                }
            )
            i += 1
    return rows


def venues(ctx: Context) -> list[dict[str, Any]]:
    """徐汇区公共文化场馆: the district's venues and a community culture centre per street."""
    rng, d = ctx.rng("venues"), ctx.district_index(XUHUI)
    listed = [tuple(v) for v in ctx.lexicon["xuhui_venues"]]
    listed += [
        (f"徐汇区{stem(s)}社区文化活动中心", "社区文化活动中心", "周二至周日 8:30-20:30")
        for s in _streets(ctx, XUHUI)
    ]
    rows = []
    for name, kind, hours in listed:
        place = ctx.place(rng, d)
        rows.append(
            {
                "venue": name,
                "venue_type": kind,
                "address": place.full,
                "phone": landline(rng),
                "open_hours": hours,
                "lon": place.lon,
                "lat": place.lat,
            }
        )
    return rows


def service_centres(ctx: Context) -> list[dict[str, Any]]:
    """浦东新区社区事务受理服务中心名录: one centre per 街道/镇."""
    rng, d = ctx.rng("service_centres"), ctx.district_index(PUDONG)
    hours = ctx.lexicon["service_hours"]
    return [
        {
            "org_name": f"浦东新区{street}社区事务受理服务中心",
            "street": street,
            "address": ctx.place(rng, d, street).full,
            "phone": landline(rng),
            "service_hours": hours[int(rng.integers(len(hours)))],
        }
        for street in _streets(ctx, PUDONG)
    ]


def buildings(ctx: Context) -> list[dict[str, Any]]:
    """建筑物（小区）: one per 弄 of the standard addresses (the first 门牌 found), at most 5,000."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for p in ctx.places:
        if p.address_id is None or "弄" not in p.house_no:
            continue
        lane = p.house_no.split("弄")[0] + "弄"
        address = f"上海市{ctx.district_names[p.district]}{p.road}{lane}"
        if unique(address, seen) is None:
            continue
        rows.append(
            {
                "building_id": p.address_id,
                "building_name": p.building,
                "district_code": str(ctx.codes[p.district]),
                "street": p.street,
                "address": address,
                "lon": p.lon,
                "lat": p.lat,
                "crs": "CGCS2000",
            }
        )
        if len(rows) == MAX_BUILDINGS:
            break
    return rows


def school_names(ctx: Context) -> list[tuple[int, str, str, str]]:
    """(district index, street, school type, name) of every school 教育's student register can name."""
    out = []
    for d, name in enumerate(ctx.district_names):
        for street in ctx.world.ref.streets[d].to_pylist():
            for variant in SCHOOL_VARIANTS:
                for kind in SCHOOL_KINDS:
                    out.append((d, street, kind, f"上海市{name}{stem(street)}{variant}{kind}"))
    return out


def schools(ctx: Context) -> list[dict[str, Any]]:
    """学校名录: every primary and secondary school of the student register; 9 in 10 public."""
    rng = ctx.rng("schools")
    listed = school_names(ctx)
    private = rng.random(len(listed)) < 0.1
    divisions = [ctx.codes[d] for d, *_rest in listed]
    public_codes = institution_usccs("1", "2", divisions, 90_000_000)
    private_codes = institution_usccs("5", "2", divisions, 90_500_000)
    rows = []
    for i, (d, street, kind, name) in enumerate(listed):
        rows.append(
            {
                "school_name": name,
                "school_type": kind,
                "nature": "民办" if private[i] else "公办",
                "uscc": private_codes[i] if private[i] else public_codes[i],
                "district_code": str(ctx.codes[d]),
                "address": ctx.place(rng, d, street).full,
                "phone": landline(rng),
            }
        )
    return rows


def elderly_care(ctx: Context) -> list[dict[str, Any]]:
    """养老机构名录: 3 + 2 per population point of each district, beds 30-600."""
    rng, ref, lex = ctx.rng("elderly_care"), ctx.world.ref, ctx.lexicon
    brands = ref.brand_chars.to_pylist()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for d, dname in enumerate(ctx.district_names):
        streets = ref.streets[d].to_pylist()
        for _ in range(3 + round(float(ref.district_weight[d]) * 2)):
            street = streets[int(rng.integers(len(streets)))]
            pattern = lex["elderly_patterns"][int(rng.integers(len(lex["elderly_patterns"])))]
            brand = brands[int(rng.integers(len(brands)))] + brands[int(rng.integers(len(brands)))]
            name = pattern.format(d=dname, s=stem(street), b=brand)
            if unique(name, seen) is None:
                continue
            rows.append(
                {
                    "org_name": name,
                    "nature": lex["elderly_natures"][int(rng.integers(len(lex["elderly_natures"])))],
                    "district_code": str(ctx.codes[d]),
                    "address": ctx.place(rng, d, street).full,
                    "beds": int(rng.integers(3, 61)) * 10,
                    "phone": landline(rng),
                }
            )
    return rows


def medical_orgs(ctx: Context) -> list[dict[str, Any]]:
    """医疗机构名录: the city's hospitals (incl. 卫健's 助产机构) and a 社区卫生服务中心 per street."""
    rng, ref = ctx.rng("medical_orgs"), ctx.world.ref
    listed: list[tuple[str, int, str, str, int, str | None]] = []
    for name, district, kind, level, beds in ctx.lexicon["hospitals"]:
        listed.append((name, ctx.district_index(district), kind, level, int(beds), None))
    for name, district in zip(ref.hospitals.to_pylist(), ref.hospital_district, strict=True):
        kind = "妇幼保健院" if "妇" in name else "综合医院"
        level = "三级甲等" if "大学" in name else "二级甲等"
        listed.append(
            (name, ctx.district_index(int(district)), kind, level, int(rng.integers(30, 90)) * 10, None)
        )
    for d, dname in enumerate(ctx.district_names):
        for street in ref.streets[d].to_pylist():
            listed.append((f"上海市{dname}{stem(street)}社区卫生服务中心", d, "社区卫生服务中心", "一级",
                           int(rng.integers(0, 16)) * 10, street))  # fmt: skip
    codes = institution_usccs("1", "2", [ctx.codes[x[1]] for x in listed], 91_000_000)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for (name, d, kind, level, beds, street), uscc in zip(listed, codes, strict=True):
        if unique(name, seen) is None:
            continue
        place = ctx.place(rng, d, street)
        rows.append(
            {
                "org_name": name,
                "org_type": kind,
                "level": level,
                "uscc": uscc,
                "district_code": str(ctx.codes[d]),
                "address": place.full,
                "phone": landline(rng),
                "beds": beds,
                "lon": place.lon,
                "lat": place.lat,
            }
        )
    return rows
