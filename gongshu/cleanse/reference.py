"""Reference data the rules compile into literals (参考数据): area codes, districts, code sets.

* Area codes (地址码) of 公民身份号码: every division code in python-stdnum's ``stdnum/cn/loc.dat``
  (current and historic, years ignored), read once at plan time.
* The city's districts: ``data/districts.yaml`` (codes, names, former names, centres).
* Code sets (代码集) of data elements: the shipped ``catalogue/data/elements.yaml`` unless the
  caller passes the installation's elements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from gongshu.catalogue.elements import shipped_elements


@dataclass(frozen=True)
class District:
    """One district: GB/T 2260 code, name, former names and centre (degrees)."""

    code: str
    name: str
    aliases: tuple[str, ...]
    lon: float
    lat: float


@dataclass(frozen=True)
class Districts:
    """The city prefix (上海市) and its districts."""

    city: str
    items: tuple[District, ...]

    @property
    def codes(self) -> list[str]:
        return [d.code for d in self.items]

    def names(self) -> list[tuple[str, str]]:
        """``(name, code)`` for every current and former name, longest first."""
        pairs = [(d.name, d.code) for d in self.items]
        pairs += [(alias, d.code) for d in self.items for alias in d.aliases]
        return sorted(pairs, key=lambda p: -len(p[0]))


@lru_cache(maxsize=1)
def districts() -> Districts:
    """The districts shipped with the cleansing rules (``data/districts.yaml``)."""
    text = resources.files("gongshu.cleanse").joinpath("data/districts.yaml").read_text(encoding="utf-8")
    doc: dict[str, Any] = yaml.safe_load(text)
    items = tuple(
        District(str(d["code"]), d["name"], tuple(d.get("aliases", ())), float(d["lon"]), float(d["lat"]))
        for d in doc["districts"]
    )
    return Districts(doc["city"], items)


@lru_cache(maxsize=1)
def area_codes() -> tuple[str, ...]:
    """Every 6-digit division code in python-stdnum's ``cn/loc.dat``, sorted.

    The file lists a province line (``31 province="上海市"``) followed by indented 4-digit
    suffixes; the code is the province's two digits and the suffix.
    """
    text = resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    codes: set[str] = set()
    province = ""
    for line in text.splitlines():
        head = line.split(" ", 1)[0]
        if len(head) == 2 and head.isdigit():
            province = head
            codes.add(province + "0000")
        elif line[:1].isspace() and province:
            suffix = line.strip().split(" ", 1)[0]
            if len(suffix) == 4 and suffix.isdigit():
                codes.add(province + suffix)
    return tuple(sorted(codes))


@dataclass(frozen=True)
class ElementInfo:
    """What the compiler needs of a data element: its type, length and code set."""

    code: str
    name: str
    type: str
    length: int | None
    codes: dict[str, str] | None


def element_table(documents: list[Mapping[str, Any]] | None = None) -> dict[str, ElementInfo]:
    """Data elements by code, from ``documents`` (ElementSpec-shaped) or the shipped list."""
    docs = documents if documents is not None else shipped_elements()
    return {
        str(d["code"]): ElementInfo(
            str(d["code"]),
            str(d.get("name", "")),
            str(d.get("type", "C")),
            d.get("length"),
            {str(k): str(v) for k, v in d["codes"].items()} if d.get("codes") else None,
        )
        for d in docs
    }


@lru_cache(maxsize=1)
def shipped_element_table() -> dict[str, ElementInfo]:
    return element_table()
