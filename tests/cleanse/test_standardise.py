"""Hand-made tables with exact expected outputs and failures, rule by rule (DuckDB)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from gongshu.cleanse import ColumnBinding, plan_table
from tests.cleanse.conftest import failed, raw_table, run, run_one

B = ColumnBinding
ID = B("id", "公民身份号码", "DE0101", "C", 18)
BIRTH = B("birth", "出生日期", "DE0104", "D")
STAMP = B("stamp", "更新时间", "DE0902", "T")

# (binding, raw value, standardised output, failing rules)
CASES: list[tuple[ColumnBinding, str | None, Any, set[str]]] = [
    # TEXT_CLEAN
    (B("name", "姓名", "DE0102", "C", 50), " 李四\u3000", "李四", set()),
    (B("name", "姓名", "DE0102", "C", 50), "王\u3000五", "王 五", set()),
    (B("name", "姓名", "DE0102", "C", 50), "Ｊｏｈｎ Smith", "John Smith", set()),
    (B("name", "姓名", "DE0102", "C", 50), "", None, set()),
    (B("name", "姓名", "DE0102", "C", 50), "   ", None, set()),
    (
        B("org", "单位", "DE0202", "C", 200),
        "上海某某企业管理中心（有限合伙）",
        "上海某某企业管理中心（有限合伙）",
        set(),
    ),
    (B("addr", "地址", "DE0301", "C", 200), "上海市徐汇区  衡山路１号", "上海市徐汇区 衡山路1号", set()),
    (B("key", "记录号", "DE0906", "C", 64), "\tRK0001 ", "RK0001", set()),
    # ID_UPGRADE, ID_FORMAT, ID_AREA_CODE, ID_BIRTH_DATE, ID_CHECK
    (ID, "11010519491231002X", "11010519491231002X", set()),
    (ID, " 11010519491231002x\u3000", "11010519491231002X", set()),
    (ID, "１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X", set()),
    (ID, "110105491231002", "11010519491231002X", set()),
    (ID, "110105194912310021", "110105194912310021", {"ID_CHECK"}),
    (ID, "390101194912310026", "390101194912310026", {"ID_AREA_CODE"}),
    (ID, "110105194902300020", "110105194902300020", {"ID_BIRTH_DATE"}),
    (ID, "110105200002290021", "110105200002290021", set()),
    (ID, "110105190002290025", "110105190002290025", {"ID_BIRTH_DATE"}),
    (ID, "11010519491231002", "11010519491231002", {"ID_FORMAT"}),
    (ID, "1101051949123100A2", "1101051949123100A2", {"ID_FORMAT"}),
    # DATE_PARSE (D)
    (BIRTH, "2020-05-08", dt.date(2020, 5, 8), set()),
    (BIRTH, "2020年5月8日", dt.date(2020, 5, 8), set()),
    (BIRTH, "2020年05月08日", dt.date(2020, 5, 8), set()),
    (BIRTH, "2020/5/8", dt.date(2020, 5, 8), set()),
    (BIRTH, "2020-5-8", dt.date(2020, 5, 8), set()),
    (BIRTH, "2020.5.8", dt.date(2020, 5, 8), set()),
    (BIRTH, "20200508", dt.date(2020, 5, 8), set()),
    (BIRTH, "43959", dt.date(2020, 5, 8), set()),
    (BIRTH, "２０２０－０５－０８", dt.date(2020, 5, 8), set()),
    (BIRTH, "2025-12-15 16:37:41", dt.date(2025, 12, 15), set()),
    (BIRTH, "2019年2月30日", None, {"DATE_PARSE"}),
    (BIRTH, "2020-13-45", None, {"DATE_PARSE"}),
    (BIRTH, "0000-00-00", None, {"DATE_PARSE"}),
    (BIRTH, "不详", None, {"DATE_PARSE"}),
    (BIRTH, "20211341", None, {"DATE_PARSE"}),
    (BIRTH, "99/99/9999", None, {"DATE_PARSE"}),
    (BIRTH, "12345", None, {"DATE_PARSE"}),
    (BIRTH, None, None, set()),
    # DATE_PARSE (T)
    (STAMP, "2025-12-15 16:37:41", dt.datetime(2025, 12, 15, 16, 37, 41), set()),
    (STAMP, "2025-12-15T16:37:41", dt.datetime(2025, 12, 15, 16, 37, 41), set()),
    (STAMP, "20251215163741", dt.datetime(2025, 12, 15, 16, 37, 41), set()),
    (STAMP, "2025/12/15 9:05", dt.datetime(2025, 12, 15, 9, 5), set()),
    (STAMP, "2025年12月15日 16:37:41.5", dt.datetime(2025, 12, 15, 16, 37, 41, 500000), set()),
    (STAMP, "2025-12-15", dt.datetime(2025, 12, 15), set()),
    (STAMP, "2025-12-15 25:00:00", None, {"DATE_PARSE"}),
    # CODE_UNKNOWN, CODE_PAD
    (B("sex", "性别代码", "DE0103", "C", 1), "1", "1", set()),
    (B("sex", "性别代码", "DE0103", "C", 1), "男", "男", {"CODE_UNKNOWN"}),
    (B("sex", "性别代码", "DE0103", "C", 1), "3", "3", {"CODE_UNKNOWN"}),
    (B("eth", "民族代码", "DE0105", "C", 2), "1", "01", set()),
    (B("eth", "民族代码", "DE0105", "C", 2), " 1 ", "01", set()),
    (B("eth", "民族代码", "DE0105", "C", 2), "99", "99", {"CODE_UNKNOWN"}),
    (B("plate_type", "号牌种类", "DE0403", "C", 2), "2", "2", {"CODE_UNKNOWN"}),
    (B("dc", "区划", "DE0302", "C", 6), "310115", "310115", set()),
    (B("dc", "区划", "DE0302", "C", 6), "310000", "310000", {"CODE_UNKNOWN"}),
    (B("crs", "坐标系", "DE0306", "C", 10), "cgcs2000", "CGCS2000", set()),
    # CODE_SYNONYMS (opt-in)
    (B("sex", "性别", "DE0103", "C", 1, rules=("+CODE_SYNONYMS",)), "男", "1", set()),
    (B("sex", "性别", "DE0103", "C", 1, rules=("+CODE_SYNONYMS",)), "女性", "2", set()),
    (B("sex", "性别", "DE0103", "C", 1, rules=("+CODE_SYNONYMS",)), "m", "1", set()),
    (B("sex", "性别", "DE0103", "C", 1, rules=("+CODE_SYNONYMS",)), "未知性别", "未知性别", {"CODE_UNKNOWN"}),
    (B("eth", "民族", "DE0105", "C", 2, rules=("+CODE_SYNONYMS",)), "汉族", "01", set()),
    # USCC_FORMAT, USCC_CHECK
    (B("uscc", "统一社会信用代码", "DE0201", "C", 18), "91310000MA1FL8KQ3E", "91310000MA1FL8KQ3E", set()),
    (B("uscc", "统一社会信用代码", "DE0201", "C", 18), " 91310000ma1fl8kq3e", "91310000MA1FL8KQ3E", set()),
    (
        B("uscc", "统一社会信用代码", "DE0201", "C", 18),
        "91310000MA1FL8KQ3C",
        "91310000MA1FL8KQ3C",
        {"USCC_CHECK"},
    ),
    (
        B("uscc", "统一社会信用代码", "DE0201", "C", 18),
        "01310000MA1FL8KQ3E",
        "01310000MA1FL8KQ3E",
        {"USCC_FORMAT"},
    ),
    (
        B("uscc", "统一社会信用代码", "DE0201", "C", 18),
        "91310000MA1FL8KQ3",
        "91310000MA1FL8KQ3",
        {"USCC_FORMAT"},
    ),
    # VIN_FORMAT, VIN_CHECK
    (B("vin", "车辆识别代号", "DE0402", "C", 17), "1M8GDM9AXKP042788", "1M8GDM9AXKP042788", set()),
    (B("vin", "车辆识别代号", "DE0402", "C", 17), "1m8gdm9axkp042788", "1M8GDM9AXKP042788", set()),
    (B("vin", "车辆识别代号", "DE0402", "C", 17), "1M8GDM9A1KP042788", "1M8GDM9A1KP042788", {"VIN_CHECK"}),
    (B("vin", "车辆识别代号", "DE0402", "C", 17), "1M8GDM9AXKP04278O", "1M8GDM9AXKP04278O", {"VIN_FORMAT"}),
    # PHONE_CLEAN, PHONE_FORMAT
    (B("phone", "手机", "DE0106", "C", 11), "13800138000", "13800138000", set()),
    (B("phone", "手机", "DE0106", "C", 11), "+86 138-0013-8000", "13800138000", set()),
    (B("phone", "手机", "DE0106", "C", 11), "8613800138000", "13800138000", set()),
    (B("phone", "手机", "DE0106", "C", 11), "１３８ ００１３ ８０００", "13800138000", set()),
    (B("phone", "手机", "DE0106", "C", 11), "13800138000\r", "13800138000", set()),
    (B("phone", "手机", "DE0106", "C", 11), "13800138000\u2028", "13800138000", set()),
    (B("phone", "手机", "DE0106", "C", 11), "1380013800", "1380013800", {"PHONE_FORMAT"}),
    (B("phone", "手机", "DE0106", "C", 11), "138001380008", "138001380008", {"PHONE_FORMAT"}),
    (B("phone", "手机", "DE0106", "C", 11), "12800138000", "12800138000", {"PHONE_FORMAT"}),
    # LANDLINE_CLEAN, LANDLINE_FORMAT
    (B("tel", "电话", "DE0107", "C", 20), "021-52345678", "021-52345678", set()),
    (B("tel", "电话", "DE0107", "C", 20), "02152345678", "021-52345678", set()),
    (B("tel", "电话", "DE0107", "C", 20), "(0571) 8765 4321", "0571-87654321", set()),
    (B("tel", "电话", "DE0107", "C", 20), "010-1234567", "010-1234567", set()),
    (B("tel", "电话", "DE0107", "C", 20), "12345", "12345", {"LANDLINE_FORMAT"}),
    # EMAIL_FORMAT, POSTCODE_FORMAT
    (B("mail", "邮箱", "DE0108", "C", 100), "someone@example.org.cn", "someone@example.org.cn", set()),
    (B("mail", "邮箱", "DE0108", "C", 100), "someone@", "someone@", {"EMAIL_FORMAT"}),
    (B("post", "邮编", "DE0303", "C", 6), "２００１２０", "200120", set()),
    (B("post", "邮编", "DE0303", "C", 6), "20012", "20012", {"POSTCODE_FORMAT"}),
    # PLATE_CLEAN, PLATE_FORMAT
    (B("plate", "号牌", "DE0401", "C", 10), "沪A·12345", "沪A12345", set()),
    (B("plate", "号牌", "DE0401", "C", 10), "沪a 12345", "沪A12345", set()),
    (B("plate", "号牌", "DE0401", "C", 10), "沪A-12345", "沪A12345", set()),
    (B("plate", "号牌", "DE0401", "C", 10), "沪AD12345", "沪AD12345", set()),
    (B("plate", "号牌", "DE0401", "C", 10), "沪A1234", "沪A1234", {"PLATE_FORMAT"}),
    (B("plate", "号牌", "DE0401", "C", 10), "A12345", "A12345", {"PLATE_FORMAT"}),
    # ADDRESS_CLEAN
    (B("addr", "地址", "DE0301", "C", 200), "浦东新区世纪大道1号", "上海市浦东新区世纪大道1号", set()),
    (B("addr", "地址", "DE0301", "C", 200), "上海浦东新区世纪大道1号", "上海市浦东新区世纪大道1号", set()),
    # NUMBER_PARSE
    (B("cap", "注册资本", "DE0204", "N"), "1,234.5", Decimal("1234.500000"), set()),
    (B("cap", "注册资本", "DE0204", "N"), "１００", Decimal("100.000000"), set()),
    (B("cap", "注册资本", "DE0204", "N"), "abc", None, {"NUMBER_PARSE"}),
    (B("cap", "注册资本", "DE0204", "N"), "1e3", Decimal("1000.000000"), set()),
    (B("cap", "注册资本", "DE0204", "N"), "1.5e-05", Decimal("0.000015"), set()),
    (B("cap", "注册资本", "DE0204", "N"), "-12.3456785", Decimal("-12.345679"), set()),
    (B("cap", "注册资本", "DE0204", "N"), "1e+20", None, {"NUMBER_PARSE"}),
    (B("cap", "注册资本", "DE0204", "N"), "1_000", None, {"NUMBER_PARSE"}),
    (B("w", "出生体重", "DE0702", "N"), "3300.0", 3300, set()),
    (B("w", "出生体重", "DE0702", "N"), "+12", 12, set()),
    (B("w", "出生体重", "DE0702", "N"), "3300.5", None, {"NUMBER_PARSE"}),
    (B("lon", "经度", "DE0304", "N"), "121.473701", 121.473701, set()),
    (B("lon", "经度", "DE0304", "N"), "1.2e2", 120.0, set()),
    # BOOLEAN_PARSE
    (B("flag", "是否", "DE0907", "L"), "是", True, set()),
    (B("flag", "是否", "DE0907", "L"), "n", False, set()),
    (B("flag", "是否", "DE0907", "L"), "也许", None, {"BOOLEAN_PARSE"}),
    # LENGTH (warning)
    (B("name", "姓名", "DE0102", "C", 3), "欧阳娜娜", "欧阳娜娜", {"LENGTH"}),
]


@pytest.mark.parametrize(
    ("binding", "raw", "expected", "rules"), CASES, ids=[f"{c[0].element}:{c[1]}" for c in CASES]
)
def test_standardised_value_and_failures(
    binding: ColumnBinding, raw: str | None, expected: Any, rules: set[str]
) -> None:
    (row,) = run_one(binding, [raw])
    assert row[binding.name] == expected
    assert failed(row) == {f"{binding.name}__{r}" for r in rules}


def test_required_sees_missing_not_malformed_values() -> None:
    birth = B("birth", "出生日期", "DE0104", "D", required=True)
    rows = run_one(birth, ["不详", None, "", " ", "2020-05-08"])
    assert [failed(r) for r in rows] == [
        {"birth__DATE_PARSE"},
        {"birth__REQUIRED"},
        {"birth__REQUIRED"},
        {"birth__REQUIRED"},
        set(),
    ]


def test_absent_source_column_gives_null_output() -> None:
    plan = plan_table([B("id", None, "DE0101", "C", 18, required=True), B("x", "x", "DE0905", "C", 10)])
    (row,) = run(plan, raw_table({"x": ["a"]}))
    assert row["id"] is None
    assert failed(row) == {"id__REQUIRED"}


def test_address_district_is_derived_and_compared() -> None:
    plan = plan_table([B("addr", "地址", "DE0301", "C", 200), B("dc", "区划", "DE0302", "C", 6)])
    rows = run(
        plan,
        raw_table(
            {
                "地址": [
                    "上海市浦东新区世纪大道1号",
                    "上海市闸北区天目西路1号",
                    "静安区南京西路1号",
                    "北京市朝阳区",
                    "上海市徐汇区",
                ],
                "区划": ["310115", "310106", "310101", None, None],
            }
        ),
    )
    assert [r["addr__district"] for r in rows] == ["310115", "310106", "310106", None, "310104"]
    assert [bool(r["addr__ADDRESS_DISTRICT"]) for r in rows] == [False, False, True, True, False]
    assert "addr__district" in plan.output_schema().names
    assert {c.severity for c in plan.checks if c.rule_id == "ADDRESS_DISTRICT"} == {"warning"}


def test_coordinates_nearer_another_district_centre_are_blocked() -> None:
    plan = plan_table(
        [B("dc", "区划", "DE0302", "C", 6), B("lon", "经度", "DE0304", "N"), B("lat", "纬度", "DE0305", "N")]
    )
    rows = run(
        plan,
        raw_table(
            {
                "区划": ["310115", "310115", "310151", "310000", None],
                "经度": ["121.5447", "121.3972", "121.3972", "121.3972", "121.3972"],
                "纬度": ["31.2224", "31.6230", "31.6230", "31.6230", "31.6230"],
            }
        ),
    )
    assert [(r["lon__COORD_DISTRICT"], r["lat__COORD_DISTRICT"]) for r in rows] == [
        (False, False),
        (True, True),
        (False, False),
        (False, False),
        (False, False),
    ]


def test_failure_flags_are_never_null() -> None:
    plan = plan_table([ID, BIRTH, B("addr", "地址", "DE0301", "C", 200), B("dc", "区划", "DE0302", "C", 6)])
    rows = run(
        plan,
        raw_table(
            {"公民身份号码": [None, ""], "出生日期": [None, "x"], "地址": [None, ""], "区划": [None, ""]}
        ),
    )
    flags = [k for k in rows[0] if k.rsplit("__", 1)[-1].isupper()]
    assert flags and all(isinstance(r[f], bool) for r in rows for f in flags)
