"""A hand-made cockpit of the shape ``gongshu.quality.figures.cockpit`` returns, for a realistic city.

The shape is the figures dict of ``docs/quality-report.md``: 11 city-level
departments (委办局) ranked by score, the 16 districts in division-code order, the six GB/T 36344
dimensions, the top problems, the spatial audit and a 12-month trend. Some figures are ``None``
(nothing measured), as the real function returns them: 上海市统计局 had no batch this month, 崇明区
none with an audit, 可访问性 was not checked and 2025-12 (the platform's migration month) has no
score. The page must show them as "—" and the map must draw 崇明区 in grey.
"""

from __future__ import annotations

import copy
from typing import Any

MONTH = "2026-10"
PREVIOUS = "2026-09"


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(
    entries: tuple[int, int, int],
    records: tuple[int, int, int],
    latency: tuple[float | None, float | None],
    sharing: tuple[int, int, int, int],
    score: tuple[float | None, float | None],
    audit: tuple[int, int],
    tickets: tuple[int, int],
) -> dict[str, Any]:
    """One FIGURES mapping, its ratios and changes derived as the contract defines them."""
    compiled, mounted, tables = entries
    month, previous, total = records
    now, before = latency
    return {
        "entries": compiled,
        "mounted": mounted,
        "mounted_ratio": _ratio(mounted, compiled),
        "tables": tables,
        "records_month": month,
        "records_previous": previous,
        "records_change": None if previous == 0 else round(month / previous - 1, 4),
        "records_total": total,
        "latency_days": now,
        "latency_previous": before,
        "latency_change": None if now is None or before is None else round(now - before, 2),
        "demands": sharing[0],
        "demands_previous": sharing[1],
        "calls": sharing[2],
        "calls_previous": sharing[3],
        "score": score[0],
        "score_previous": score[1],
        "checked": audit[0],
        "anomalies": audit[1],
        "open_tickets": tickets[0],
        "overdue_tickets": tickets[1],
    }


def problem(
    rule: str,
    texts: tuple[str, str],
    dimension: str,
    department: tuple[str, str],
    entry: tuple[str, str],
    column: tuple[str, str],
    failed: int,
    checked: int,
) -> dict[str, Any]:
    return {
        "rule": rule,
        "description": texts[0],
        "description_en": texts[1],
        "dimension": dimension,
        "department": department[0],
        "department_name": department[1],
        "entry": entry[0],
        "entry_name": entry[1],
        "column": column[0],
        "label": column[1],
        "failed": failed,
        "checked": checked,
    }


GA = ("GA", "上海市公安局")
MZ = ("MZ", "上海市民政局")
SCJG = ("SCJG", "上海市市场监督管理局")
RS = ("RS", "上海市人力资源和社会保障局")
WJ = ("WJ", "上海市卫生健康委员会")
GHZY = ("GHZY", "上海市规划和自然资源局")
JT = ("JT", "上海市交通委员会")
JW = ("JW", "上海市教育委员会")

