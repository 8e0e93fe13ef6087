"""Reference data of the synthetic city (参考数据), loaded once from ``gongshu/city/data``.

Everything is turned into numpy / pyarrow arrays so that generators can index into it
vectorised: a person's surname is ``reference().surnames.take(surname_index)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import yaml

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def load_yaml(path: str) -> Any:
    """Parse one YAML data file shipped inside the ``gongshu`` package (path relative to it)."""
    text = resources.files("gongshu").joinpath(path).read_text(encoding="utf-8")
    return yaml.safe_load(text)


@dataclass(frozen=True)
class AreaCodes:
    """Area codes (地址码) with their validity in birth years and a weight.

    ``owner`` is the district index for Shanghai codes and -1 for migrants' codes.
    """

    code: IntArray
    start: IntArray
    end: IntArray
    weight: FloatArray
    owner: IntArray


@dataclass(frozen=True)
class Reference:
    """All lookup arrays the generators need (districts, names, places, vocabularies)."""

    district_code: IntArray
    district_name: pa.Array
    district_postcode: pa.Array
    district_weight: FloatArray
    centre_lon: FloatArray
    centre_lat: FloatArray
    radius: FloatArray
    streets: list[pa.Array]
    roads: list[pa.Array]
    areas: AreaCodes
    unknown_area_codes: IntArray
    surnames: pa.Array
    surname_weight: FloatArray
    surname_similar: IntArray
    given_chars: pa.Array
    given_similar: IntArray
    male_base: int
    female_base: int
    female_offset: int
    building_prefixes: pa.Array
    building_suffixes: pa.Array
    hospitals: pa.Array
    hospital_district: IntArray
    funeral_homes: pa.Array
    industry_code: pa.Array
    industry_word: pa.Array
    brand_chars: pa.Array
    mobile_prefixes: IntArray
    vin_wmis: list[str]
    plate_letters: list[str]


def _similar_index(chars: list[str], similar: dict[str, str]) -> tuple[list[str], IntArray]:
    """Extend ``chars`` with substitutes; return the extended list and char -> substitute index."""
    extended = list(chars)
    target: list[int] = []
    for char in chars:
        sub = similar.get(char)
        if sub is not None and sub not in extended:
            extended.append(sub)
        target.append(-1 if sub is None else extended.index(sub))
    target += [-1] * (len(extended) - len(chars))
    return extended, np.array(target, dtype=np.int64)


def _radii(lon: FloatArray, lat: FloatArray) -> FloatArray:
    """Radius (degrees) of the disc standing in for each district: 45 % of the nearest centre."""
    d = np.hypot(lon[:, None] - lon[None, :], lat[:, None] - lat[None, :])
    np.fill_diagonal(d, np.inf)
    return np.asarray(np.minimum(d.min(axis=1) * 0.45, 0.08), dtype=np.float64)


def _areas(places: dict[str, Any], codes: list[str]) -> AreaCodes:
    rows: list[tuple[int, int, int, float, int]] = []
    for d, code in enumerate(codes):
        for c, s, e, w in places["districts"][code]["area_codes"]:
            rows.append((int(c), int(s), int(e), float(w), d))
    for c, s, e, _name, w in places["migrant_area_codes"]:
        rows.append((int(c), int(s), int(e), float(w), -1))
    cols = list(zip(*rows, strict=True))
    return AreaCodes(
        code=np.array(cols[0], dtype=np.int64),
        start=np.array(cols[1], dtype=np.int64),
        end=np.array(cols[2], dtype=np.int64),
        weight=np.array(cols[3], dtype=np.float64),
        owner=np.array(cols[4], dtype=np.int64),
    )


@lru_cache(maxsize=1)
def reference() -> Reference:
    """The reference data, parsed once per process."""
    districts = load_yaml("orgs/data/districts.yaml")
    places = load_yaml("city/data/places.yaml")
    names = load_yaml("city/data/names.yaml")
    lex = load_yaml("city/data/lexicon.yaml")
    codes = [d["code"] for d in districts]
    lon = np.array([d["lon"] for d in districts], dtype=np.float64)
    lat = np.array([d["lat"] for d in districts], dtype=np.float64)
    surnames = list(names["surnames"])
    s_ext, s_sim = _similar_index(surnames, names["surname_similar"])
    m_ext, m_sim = _similar_index(names["male_chars"], names["similar"])
    f_ext, f_sim = _similar_index(names["female_chars"], names["similar"])
    return Reference(
        district_code=np.array([int(c) for c in codes], dtype=np.int64),
        district_name=pa.array([d["name"] for d in districts]),
        district_postcode=pa.array([d["postcode"] for d in districts]),
        district_weight=np.array([places["districts"][c]["weight"] for c in codes]),
        centre_lon=lon,
        centre_lat=lat,
        radius=_radii(lon, lat),
        streets=[pa.array(places["districts"][c]["streets"]) for c in codes],
        roads=[pa.array(places["districts"][c]["roads"]) for c in codes],
        areas=_areas(places, codes),
        unknown_area_codes=np.array([int(c) for c in places["unknown_area_codes"]]),
        surnames=pa.array(s_ext),
        surname_weight=np.array(list(names["surnames"].values()), dtype=np.float64),
        surname_similar=s_sim,
        given_chars=pa.array(m_ext + f_ext),
        given_similar=np.concatenate([m_sim, np.where(f_sim >= 0, f_sim + len(m_ext), -1)]),
        male_base=len(names["male_chars"]),
        female_base=len(names["female_chars"]),
        female_offset=len(m_ext),
        building_prefixes=pa.array(places["building_prefixes"]),
        building_suffixes=pa.array(places["building_suffixes"]),
        hospitals=pa.array([h[0] for h in lex["hospitals"]]),
        hospital_district=np.array([int(h[1]) for h in lex["hospitals"]], dtype=np.int64),
        funeral_homes=pa.array(lex["funeral_homes"]),
        industry_code=pa.array([i[0] for i in lex["industries"]]),
        industry_word=pa.array([i[1] for i in lex["industries"]]),
        brand_chars=pa.array(lex["brand_chars"]),
        mobile_prefixes=np.array([int(p) for p in lex["mobile_prefixes"]], dtype=np.int64),
        vin_wmis=list(lex["vin_wmis"]),
        plate_letters=list(lex["plate_letters"]),
    )
