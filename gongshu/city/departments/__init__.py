"""The departments (委办局) of the synthetic city and the source tables each one runs.

Every module has ``SPECS`` (its :class:`~gongshu.city.frames.TableSpec` s) and
``frames(world, rates)`` that derives the chunk's rows from the true world.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from gongshu.city.departments import ga, ghzy, jt, jw, mz, rs, scjg, wj
from gongshu.city.frames import Frame, TableSpec
from gongshu.city.noise import Rates
from gongshu.city.population import World

MODULES: dict[str, ModuleType] = {
    "GA": ga,
    "MZ": mz,
    "SCJG": scjg,
    "RS": rs,
    "JW": jw,
    "WJ": wj,
    "GHZY": ghzy,
    "JT": jt,
}
NAMES: dict[str, str] = {
    "GA": "公安",
    "MZ": "民政",
    "SCJG": "市场监管",
    "RS": "人社",
    "JW": "教育",
    "WJ": "卫健",
    "GHZY": "规划资源",
    "JT": "交通",
}


def specs(department: str) -> tuple[TableSpec, ...]:
    """The source tables of one department."""
    result: tuple[TableSpec, ...] = MODULES[department].SPECS
    return result


def builder(department: str) -> Callable[[World, Rates], list[Frame]]:
    """The frame builder of one department."""
    result: Callable[[World, Rates], list[Frame]] = MODULES[department].frames
    return result