PROBLEMS = [
    problem("ID_CHECK", ("公民身份号码校验位错误", "Check digit of the citizen ID number is wrong"),
            "accuracy", GA, ("101001001/000001", "实有人口基本信息"), ("id_number", "公民身份号码"),
            21_406, 3_120_551),
    problem("USCC_CHECK",
            ("统一社会信用代码校验位错误", "Check digit of the unified social credit code is wrong"),
            "accuracy", SCJG, ("102001001/000001", "法人登记信息"), ("uscc", "统一社会信用代码"),
            11_230, 1_480_200),
    problem("NOT_NULL", ("必填信息项为空", "A required data item is empty"), "completeness",
            RS, ("304001001/000001", "就业登记信息"), ("employer", "用人单位名称"), 8_870, 1_002_310),
    problem("DATE_FORMAT", ("日期格式不规范", "Date is not in a standard format"), "normative",
            MZ, ("301001001/000001", "婚姻登记信息"), ("register_date", "登记日期"), 6_012, 702_118),
    problem("ADDRESS_GEOCODE", ("地址无法定位到标准地址", "Address cannot be located to a standard address"),
            "accuracy", GHZY, ("305001001/000001", "建筑房屋信息"), ("address", "房屋地址"),
            4_520, 560_004),
    problem("CODE_IN_LIST", ("代码不在标准代码表中", "Code is not in the standard code list"), "consistency",
            WJ, ("306001001/000001", "出生医学证明信息"), ("hospital_code", "签发机构代码"), 3_311, 401_932),
    problem("FRESHNESS", ("数据未按更新周期更新", "Data was not updated within its update cycle"),
            "timeliness", JT, ("307001001/000001", "公交线路运营信息"), ("updated_at", "更新时间"),
            2_905, 98_000),
    problem("PHONE_FORMAT", ("联系电话格式错误", "Telephone number is malformed"), "normative",
            RS, ("304001001/000001", "就业登记信息"), ("phone", "联系电话"), 2_211, 1_002_310),
    problem("DUPLICATE_KEY", ("主键重复", "Duplicate primary key"), "consistency",
            JW, ("308001001/000001", "学籍信息"), ("student_id", "学籍号"), 1_408, 650_000),
    problem("DEATH_AFTER_BIRTH", ("死亡日期早于出生日期", "Date of death is before the date of birth"),
            "consistency", MZ, ("301001002/000001", "死亡登记信息"), ("death_date", "死亡日期"), 436, 90_120),
]  # fmt: skip

#: code, name, name_en, (entries, mounted, tables), (records, previous, total), (latency, previous),
#: (demands, previous, calls, previous), (score, previous), (checked, anomalies), (open, overdue)
DEPARTMENTS: list[tuple[Any, ...]] = [
    ("GA", "上海市公安局", "Public Security Bureau", (1_130, 1_104, 1_060),
     (640_200_000, 561_000_000, 13_104_000_000), (9.6, 10.3), (44, 37, 9_310_400, 4_400_000),
     (88.9, 88.1), (320_552_100, 1_254_330), (6, 1)),
    ("GHZY", "上海市规划和自然资源局", "Planning and Natural Resources Bureau", (610, 601, 566),
     (410_180_000, 339_900_000, 9_610_000_000), (8.3, 8.7), (38, 31, 8_901_000, 3_990_500),
     (86.5, 85.2), (205_400_000, 1_023_211), (3, 0)),
    ("SCJG", "上海市市场监督管理局", "Administration for Market Regulation", (884, 866, 811),
     (392_050_000, 355_220_000, 8_720_500_000), (11.2, 10.8), (36, 31, 6_630_700, 2_951_200),
     (82.6, 81.9), (190_040_000, 1_660_102), (5, 2)),
    ("ZJ", "上海市住房和城乡建设管理委员会", "Housing and Urban-Rural Development Commission",
     (515, 493, 458), (305_600_000, 244_300_000, 6_144_000_000), (12.4, 13.1), (31, 25, 4_952_300, 1_760_000),
     (80.3, 78.9), (143_200_000, 1_522_900), (4, 1)),
    ("RS", "上海市人力资源和社会保障局", "Human Resources and Social Security Bureau", (734, 707, 655),
     (298_500_000, 272_000_000, 5_852_300_000), (13.1, 12.2), (33, 30, 3_880_100, 1_700_400),
     (78.1, 78.4), (131_330_000, 1_812_044), (7, 3)),
    ("WJ", "上海市卫生健康委员会", "Health Commission", (660, 615, 575),
     (212_330_000, 192_100_000, 4_350_800_000), (14.0, 13.2), (28, 26, 2_350_900, 1_150_300),
     (75.6, 74.1), (100_100_000, 1_387_100), (5, 1)),
    ("MZ", "上海市民政局", "Civil Affairs Bureau", (470, 455, 423),
     (152_200_000, 129_700_000, 3_160_600_000), (15.0, 14.8), (27, 25, 1_642_400, 700_900),
     (73.9, 72.4), (71_120_000, 1_300_500), (6, 2)),
    ("JW", "上海市教育委员会", "Education Commission", (522, 490, 433),
     (121_050_000, 111_000_000, 2_760_000_000), (16.6, 15.3), (24, 22, 1_030_700, 570_800),
     (70.6, 71.1), (59_300_000, 1_114_400), (4, 0)),
    ("JT", "上海市交通委员会", "Transportation Commission", (593, 574, 523),
     (119_400_000, 95_000_000, 2_230_400_000), (18.7, 17.1), (25, 20, 522_300, 311_400),
     (68.4, 67.0), (53_900_000, 1_011_200), (4, 2)),
    ("STHJ", "上海市生态环境局", "Bureau of Ecology and Environment", (413, 394, 361),
     (89_290_000, 93_700_000, 1_650_900_000), (20.5, 19.7), (23, 22, 405_100, 392_200),
     (64.7, 65.9), (38_500_000, 812_300), (3, 1)),
    ("TJ", "上海市统计局", "Statistics Bureau", (252, 250, 0), (0, 0, 0), (None, None), (0, 0, 0, 0),
     (None, None), (0, 0), (0, 0)),
]  # fmt: skip

