"""Open registers about legal persons (法人相关公开信息): 食品经营许可, 行政处罚, 排污许可, 人力资源服务
机构, 物业服务企业, 建设用地规划许可, 社会组织. Every holder is a true entity of the city's register
(its 统一社会信用代码 and registered name), live when the licence requires it."""

from __future__ import annotations

from typing import Any

import numpy as np

from gongshu.city.opendata.common import Context, iso_day, stamp, stem
from gongshu.city.population import AS_OF

YEAR_DAYS = 365


def _clock(rng: np.random.Generator, day: int) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in office hours of ``day``."""
    return stamp(day, int(rng.integers(8 * 3600, 18 * 3600)))


def _district(ctx: Context, company: dict[str, Any]) -> tuple[int, str, str]:
    """(index, code, name) of the district of the company's address."""
    d = ctx.company_place(company).district
    return d, str(ctx.codes[d]), ctx.district_names[d]


def _issued(rng: np.random.Generator, company: dict[str, Any], years: int) -> int:
    """A day within the last ``years`` years, after the company was established."""
    start = max(company["established"] + 30, AS_OF - years * YEAR_DAYS)
    return int(rng.integers(min(start, AS_OF - 1), AS_OF))


def _luhn(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return str((10 - total % 10) % 10)


def food_licences(ctx: Context) -> list[dict[str, Any]]:
    """食品经营许可: 餐饮 and 贸易 entities (and some companies' canteens), licence ``JY`` + 14 digits."""
    rng, lex = ctx.rng("food_licences"), ctx.lexicon["food_business"]
    rows: list[dict[str, Any]] = []
    serial: dict[str, int] = {}
    for company in ctx.companies():
        if company["industry"] == "6210":
            choice = [b for b in lex if b[0] == "2"]
        elif company["industry"] == "5199":
            choice = [b for b in lex if b[0] == "1"]
        elif company["category"] == "1" and rng.random() < 0.05:
            choice = [b for b in lex if b[0] == "3"]
        else:
            continue
        digit, kind, items = choice[int(rng.integers(len(choice)))]
        _d, code, dname = _district(ctx, company)
        serial[code] = serial.get(code, 0) + 1
        body = f"{digit}{code}{serial[code]:06d}"
        issued = _issued(rng, company, 5)
        rows.append(
            {
                "licence_no": f"JY{body}{_luhn(body)}",
                "uscc": company["uscc"],
                "ent_name": company["name"],
                "business_type": kind,
                "business_items": items,
                "premises": ctx.company_place(company).full,
                "district_code": code,
                "issuer": f"上海市{dname}市场监督管理局",
                "issue_date": iso_day(issued),
                "valid_to": iso_day(issued + 5 * YEAR_DAYS - 1),
                "update_time": _clock(rng, issued),
            }
        )
    return rows


def penalties(ctx: Context) -> list[dict[str, Any]]:
    """行政处罚: about 4 % of the register's entities, decisions of 2023-2025."""
    rng, lex = ctx.rng("penalties"), ctx.lexicon["penalties"]
    first = int((np.datetime64("2023-01-01", "D") - np.datetime64(0, "D")).astype(int))
    rows: list[dict[str, Any]] = []
    serial: dict[tuple[str, str], int] = {}
    for company in ctx.companies(live=False):
        if rng.random() >= 0.04 or company["established"] + 60 >= AS_OF:
            continue
        violation, basis, kind, low, high = lex[int(rng.integers(len(lex)))]
        day = int(rng.integers(max(first, company["established"] + 60), AS_OF))
        year = iso_day(day)[:4]
        _d, code, dname = _district(ctx, company)
        serial[(code, year)] = serial.get((code, year), 0) + 1
        amount = round(float(rng.uniform(low, high)) / 100) * 100 if high else 0
        rows.append(
            {
                "decision_no": f"沪市监{dname[0]}处〔{year}〕{code[-2:]}{year}{serial[(code, year)]:06d}号",
                "uscc": company["uscc"],
                "ent_name": company["name"],
                "violation": violation,
                "basis": basis,
                "penalty_type": kind,
                "amount": float(amount),
                "authority": f"上海市{dname}市场监督管理局",
                "decision_date": iso_day(day),
                "update_time": _clock(rng, min(day + int(rng.integers(0, 8)), AS_OF)),
            }
        )
    return rows


def permits(ctx: Context) -> list[dict[str, Any]]:
    """排污许可: companies of polluting industries; number = USCC + 3-digit serial + class letter."""
    rng, industries = ctx.rng("permits"), ctx.lexicon["permit_industries"]
    classes = ctx.lexicon["permit_classes"]
    rows: list[dict[str, Any]] = []
    for company in ctx.companies(set(industries)):
        if company["category"] != "1" or rng.random() >= 0.6:
            continue
        heavy = company["industry"] == "3989"  # manufacturing: 重点/简化管理; the others: 登记管理
        management, letter = classes[int(rng.integers(2))] if heavy else classes[2]
        issued = _issued(rng, company, 5)
        _d, code, _name = _district(ctx, company)
        rows.append(
            {
                "licence_no": f"{company['uscc']}001{letter}",
                "uscc": company["uscc"],
                "ent_name": company["name"],
                "industry": industries[company["industry"]],
                "management_class": management,
                "address": ctx.company_place(company).full,
                "district_code": code,
                "valid_from": iso_day(issued),
                "valid_to": iso_day(issued + 5 * YEAR_DAYS - 1),
                "update_time": _clock(rng, issued),
            }
        )
    return rows


def hr_agencies(ctx: Context) -> list[dict[str, Any]]:
    """人力资源服务机构: 咨询 companies holding a 人力资源服务许可证."""
    rng = ctx.rng("hr_agencies")
    scopes = [
        "职业中介、人力资源供求信息发布",
        "人才推荐、人才招聘",
        "人力资源外包、劳务派遣",
        "人力资源培训、测评",
    ]
    rows: list[dict[str, Any]] = []
    serial: dict[str, int] = {}
    for company in ctx.companies({"7243"}):
        if company["category"] != "1" or rng.random() >= 0.7:
            continue
        issued = _issued(rng, company, 8)
        _d, code, _name = _district(ctx, company)
        serial[code] = serial.get(code, 0) + 1
        rows.append(
            {
                "uscc": company["uscc"],
                "org_name": company["name"],
                "licence_no": f"（沪）人服证字〔{iso_day(issued)[:4]}〕第{code[-4:]}{serial[code]:06d}号",
                "service_scope": scopes[int(rng.integers(len(scopes)))],
                "district_code": code,
                "address": ctx.company_place(company).full,
                "issue_date": iso_day(issued),
            }
        )
    return rows


def property_services(ctx: Context) -> list[dict[str, Any]]:
    """物业服务企业: 房地产 and 家政服务 companies, each managing 1-6 小区 or buildings."""
    rng, kinds = ctx.rng("property_services"), ctx.lexicon["project_types"]
    lanes = [i for i, p in enumerate(ctx.places) if "弄" in p.house_no]
    rows: list[dict[str, Any]] = []
    for company in ctx.companies({"7040", "8051"}):
        if company["category"] != "1":
            continue
        for _ in range(int(rng.integers(1, 7))):
            place = ctx.places[lanes[int(rng.integers(len(lanes)))]] if lanes else ctx.company_place(company)
            rows.append(
                {
                    "record_no": f"WY{len(rows) + 1:08d}",
                    "uscc": company["uscc"],
                    "ent_name": company["name"],
                    "building_name": place.building,
                    "project_address": place.full,
                    "district_code": str(ctx.codes[place.district]),
                    "project_type": kinds[int(rng.integers(len(kinds)))],
                }
            )
    return rows


def land_permits(ctx: Context) -> list[dict[str, Any]]:
    """建设用地规划许可: 房地产 and 建筑工程 companies as 建设单位, ``地字第`` numbers."""
    rng, uses = ctx.rng("land_permits"), ctx.lexicon["land_uses"]
    rows: list[dict[str, Any]] = []
    serial: dict[tuple[str, str], int] = {}
    for company in ctx.companies({"7040", "4890"}):
        if company["category"] != "1" or rng.random() >= 0.5:
            continue
        use, letter, low, high = uses[int(rng.integers(len(uses)))]
        d = int(rng.integers(len(ctx.codes)))
        place = ctx.place(rng, d)
        code, dname = str(ctx.codes[d]), ctx.district_names[d]
        issued = _issued(rng, company, 3)
        year = iso_day(issued)[:4]
        serial[(code, year)] = serial.get((code, year), 0) + 1
        plot = f"{letter}{int(rng.integers(1, 40)):02d}-{int(rng.integers(1, 20)):02d}"
        rows.append(
            {
                "licence_no": f"地字第{code}{year}{serial[(code, year)]:05d}号",
                "uscc": company["uscc"],
                "ent_name": company["name"],
                "project_name": f"{dname}{stem(place.street)}{plot}地块{use.removesuffix('用地')}项目",
                "location": f"{dname}{place.street}，{place.road}{'东西南北'[int(rng.integers(4))]}侧",
                "land_use": use,
                "land_area": float(round(float(rng.uniform(low, high)), 1)),
                "district_code": code,
                "issue_date": iso_day(issued),
            }
        )
    return rows


def social_orgs(ctx: Context) -> list[dict[str, Any]]:
    """社会组织登记: the world's legal persons registered by 民政 (authority 5)."""
    rng = ctx.rng("social_orgs")
    persons = ctx.world.persons.name
    kinds = {"1": "社会团体", "2": "民办非企业单位", "3": "基金会"}
    rows: list[dict[str, Any]] = []
    for org in ctx.enterprises:
        if org["authority"] != "5":
            continue
        division = org["division"]
        authority = (
            "上海市民政局"
            if division == 310000
            else f"上海市{ctx.district_names[ctx.district_index(division)]}民政局"
        )
        rows.append(
            {
                "uscc": org["uscc"],
                "org_name": org["name"],
                "org_type": kinds[org["category"]],
                "legal_rep": persons[org["legal_rep"]].as_py(),
                "est_date": iso_day(org["established"]),
                "reg_authority": authority,
                "address": ctx.company_place(org).full,
                "status": "正常" if org["status"] in ("1", "2") else "已注销",
                "update_time": _clock(rng, int(rng.integers(org["established"], AS_OF + 1))),
            }
        )
    return rows
