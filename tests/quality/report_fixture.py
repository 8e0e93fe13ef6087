"""A hand-made monthly quality report of the shape ``gongshu.quality.figures.monthly_report`` returns.

The shape is the contract in ``/work/contracts/report_shape.md`` (and docs/quality-report.md): 11
city-level departments (委办局) ranked by score, the 16 districts in division-code order, the six
GB/T 36344 dimensions, the top problems and a 12-month trend. Some figures are ``None`` (nothing
measured), as the real function returns them: 上海市统计局 had no batch this month and 崇明区 none
with an audit. The renderers must show them as "—" (empty cells in the workbook).
"""

from __future__ import annotations

import copy
from typing import Any

MONTH = "2026-10"
PREVIOUS = "2026-09"


def _change(now: int, before: int) -> float | None:
    return None if before == 0 else round(now / before - 1, 4)


def _delta(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else round(now - before, 2)


def figures(
    entries: int,
    mounted: int,
    tables: int,
    records: tuple[int, int, int],
    latency: tuple[float | None, float | None],
    demands: tuple[int, int],
    calls: tuple[int, int],
    score: tuple[float | None, float | None],
    checked: int,
    anomalies: int,
    tickets: tuple[int, int],
) -> dict[str, Any]:
    """One FIGURES mapping; the ratios and changes derived as the contract defines them."""
    month, previous, total = records
    return {
        "entries": entries,
        "mounted": mounted,
        "mounted_ratio": round(mounted / entries, 4) if entries else None,
        "tables": tables,
        "records_month": month,
        "records_previous": previous,
        "records_change": _change(month, previous),
        "records_total": total,
        "latency_days": latency[0],
        "latency_previous": latency[1],
        "latency_change": _delta(*latency),
        "demands": demands[0],
        "demands_previous": demands[1],
        "calls": calls[0],
        "calls_previous": calls[1],
        "score": score[0],
        "score_previous": score[1],
        "checked": checked,
        "anomalies": anomalies,
        "open_tickets": tickets[0],
        "overdue_tickets": tickets[1],
    }


def problem(
    rule: str,
    description: str,
    description_en: str,
    dimension: str,
    department: tuple[str, str],
    entry: tuple[str, str],
    column: tuple[str, str],
    failed: int,
    checked: int,
) -> dict[str, Any]:
    return {
        "rule": rule,
        "description": description,
        "description_en": description_en,
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

PROBLEMS = [
    problem(
        "ID_CHECK", "公民身份号码校验位错误", "Check digit of the citizen ID number is wrong", "accuracy",
        GA, ("101001001/000001", "实有人口基本信息"), ("id_number", "公民身份号码"), 18_342, 2_406_551,
    ),
    problem(
        "USCC_CHECK", "统一社会信用代码校验位错误", "Check digit of the unified social credit code is wrong",
        "accuracy", SCJG, ("102001001/000001", "法人登记信息"), ("uscc", "统一社会信用代码"),
        9_876, 1_250_000,
    ),
    problem(
        "NOT_NULL", "必填信息项为空", "A required data item is empty", "completeness",
        RS, ("304001001/000001", "就业登记信息"), ("employer", "用人单位名称"), 7_415, 905_220,
    ),
    problem(
        "DATE_FORMAT", "日期格式不规范", "Date is not in a standard format", "normative",
        MZ, ("301001001/000001", "婚姻登记信息"), ("register_date", "登记日期"), 5_220, 640_118,
    ),
    problem(
        "ADDRESS_GEOCODE", "地址无法定位到标准地址", "Address cannot be located to a standard address",
        "accuracy", GHZY, ("305001001/000001", "建筑房屋信息"), ("address", "房屋地址"), 4_101, 512_004,
    ),
    problem(
        "CODE_IN_LIST", "代码不在标准代码表中", "Code is not in the standard code list", "consistency",
        WJ, ("306001001/000001", "出生医学证明信息"), ("hospital_code", "签发机构代码"), 3_057, 377_932,
    ),
    problem(
        "FRESHNESS", "数据未按更新周期更新", "Data was not updated within its update cycle", "timeliness",
        JT, ("307001001/000001", "公交线路运营信息"), ("updated_at", "更新时间"), 2_880, 96_000,
    ),
    problem(
        "PHONE_FORMAT", "联系电话格式错误", "Telephone number is malformed", "normative",
        RS, ("304001001/000001", "就业登记信息"), ("phone", "联系电话"), 2_164, 905_220,
    ),
    problem(
        "DUPLICATE_KEY", "主键重复", "Duplicate primary key", "consistency",
        SCJG, ("102001001/000001", "法人登记信息"), ("record_id", "记录标识"), 1_310, 1_250_000,
    ),
    problem(
        "DEATH_AFTER_BIRTH", "死亡日期早于出生日期", "Date of death is before the date of birth",
        "consistency",
        MZ, ("301001002/000001", "死亡登记信息"), ("death_date", "死亡日期"), 412, 88_120,
    ),
]  # fmt: skip

#: code, name, name_en, (entries, mounted, tables), (records this month, previous, total),
#: (latency, previous), (demands, previous), (calls, previous), (score, previous),
#: (checked, anomalies), (open tickets, overdue)
DEPARTMENTS: list[tuple[Any, ...]] = [
    ("GA", "上海市公安局", "Shanghai Municipal Public Security Bureau", (1120, 1098, 1052),
     (612_400_000, 540_100_000, 12_804_000_000), (9.8, 10.4), (42, 35), (9_120_400, 4_210_000),
     (88.6, 87.9), (310_552_100, 1_204_330), (6, 1)),
    ("GHZY", "上海市规划和自然资源局", "Shanghai Municipal Planning and Natural Resources Bureau",
     (604, 598, 560), (402_180_000, 330_900_000, 9_410_000_000), (8.1, 8.6), (37, 30),
     (8_841_000, 3_902_500), (86.2, 85.0), (201_400_000, 1_003_211), (3, 0)),
    ("SCJG", "上海市市场监督管理局", "Shanghai Municipal Administration for Market Regulation",
     (880, 861, 805), (388_050_000, 351_220_000, 8_620_500_000), (11.5, 10.9), (35, 31),
     (6_530_700, 2_851_200), (82.4, 81.7), (188_040_000, 1_640_102), (5, 2)),
    ("ZJ", "上海市住房和城乡建设管理委员会",
     "Shanghai Municipal Commission of Housing and Urban-Rural Development",
     (512, 490, 455), (301_600_000, 240_300_000, 6_044_000_000), (12.6, 13.0), (31, 24),
     (4_912_300, 1_720_000), (80.1, 78.8), (141_200_000, 1_512_900), (4, 1)),
    ("RS", "上海市人力资源和社会保障局", "Shanghai Municipal Human Resources and Social Security Bureau",
     (730, 702, 650), (296_500_000, 270_000_000, 5_812_300_000), (13.4, 12.1), (33, 30),
     (3_840_100, 1_690_400), (77.9, 78.3), (129_330_000, 1_802_044), (7, 3)),
    ("WJ", "上海市卫生健康委员会", "Shanghai Municipal Health Commission",
     (655, 611, 570), (210_330_000, 190_100_000, 4_310_800_000), (14.2, 13.1), (28, 26),
     (2_310_900, 1_140_300), (75.3, 74.0), (99_100_000, 1_377_100), (5, 1)),
    ("MZ", "上海市民政局", "Shanghai Municipal Civil Affairs Bureau",
     (468, 452, 420), (150_200_000, 128_700_000, 3_120_600_000), (15.1, 14.9), (27, 25),
     (1_622_400, 690_900), (73.8, 72.2), (70_120_000, 1_290_500), (6, 2)),
    ("JW", "上海市教育委员会", "Shanghai Municipal Education Commission",
     (520, 488, 430), (120_050_000, 110_000_000, 2_740_000_000), (16.8, 15.2), (24, 22),
     (1_020_700, 560_800), (70.4, 71.0), (58_300_000, 1_104_400), (4, 0)),
    ("JT", "上海市交通委员会", "Shanghai Municipal Transportation Commission",
     (590, 571, 520), (118_400_000, 94_000_000, 2_210_400_000), (18.9, 17.0), (25, 20),
     (512_300, 301_400), (68.2, 66.9), (52_900_000, 1_001_200), (4, 2)),
    ("STHJ", "上海市生态环境局", "Shanghai Municipal Bureau of Ecology and Environment",
     (411, 392, 359), (88_290_000, 92_700_000, 1_630_900_000), (20.7, 19.6), (23, 22),
     (400_100, 389_200), (64.5, 65.8), (37_500_000, 802_300), (3, 1)),
    ("TJ", "上海市统计局", "Shanghai Municipal Statistics Bureau", (250, 249, 0),
     (0, 0, 0), (None, None), (0, 0), (0, 0), (None, None), (0, 0), (0, 0)),
]  # fmt: skip

#: code, name, name_en, (entries, mounted, tables), (records, previous, total), (latency, previous),
#: (demands, previous), (calls, previous), (score, previous), (checked, anomalies), tickets, located
DISTRICTS: list[tuple[Any, ...]] = [
    ("310101", "黄浦区", "Huangpu", (980, 978, 940), (288_400_000, 270_100_000, 830_200_000), (49.1, 50.3),
     (61, 58), (8_120_000, 7_400_000), (81.2, 80.6), (60_310_000, 301_200), (2, 0), (1_820_330, 9_120)),
    ("310104", "徐汇区", "Xuhui", (1_120, 1_118, 1_070), (330_900_000, 300_800_000, 951_000_000),
     (47.3, 48.0),
     (70, 64), (9_850_000, 8_930_000), (83.7, 82.9), (69_200_000, 288_900), (1, 0), (2_130_400, 8_004)),
    ("310105", "长宁区", "Changning", (860, 858, 820), (201_500_000, 190_400_000, 580_700_000), (51.8, 52.2),
     (52, 55), (6_410_000, 5_990_000), (79.9, 80.4), (42_100_000, 250_100), (3, 1), (1_402_900, 7_711)),
    ("310106", "静安区", "Jing'an", (1_050, 1_049, 1_003), (312_700_000, 280_000_000, 900_100_000),
     (45.6, 47.9),
     (66, 60), (9_020_000, 8_110_000), (84.5, 83.1), (65_400_000, 240_300), (1, 0), (2_004_500, 6_902)),
    ("310107", "普陀区", "Putuo", (990, 985, 930), (240_300_000, 231_000_000, 700_500_000), (55.0, 54.1),
     (57, 51), (7_300_000, 6_800_000), (78.0, 77.8), (50_200_000, 301_900), (2, 1), (1_790_100, 10_330)),
    ("310109", "虹口区", "Hongkou", (870, 866, 820), (198_800_000, 201_300_000, 590_400_000), (56.7, 55.0),
     (49, 50), (5_950_000, 6_020_000), (76.4, 77.0), (41_500_000, 312_800), (3, 1), (1_310_800, 9_950)),
    ("310110", "杨浦区", "Yangpu", (1_010, 1_006, 960), (260_100_000, 242_000_000, 760_900_000), (52.9, 53.3),
     (60, 57), (7_880_000, 7_100_000), (80.3, 79.5), (54_300_000, 270_600), (2, 0), (1_950_300, 8_870)),
    ("310112", "闵行区", "Minhang", (1_260, 1_257, 1_210), (420_500_000, 388_200_000, 1_220_000_000),
     (50.2, 51.6), (81, 77), (12_300_000, 11_020_000), (82.1, 81.0), (88_000_000, 380_200), (2, 0),
     (2_980_100, 12_400)),
    ("310113", "宝山区", "Baoshan", (1_100, 1_095, 1_040), (350_200_000, 320_700_000, 1_010_000_000),
     (54.4, 55.9), (72, 70), (10_100_000, 9_300_000), (79.1, 78.0), (73_100_000, 366_000), (3, 1),
     (2_540_000, 13_010)),
    ("310114", "嘉定区", "Jiading", (1_150, 1_146, 1_090), (330_000_000, 315_400_000, 960_200_000),
     (53.0, 53.6),
     (68, 66), (9_400_000, 9_010_000), (80.8, 80.1), (68_900_000, 305_300), (2, 0), (2_310_000, 10_100)),
    ("310115", "浦东新区", "Pudong New Area", (2_400, 2_398, 2_300),
     (980_600_000, 905_000_000, 2_850_000_000),
     (44.9, 46.2), (150, 139), (30_150_000, 27_400_000), (86.9, 85.7), (205_700_000, 602_400), (4, 1),
     (6_120_000, 15_300)),
    ("310116", "金山区", "Jinshan", (820, 815, 760), (150_300_000, 152_000_000, 440_100_000), (60.3, 58.9),
     (45, 47), (4_100_000, 4_300_000), (74.6, 75.3), (31_200_000, 270_400), (3, 2), (980_400, 8_300)),
    ("310117", "松江区", "Songjiang", (1_080, 1_077, 1_020), (310_400_000, 290_000_000, 900_300_000),
     (51.1, 52.0), (64, 60), (8_800_000, 8_100_000), (79.6, 79.0), (64_500_000, 320_100), (2, 0),
     (2_201_000, 11_020)),
    ("310118", "青浦区", "Qingpu", (900, 897, 850), (220_600_000, 205_800_000, 640_700_000), (57.9, 58.1),
     (55, 52), (6_400_000, 6_110_000), (77.2, 76.9), (46_100_000, 290_500), (3, 1), (1_540_000, 9_700)),
    ("310120", "奉贤区", "Fengxian", (880, 876, 830), (210_100_000, 199_900_000, 610_200_000), (58.8, 60.0),
     (51, 49), (5_900_000, 5_620_000), (76.9, 76.1), (43_900_000, 300_200), (2, 1), (1_420_000, 9_010)),
    ("310151", "崇明区", "Chongming", (800, 720, 560), (29_000_000, 0, 18_800_000), (None, 71.4),
     (20, 23), (0, 0), (None, 70.2), (0, 0), (1, 1), (0, 0)),
]  # fmt: skip

DIMENSIONS = [
    ("normative", "规范性", "Normativity", 91.7, 1_620_300_000, 12_004_210),
    ("completeness", "完整性", "Completeness", 96.2, 1_980_450_000, 7_510_220),
    ("accuracy", "准确性", "Accuracy", 88.4, 1_502_800_000, 9_880_430),
    ("consistency", "一致性", "Consistency", 93.5, 1_100_200_000, 4_331_900),
    ("timeliness", "时效性", "Timeliness", 71.8, 412_000, 116_180),
    ("accessibility", "可访问性", "Accessibility", None, 0, 0),
]

TREND = [
    ("2025-11", 5_120_400_000, 74.2, 61.3, 1_204),
    ("2025-12", 0, None, None, 0),  # the platform's migration month: nothing collected or audited
    ("2026-01", 4_980_200_000, 73.9, 63.0, 1_150),
    ("2026-02", 3_870_600_000, 74.5, 60.8, 980),
    ("2026-03", 5_410_100_000, 75.0, 58.2, 1_260),
    ("2026-04", 5_803_000_000, 75.6, 57.4, 1_301),
    ("2026-05", 6_020_700_000, 76.1, 55.9, 1_344),
    ("2026-06", 6_230_300_000, 76.4, 54.0, 1_390),
    ("2026-07", 6_500_900_000, 76.8, 53.1, 1_420),
    ("2026-08", 6_880_200_000, 77.2, 51.7, 1_466),
    ("2026-09", 7_090_029_000, 77.4, 50.6, 1_502),
    ("2026-10", 7_722_000_000, 78.1, 49.3, 1_561),
]

NARRATIVE = {
    "zh-CN": [
        "截至 2026 年 10 月，市级各部门共编制资源目录 6,740 个，其中 6,512 个完成数据挂载，挂载率 96.62%；"
        "本月归集入湖 26.88 亿条数据，环比增加 18.01%；数据的平均归集时间为 13.20 天，较上月增加 0.83 天。",
        "本月市级各部门共提数据共享需求 305 个，较上月增加 40 个；资源共享 3,811.09 万次，环比增加 130.42%。"
        "经市大数据中心评定，全市市级单位公共数据质量的平均得分为 76.38。",
        "全市各区共编制资源目录 17,300 个，其中 17,267 个目录挂载了数据资源，占目录总数的 99.81%；"
        "本月归集 50.34 亿条，数据的平均归集时间为 55.24 天。本期各区公共数据质量的平均得分为 78.63。",
    ],
    "en": [
        "By October 2026 the city-level departments had compiled 6,740 catalogue entries, 6,512 of them "
        "mounted (96.62%); 2.688 billion records were collected this month, 18.01% more than last month; "
        "the average collection latency was 13.20 days, 0.83 days more than last month.",
        "The departments filed 305 sharing demands this month (40 more than last month) and resources were "
        "called 38.11 million times (+130.42%). The average quality score of city-level departments "
        "is 76.38.",
        "The districts compiled 17,300 catalogue entries, 17,267 of them mounted (99.81%); 5.034 billion "
        "records were collected this month with an average latency of 55.24 days. Their average score "
        "is 78.63.",
    ],
}

CITY = {
    "entries": 6_740,
    "mounted": 6_512,
    "mounted_ratio": 0.9662,
    "tables": 5_821,
    "records_month": 2_688_000_000,
    "records_previous": 2_277_929_000,
    "records_change": 0.1801,
    "records_total": 56_703_500_000,
    "latency_days": 13.2,
    "latency_previous": 12.37,
    "latency_change": 0.83,
    "demands": 305,
    "demands_previous": 265,
    "calls": 38_110_900,
    "calls_previous": 16_539_721,
    "score": 76.38,
    "score_previous": 75.1,
    "checked": 1_234_567_890,
    "anomalies": 8_765_432,
    "open_tickets": 47,
    "overdue_tickets": 9,
}

DISTRICTS_TOTAL = {
    "entries": 17_300,
    "mounted": 17_267,
    "mounted_ratio": 0.9981,
    "tables": 16_531,
    "records_month": 5_034_000_000,
    "records_previous": 4_812_000_000,
    "records_change": 0.0461,
    "records_total": 14_553_000_000,
    "latency_days": 55.24,
    "latency_previous": 56.07,
    "latency_change": -0.83,
    "demands": 981,
    "demands_previous": 944,
    "calls": 149_115_000,
    "calls_previous": 135_903_000,
    "score": 78.63,
    "score_previous": 78.2,
    "checked": 964_730_000,
    "anomalies": 4_521_300,
    "open_tickets": 36,
    "overdue_tickets": 10,
}


def _departments() -> list[dict[str, Any]]:
    rows = []
    for code, name, name_en, counts, records, latency, demands, calls, score, audit, tickets in DEPARTMENTS:
        fig = figures(*counts, records, latency, demands, calls, score, *audit, tickets)
        own = [p for p in PROBLEMS if p["department"] == code][:3]
        rows.append({"code": code, "name": name, "name_en": name_en, **fig, "top_problems": own})
    rows.sort(key=lambda d: (d["score"] is None, -(d["score"] or 0)))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank if row["score"] is not None else None
    return rows


def _districts() -> list[dict[str, Any]]:
    rows = []
    for (
        code,
        name,
        name_en,
        counts,
        records,
        latency,
        demands,
        calls,
        score,
        audit,
        tickets,
        located,
    ) in DISTRICTS:
        fig = figures(*counts, records, latency, demands, calls, score, *audit, tickets)
        rows.append({"code": code, "name": name, "name_en": name_en, **fig, "rank": None})
        rows[-1] |= {"located_rows": located[0], "located_failed": located[1]}
    ranked = sorted((r for r in rows if r["score"] is not None), key=lambda r: -r["score"])
    for rank, row in enumerate(ranked, start=1):
        row["rank"] = rank
    return rows


def report() -> dict[str, Any]:
    """A fresh copy of the fixture report (tests may change theirs)."""
    return copy.deepcopy(
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