#: code, name, name_en, (entries, mounted, tables), (records, previous, total), (latency, previous),
#: (demands, previous, calls, previous), (score, previous), (checked, anomalies), tickets,
#: (located rows, located failed)
DISTRICTS: list[tuple[Any, ...]] = [
    ("310101", "黄浦区", "Huangpu", (982, 979, 942), (290_400_000, 272_100_000, 840_200_000), (48.9, 50.1),
     (61, 58, 8_220_000, 7_500_000), (81.4, 80.7), (61_310_000, 302_200), (2, 0), (1_830_330, 91)),
    ("310104", "徐汇区", "Xuhui", (1_122, 1_119, 1_072), (332_900_000, 302_800_000, 961_000_000),
     (47.1, 48.0), (70, 64, 9_950_000, 9_030_000), (83.9, 83.0), (70_200_000, 289_900), (1, 0),
     (2_140_400, 80)),
    ("310105", "长宁区", "Changning", (862, 859, 822), (203_500_000, 192_400_000, 590_700_000), (51.6, 52.3),
     (52, 55, 6_510_000, 6_090_000), (80.1, 80.5), (43_100_000, 251_100), (3, 1), (1_412_900, 77)),
    ("310106", "静安区", "Jing'an", (1_052, 1_050, 1_005), (314_700_000, 282_000_000, 910_100_000),
     (45.4, 47.8), (66, 60, 9_120_000, 8_210_000), (84.7, 83.2), (66_400_000, 241_300), (1, 0),
     (2_014_500, 69)),
    ("310107", "普陀区", "Putuo", (992, 986, 932), (242_300_000, 233_000_000, 710_500_000), (54.8, 54.2),
     (57, 51, 7_400_000, 6_900_000), (78.2, 77.9), (51_200_000, 302_900), (2, 1), (1_800_100, 103)),
    ("310109", "虹口区", "Hongkou", (872, 867, 822), (199_800_000, 202_300_000, 600_400_000), (56.5, 55.1),
     (49, 50, 6_050_000, 6_120_000), (76.6, 77.1), (42_500_000, 313_800), (3, 1), (1_320_800, 99)),
    ("310110", "杨浦区", "Yangpu", (1_012, 1_007, 962), (262_100_000, 244_000_000, 770_900_000), (52.7, 53.4),
     (60, 57, 7_980_000, 7_200_000), (80.5, 79.6), (55_300_000, 271_600), (2, 0), (1_960_300, 88)),
    ("310112", "闵行区", "Minhang", (1_262, 1_258, 1_212), (422_500_000, 390_200_000, 1_230_000_000),
     (50.0, 51.7), (81, 77, 12_400_000, 11_120_000), (82.3, 81.1), (89_000_000, 381_200), (2, 0),
     (2_990_100, 124)),
    ("310113", "宝山区", "Baoshan", (1_102, 1_096, 1_042), (352_200_000, 322_700_000, 1_020_000_000),
     (54.2, 56.0), (72, 70, 10_200_000, 9_400_000), (79.3, 78.1), (74_100_000, 367_000), (3, 1),
     (2_550_000, 130)),
    ("310114", "嘉定区", "Jiading", (1_152, 1_147, 1_092), (332_000_000, 317_400_000, 970_200_000),
     (52.8, 53.7), (68, 66, 9_500_000, 9_110_000), (81.0, 80.2), (69_900_000, 306_300), (2, 0),
     (2_320_000, 101)),
    ("310115", "浦东新区", "Pudong New Area", (2_402, 2_399, 2_302),
     (982_600_000, 907_000_000, 2_860_000_000), (44.7, 46.3), (150, 139, 30_250_000, 27_500_000),
     (87.1, 85.8), (206_700_000, 603_400), (4, 1), (6_130_000, 153)),
    ("310116", "金山区", "Jinshan", (822, 816, 762), (151_300_000, 153_000_000, 450_100_000), (60.1, 59.0),
     (45, 47, 4_200_000, 4_400_000), (74.8, 75.4), (32_200_000, 271_400), (3, 2), (990_400, 83)),
    ("310117", "松江区", "Songjiang", (1_082, 1_078, 1_022), (312_400_000, 292_000_000, 910_300_000),
     (50.9, 52.1), (64, 60, 8_900_000, 8_200_000), (79.8, 79.1), (65_500_000, 321_100), (2, 0),
     (2_211_000, 110)),
    ("310118", "青浦区", "Qingpu", (902, 898, 852), (222_600_000, 207_800_000, 650_700_000), (57.7, 58.2),
     (55, 52, 6_500_000, 6_210_000), (77.4, 77.0), (47_100_000, 291_500), (3, 1), (1_550_000, 97)),
    ("310120", "奉贤区", "Fengxian", (882, 877, 832), (212_100_000, 201_900_000, 620_200_000), (58.6, 60.1),
     (51, 49, 6_000_000, 5_720_000), (77.1, 76.2), (44_900_000, 301_200), (2, 1), (1_430_000, 90)),
    ("310151", "崇明区", "Chongming", (802, 722, 562), (29_500_000, 0, 19_300_000), (None, 71.3),
     (20, 23, 0, 0), (None, 70.3), (0, 0), (1, 1), (0, 0)),
]  # fmt: skip

