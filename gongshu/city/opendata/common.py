"""What the open-data builders share: the first chunk's world as Python lists, an address pool per
district, the enterprise register's live entities, codes (USCC of public institutions, landlines).

The open sources are small (tens to a few thousand rows), so they are built row by row from the
true world of chunk 0 — the whole city up to 250,000 persons — and stay consistent with it: every
address is a standard address of the city (or, in a city too small to have one in a district, an
address built the same way), every company is a real entity of the enterprise register.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa

from gongshu.city import ids
from gongshu.city.frames import Frame, TableSpec
from gongshu.city.population import AS_OF, World, rng_for
from gongshu.city.reference import load_yaml

MIN_POOL = 30  # fewer standard addresses in a district than this: top up with built ones
STEM = re.compile(r"(街道|新镇|镇|乡)$")
AS_OF_DATE = np.datetime64(AS_OF, "D")


def stem(street: str) -> str:
    """``外滩街道`` → ``外滩``, ``川沙新镇`` → ``川沙`` (as 教育's school names use it)."""
    return STEM.sub("", street)


def iso_day(days: int) -> str:
    return str(np.datetime64(int(days), "D"))


def stamp(days: int, seconds: int) -> str:
    """``YYYY-MM-DD HH:MM:SS`` of a day (days since the epoch) and a second of that day."""
    return f"{iso_day(days)} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def landline(rng: np.random.Generator) -> str:
    """A Shanghai landline, ``021-`` and eight digits starting 5 or 6."""
    return f"021-{int(rng.integers(50_000_000, 70_000_000))}"


def institution_usccs(authority: str, category: str, divisions: list[int], first: int) -> list[str]:
    """Valid GB 32100 codes for public institutions (事业单位 ``1 2``, 民办非企业 ``5 2`` …).

    Organisation-code bodies come from the same bijection of a serial number as the world's
    pre-2015 legal persons, with serials from ``first`` (≥ 90,000,000, far above any legal
    person's), so they never collide with a registered entity.
    """
    n = len(divisions)
    serial = np.arange(first, first + n, dtype=np.int64)
    org9 = ids.org_codes(ids.digits((serial * 37_735_173 + 13_579_113) % 10**8, 8))
    auth = np.full((n, 1), ord(authority), np.uint8)
    cat = np.full((n, 1), ord(category), np.uint8)
    _matrix, codes = ids.usccs(auth, cat, np.asarray(divisions, dtype=np.int64), org9)
    result: list[str] = codes.to_pylist()
    return result


@dataclass
class Place:
    """One standard address (or a built one in a tiny city)."""

    address_id: str | None
    district: int
    street: str
    road: str
    house_no: str
    building: str
    full: str
    lon: float
    lat: float


@dataclass
class Context:
    """The first chunk's world, prepared for the open-data builders."""

    world: World
    lexicon: dict[str, Any] = field(default_factory=lambda: load_yaml("city/data/open_lexicon.yaml"))

    def rng(self, purpose: str) -> np.random.Generator:
        return rng_for(self.world.seed, 0, f"OPEN.{purpose}")

    @cached_property
    def codes(self) -> list[int]:
        """GB/T 2260 codes of the districts, in the reference's order."""
        return [int(c) for c in self.world.ref.district_code]

    @cached_property
    def district_names(self) -> list[str]:
        names: list[str] = self.world.ref.district_name.to_pylist()
        return names

    def district_index(self, code: int | str) -> int:
        return self.codes.index(int(code))

    @cached_property
    def places(self) -> list[Place]:
        a = self.world.addresses
        columns = [c.to_pylist() for c in (a.address_id, a.street, a.road, a.house_no, a.building, a.full)]
        out = [
            Place(aid, int(d), s, r, h, b, f, float(lo), float(la))
            for aid, d, s, r, h, b, f, lo, la in zip(
                *columns[:1], a.district, *columns[1:], a.lon, a.lat, strict=True
            )
        ]
        out += self._built(out)
        return out

    def _built(self, real: list[Place]) -> list[Place]:
        """Addresses built like the city's for districts with fewer than ``MIN_POOL`` real ones."""
        ref, rng = self.world.ref, self.rng("addresses")
        counts = np.bincount([p.district for p in real], minlength=len(self.codes))
        built: list[Place] = []
        for d in range(len(self.codes)):
            roads, streets = ref.roads[d].to_pylist(), ref.streets[d].to_pylist()
            prefixes, suffixes = ref.building_prefixes.to_pylist(), ref.building_suffixes.to_pylist()
            for _ in range(max(0, MIN_POOL - int(counts[d]))):
                road = roads[int(rng.integers(len(roads)))]
                lane = f"{int(rng.integers(1, 1200))}弄" if rng.random() < 0.55 else ""
                house = f"{lane}{int(rng.integers(1, 900))}号"
                angle, dist = rng.random() * 2 * np.pi, np.sqrt(rng.random()) * ref.radius[d] * 0.95
                building = (
                    prefixes[int(rng.integers(len(prefixes)))] + suffixes[int(rng.integers(len(suffixes)))]
                )
                built.append(
                    Place(
                        None,
                        d,
                        streets[int(rng.integers(len(streets)))],
                        road,
                        house,
                        building,
                        f"上海市{self.district_names[d]}{road}{house}",
                        round(float(ref.centre_lon[d] + dist * np.cos(angle)), 6),
                        round(float(ref.centre_lat[d] + dist * np.sin(angle)), 6),
                    )
                )
        return built

    @cached_property
    def by_district(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {d: [] for d in range(len(self.codes))}
        for i, p in enumerate(self.places):
            out[p.district].append(i)
        return out

    @cached_property
    def by_street(self) -> dict[tuple[int, str], list[int]]:
        out: dict[tuple[int, str], list[int]] = {}
        for i, p in enumerate(self.places):
            out.setdefault((p.district, p.street), []).append(i)
        return out

    def place(self, rng: np.random.Generator, district: int, street: str | None = None) -> Place:
        """A standard address in the district (in the street when it has one)."""
        pool = self.by_street.get((district, street), []) if street else []
        pool = pool or self.by_district[district]
        chosen: Place = self.places[pool[int(rng.integers(len(pool)))]]
        return chosen

    @cached_property
    def enterprises(self) -> list[dict[str, Any]]:
        """The world's legal persons as dicts (uscc, name, authority, category, industry …)."""
        lp, ref = self.world.legal, self.world.ref
        industry = ref.industry_code.take(pa.array(lp.industry)).to_pylist()
        rows = zip(
            lp.entity_id.to_pylist(),
            lp.uscc.to_pylist(),
            lp.name.to_pylist(),
            lp.authority.to_pylist(),
            lp.entity_type.to_pylist(),
            lp.status.to_pylist(),
            industry,
            lp.established,
            lp.address,
            lp.legal_rep,
            lp.division,
            strict=True,
        )
        keys = ("entity_id", "uscc", "name", "authority", "entity_type", "status", "industry")
        return [
            dict(zip(keys, r[:7], strict=True))
            | {"category": r[1][1], "established": int(r[7]), "address": int(r[8]), "legal_rep": int(r[9])}
            | {"division": int(r[10])}
            for r in rows
        ]

    def companies(self, industries: set[str] | None = None, *, live: bool = True) -> list[dict[str, Any]]:
        """Entities of the market-regulation register (authority 9), by industry, live ones only."""
        return [
            e
            for e in self.enterprises
            if e["authority"] == "9"
            and (industries is None or e["industry"] in industries)
            and (not live or e["status"] in ("1", "2"))
        ]

    def company_place(self, company: dict[str, Any]) -> Place:
        """The standard address of a legal person's 住所."""
        return self.places[int(company["address"])]


def frame_of(spec: TableSpec, rows: list[dict[str, Any]]) -> Frame:
    """A frame from row dicts (every spec column present in every row)."""
    columns: dict[str, pa.Array] = {}
    for c in spec.columns:
        values = [r[c.name] for r in rows]
        if c.number:
            kind = pa.float64() if any(isinstance(v, float) for v in values) else pa.int64()
            columns[c.name] = pa.array(values, type=kind)
        else:
            columns[c.name] = pa.array(values, type=pa.string())
    return Frame(spec, columns)


def unique(name: str, seen: set[str], fallback: str = "") -> str | None:
    """``name`` if unseen (then remembered), else ``fallback`` if given and unseen, else None."""
    for candidate in (name, fallback):
        if candidate and candidate not in seen:
            seen.add(candidate)
            return candidate
    return None
