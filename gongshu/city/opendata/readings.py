"""Open measurements and networks (监测、统计与线网): hourly air quality per district station,
half-hourly free spaces of public car parks, bus lines with their stops, yearly district population.
All timed series end at the city's as-of date (2025-12-31)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gongshu.city.opendata.common import Context, stamp, stem
from gongshu.city.population import AS_OF

# HJ 633-2012 individual AQI breakpoints (hourly SO2/NO2/CO/O3, 24-hour PM used for real-time PM)
IAQI = (0, 50, 100, 150, 200, 300, 400, 500)
BREAKPOINTS: dict[str, tuple[float, ...]] = {
    "SO2": (0, 150, 500, 650, 800, 1600, 2100, 2620),
    "NO2": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "PM10": (0, 50, 150, 250, 350, 420, 500, 600),
    "CO": (0, 5, 10, 35, 60, 90, 120, 150),
    "O3": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "PM2.5": (0, 35, 75, 115, 150, 250, 350, 500),
}
LEVELS = (
    (50, "优"),
    (100, "良"),
    (150, "轻度污染"),
    (200, "中度污染"),
    (300, "重度污染"),
    (10**9, "严重污染"),
)
AIR_HOURS = 72
PARKS, PARK_STEP_MIN = 40, 30
BUS_LINES = 60
# 常住人口 of the city (万人), 2016-2025: published totals (2025 estimated).
CITY_POPULATION = {2016: 2419.70, 2017: 2418.33, 2018: 2423.78, 2019: 2428.14, 2020: 2488.36,
                   2021: 2489.43, 2022: 2475.89, 2023: 2487.45, 2024: 2480.26, 2025: 2480.00}  # fmt: skip


def iaqi(pollutant: str, value: float) -> int:
    """Individual air quality index of one concentration (µg/m³, CO mg/m³), linear between breakpoints."""
    bp = BREAKPOINTS[pollutant]
    for i in range(1, len(bp)):
        if value <= bp[i]:
            return int(
                np.ceil(IAQI[i - 1] + (IAQI[i] - IAQI[i - 1]) * (value - bp[i - 1]) / (bp[i] - bp[i - 1]))
            )
    return 500


def air_quality(ctx: Context) -> list[dict[str, Any]]:
    """空气质量实时数据: one station per district, the last 72 hours, AQI computed per HJ 633."""
    rng = ctx.rng("air_quality")
    daily = rng.uniform(25, 75, AIR_HOURS // 24 + 1)  # a regional PM2.5 level per day (winter)
    rows: list[dict[str, Any]] = []
    for i, code in enumerate(ctx.codes):
        station = ctx.lexicon["air_stations"][str(code)]
        local = rng.uniform(0.85, 1.2)
        for h in range(AIR_HOURS):
            hour = h % 24
            day = AS_OF - (AIR_HOURS // 24 - 1) + h // 24
            rush = 1.0 + 0.35 * (np.exp(-((hour - 8) ** 2) / 4) + np.exp(-((hour - 18) ** 2) / 4))
            sun = max(0.0, float(np.sin((hour - 7) / 12 * np.pi)))
            pm25 = max(5.0, daily[h // 24] * local * (0.8 + 0.3 * rush / 1.35) * rng.lognormal(0, 0.12))
            values = {
                "PM2.5": round(pm25),
                "PM10": round(pm25 * rng.uniform(1.3, 1.7)),
                "O3": round(20 + 60 * sun * rng.uniform(0.7, 1.3)),
                "NO2": round(25 * rush * local * rng.uniform(0.8, 1.4)),
                "SO2": round(rng.uniform(4, 11)),
                "CO": round(float(0.5 + 0.3 * rush * rng.uniform(0.8, 1.2)), 1),
            }
            indices = {p: iaqi(p, float(v)) for p, v in values.items()}
            aqi = max(indices.values())
            first = max(indices, key=lambda p: indices[p])
            rows.append(
                {
                    "station_code": f"{1141 + i}A",
                    "station": station,
                    "district_code": str(code),
                    "measured_at": stamp(day, hour * 3600),
                    "aqi": aqi,
                    "quality_level": next(name for top, name in LEVELS if aqi <= top),
                    "primary_pollutant": first if aqi > 50 else None,
                    "pm25": values["PM2.5"],
                    "pm10": values["PM10"],
                    "o3": values["O3"],
                    "no2": values["NO2"],
                    "so2": values["SO2"],
                    "co": values["CO"],
                }
            )
    return rows


def parking(ctx: Context) -> list[dict[str, Any]]:
    """公共停车场实时泊位: 40 car parks, a reading every 30 minutes of the last day."""
    rng, ref, lex = ctx.rng("parking"), ctx.world.ref, ctx.lexicon
    weights = ref.district_weight / ref.district_weight.sum()
    brands = ref.brand_chars.to_pylist()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for k in range(PARKS):
        d = int(rng.choice(len(weights), p=weights))
        place = ctx.place(rng, d)
        pattern = lex["parking_patterns"][int(rng.integers(len(lex["parking_patterns"])))]
        brand = brands[int(rng.integers(len(brands)))] + brands[int(rng.integers(len(brands)))]
        name = pattern.format(b=place.building if "{b}" in pattern and k % 2 else brand, r=place.road,
                              s=stem(place.street))  # fmt: skip
        name = name if name not in seen else f"{ctx.district_names[d]}{name}"
        seen.add(name)
        total = int(rng.integers(8, 121)) * 10
        business = rng.random() < 0.5  # business car parks fill by day, residential ones by night
        for step in range(24 * 60 // PARK_STEP_MIN):
            minute = step * PARK_STEP_MIN
            day_curve = float(np.exp(-(((minute / 60) - 14) ** 2) / 18))
            busy = 0.15 + 0.75 * (day_curve if business else 1 - day_curve)
            occupied = int(np.clip(round(total * busy * rng.uniform(0.9, 1.1)), 0, total))
            rows.append(
                {
                    "park_id": f"P{ctx.codes[d]}{k + 1:03d}",
                    "park_name": name,
                    "district_code": str(ctx.codes[d]),
                    "address": place.full,
                    "lon": place.lon,
                    "lat": place.lat,
                    "total_spaces": total,
                    "free_spaces": total - occupied,
                    "updated": stamp(AS_OF, minute * 60),
                }
            )
    return rows


def bus_stops(ctx: Context) -> list[dict[str, Any]]:
    """公交线路和站点: 60 lines of 12-24 stops along the district's roads, both directions.

    A stop is named after its road and a crossing road (``南京东路河南中路``, as Shanghai names
    them); a name met again in the district is the same stop (same id and coordinates).
    """
    rng, ref = ctx.rng("bus_stops"), ctx.world.ref
    weights = ref.district_weight / ref.district_weight.sum()
    suburban = {310112: "闵行", 310113: "宝山", 310114: "嘉定", 310115: "浦东", 310116: "金山",
                310117: "松江", 310118: "青浦", 310120: "奉贤", 310151: "崇明"}  # fmt: skip
    stops: dict[tuple[int, str], tuple[str, float, float]] = {}
    names: set[str] = set()
    numbers = rng.permutation(np.arange(1, 1200))[:BUS_LINES]
    rows: list[dict[str, Any]] = []
    for n in numbers:
        d = int(rng.choice(len(weights), p=weights))
        code, roads = ctx.codes[d], ref.roads[d].to_pylist()
        name = f"{suburban[code]}{n % 80 + 1}路" if code in suburban and rng.random() < 0.6 else f"{n}路"
        name = name if name not in names else f"{n}路"
        names.add(name)
        lon0, lat0, radius = ref.centre_lon[d], ref.centre_lat[d], float(ref.radius[d])
        angle, dist = rng.random() * 2 * np.pi, np.sqrt(rng.random()) * radius * 0.6
        lon, lat, heading = lon0 + dist * np.cos(angle), lat0 + dist * np.sin(angle), rng.random() * 2 * np.pi
        road = roads[int(rng.integers(len(roads)))]
        line: list[tuple[str, str, float, float]] = []
        for _ in range(int(rng.integers(12, 25))):
            if rng.random() < 0.25:
                road = roads[int(rng.integers(len(roads)))]
                heading += rng.choice([-np.pi / 2, np.pi / 2])
            cross = roads[int(rng.integers(len(roads)))]
            if cross == road:
                continue
            step = min(rng.uniform(0.004, 0.007), radius * 0.5)
            if (
                np.hypot(lon + step * np.cos(heading) - lon0, lat + step * np.sin(heading) - lat0)
                > radius * 0.9
            ):
                heading = float(np.arctan2(lat0 - lat, lon0 - lon))  # turn back towards the district's centre
            lon, lat = lon + step * np.cos(heading), lat + step * np.sin(heading)
            stop = f"{road}{cross}"
            if (d, stop) not in stops:
                stops[(d, stop)] = (f"{code}{len(stops) + 1:05d}", round(float(lon), 6), round(float(lat), 6))
            sid, slon, slat = stops[(d, stop)]
            if not line or line[-1][0] != sid:
                line.append((sid, stop, slon, slat))
        for direction, seq in (("上行", line), ("下行", line[::-1])):
            for i, (sid, stop, slon, slat) in enumerate(seq, start=1):
                rows.append(
                    {
                        "line_name": name,
                        "direction": direction,
                        "stop_sequence": i,
                        "stop_id": sid,
                        "stop_name": stop,
                        "district_code": str(code),
                        "lon": slon,
                        "lat": slat,
                    }
                )
    return rows


def population(ctx: Context) -> list[dict[str, Any]]:
    """人口统计年度数据: 常住人口 per district and year 2016-2025, split by the city's weights.

    Each district drifts from its share by a steady trend (central districts shrink, outer ones
    grow); 户籍 and 外来 shares and the share aged 60+ follow district profiles.
    """
    rng, ref = ctx.rng("population"), ctx.world.ref
    share = ref.district_weight / ref.district_weight.sum()
    trend = rng.normal(0, 0.004, len(share))
    migrant_share = rng.uniform(0.2, 0.5, len(share))
    aged = rng.uniform(22, 36, len(share))
    rows: list[dict[str, Any]] = []
    for year, total in CITY_POPULATION.items():
        t = year - 2025
        weights = share * np.exp(trend * t)
        weights /= weights.sum()
        for d, code in enumerate(ctx.codes):
            resident = float(total * weights[d])
            migrant = resident * float(migrant_share[d]) * (1 + 0.01 * t)
            rows.append(
                {
                    "year": str(year),
                    "district_code": str(code),
                    "district_name": ctx.district_names[d],
                    "population": round(resident, 2),
                    "registered": round((resident - migrant) * float(rng.uniform(1.02, 1.12)), 2),
                    "migrant": round(migrant, 2),
                    "aged60_share": round(float(aged[d]) + 0.6 * t + float(rng.normal(0, 0.1)), 1),
                }
            )
    return rows