DIMENSIONS = [
    ("normative", "规范性", "Normativity", 91.9, 1_630_300_000, 12_104_210),
    ("completeness", "完整性", "Completeness", 96.4, 1_990_450_000, 7_610_220),
    ("accuracy", "准确性", "Accuracy", 88.6, 1_512_800_000, 9_980_430),
    ("consistency", "一致性", "Consistency", 93.7, 1_110_200_000, 4_431_900),
    ("timeliness", "时效性", "Timeliness", 72.0, 420_000, 116_900),
    ("accessibility", "可访问性", "Accessibility", None, 0, 0),
]

TREND = [
    ("2025-11", 5_220_400_000, 74.4, 61.1, 1_214),
    ("2025-12", 0, None, None, 0),  # the platform's migration month: nothing collected or audited
    ("2026-01", 5_080_200_000, 74.1, 62.8, 1_160),
    ("2026-02", 3_970_600_000, 74.7, 60.6, 990),
    ("2026-03", 5_510_100_000, 75.2, 58.0, 1_270),
    ("2026-04", 5_903_000_000, 75.8, 57.2, 1_311),
    ("2026-05", 6_120_700_000, 76.3, 55.7, 1_354),
    ("2026-06", 6_330_300_000, 76.6, 53.8, 1_400),
    ("2026-07", 6_600_900_000, 77.0, 52.9, 1_430),
    ("2026-08", 6_980_200_000, 77.4, 51.5, 1_476),
    ("2026-09", 7_190_029_000, 77.6, 50.4, 1_512),
    ("2026-10", 7_802_000_000, 78.3, 49.1, 1_571),
]

NARRATIVE = {
    "zh-CN": [
        "截至 2026 年 10 月，市级各部门共编制资源目录 6,783 个，其中 6,539 个完成数据挂载，挂载率 96.40%；"
        "本月归集入湖 27.40 亿条数据，环比增加 16.97%；平均归集时间 13.20 天，较上月增加 0.83 天。",
        "全市各区共编制资源目录 17,396 个，挂载率 99.40%；本月归集 48.63 亿条，"
        "各区公共数据质量平均得分 78.63。",
    ],
    "en": [
        "By October 2026 the city-level departments had compiled 6,783 catalogue entries, 6,539 of them "
        "mounted (96.40%); 2.74 billion records were collected this month, 16.97% more than last month; "
        "the average collection latency was 13.20 days, 0.83 days more than last month.",
        "The districts compiled 17,396 catalogue entries (99.40% mounted) and collected 4.863 billion "
        "records this month; their average quality score is 78.63.",
    ],
}

CITY = figures(
    (6_783, 6_539, 5_877),
    (2_740_250_000, 2_342_920_000, 57_583_500_000),
    (13.2, 12.37),
    (305, 265, 38_110_900, 16_525_300),
    (76.38, 75.1),
    (1_284_874_100, 13_896_087),
    (47, 9),
)
DISTRICTS_TOTAL = figures(
    (17_396, 17_290, 16_571),
    (4_862_900_000, 4_606_100_000, 14_054_800_000),
    (55.24, 56.07),
    (981, 944, 149_115_000, 135_903_000),
    (78.63, 78.2),
    (973_030_000, 4_520_300),
    (36, 10),
)


def _departments() -> list[dict[str, Any]]:
    rows = []
    for code, name, name_en, *numbers in DEPARTMENTS:
        own = [p for p in PROBLEMS if p["department"] == code][:3]
        rows.append(
            {"code": code, "name": name, "name_en": name_en, **figures(*numbers), "top_problems": own}
        )
    rows.sort(key=lambda d: (d["score"] is None, -(d["score"] or 0)))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank if row["score"] is not None else None
    return rows


def _districts() -> list[dict[str, Any]]:
    rows = []
    for code, name, name_en, *numbers, located in DISTRICTS:
        rows.append({"code": code, "name": name, "name_en": name_en, **figures(*numbers), "rank": None})
        rows[-1] |= {"located_rows": located[0], "located_failed": located[1]}
    ranked = sorted((r for r in rows if r["score"] is not None), key=lambda r: -r["score"])
    for rank, row in enumerate(ranked, start=1):
        row["rank"] = rank
    return rows


def cockpit(month: str | None = None) -> dict[str, Any]:
    """A fresh copy of the fixture (tests may change theirs); ``month`` renames its month only."""
    data = copy.deepcopy(
        {
            "month": MONTH,
            "previous_month": PREVIOUS,
            "generated_at": "2026-11-21T10:00:00+08:00",
            "city": CITY,
            "districts_total": DISTRICTS_TOTAL,
            "departments": _departments(),
            "districts": _districts(),
            "dimensions": [
                {"dimension": d, "label": zh, "label_en": en, "score": s, "checked": c, "failed": f}
                for d, zh, en, s, c, f in DIMENSIONS
            ],
            "top_problems": PROBLEMS,
            "spatial": {"checked": 31_411_241, "anomalies": 1_336, "passed": 31_409_905},
            "trend": [
                {"month": m, "records": r, "score": s, "latency_days": lat, "batches": b}
                for m, r, s, lat, b in TREND
            ],
            "narrative": NARRATIVE,
        }
    )
    if month is not None:
        data["month"] = month
    return data
