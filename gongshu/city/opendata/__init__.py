"""Open-data sources of the synthetic city (开放数据源): one source per open catalogue entry.

Where :mod:`gongshu.city.departments` derive the registers of persons and companies chunk by chunk,
these are the small public directories, licences and measurements a city opens to its citizens
(老年助餐点, 学校名录, 食品经营许可, 空气质量 …), built once from the first chunk's true world so they
agree with it: standard addresses, enterprises of the market register, the schools of the student
register. They carry no planted defects and no personal identifiers. ``docs/city.md`` lists them.

Example::

    >>> from gongshu.city.population import build_world
    >>> world = build_world(20260101, 0, 1, 0, 3_000)                 # doctest: +SKIP
    >>> [f.spec.source for f in frames(world)][:2]                     # doctest: +SKIP
    ['meal_sites', 'committees']
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from gongshu.city.frames import Frame, TableSpec
from gongshu.city.opendata import places, readings, registers
from gongshu.city.opendata.common import Context, frame_of
from gongshu.city.opendata.specs import DEPARTMENT_NAMES, ENTRIES, SPECS
from gongshu.city.population import World

__all__ = ["BUILDERS", "DEPARTMENT_NAMES", "ENTRIES", "SPECS", "frames", "specs_for"]

Builder = Callable[[Context], list[dict[str, Any]]]
#: source name → the function building its rows.
BUILDERS: dict[str, Builder] = {
    "meal_sites": places.meal_sites,
    "committees": places.committees,
    "venues": places.venues,
    "service_centres": places.service_centres,
    "buildings": places.buildings,
    "land_permits": registers.land_permits,
    "bus_stops": readings.bus_stops,
    "parking": readings.parking,
    "schools": places.schools,
    "social_orgs": registers.social_orgs,
    "elderly_care": places.elderly_care,
    "hr_agencies": registers.hr_agencies,
    "food_licences": registers.food_licences,
    "penalties": registers.penalties,
    "air_quality": readings.air_quality,
    "permits": registers.permits,
    "population_stats": readings.population,
    "medical_orgs": places.medical_orgs,
    "property_services": registers.property_services,
}


def specs_for(departments: Collection[str] | None = None) -> tuple[TableSpec, ...]:
    """The open source tables of the given department codes (all when ``None``)."""
    return tuple(s for s in SPECS if departments is None or s.department in departments)


def frames(world: World, specs: Collection[TableSpec] = SPECS) -> list[Frame]:
    """Build the open sources from the first chunk's world (``world.chunk`` must be 0)."""
    ctx = Context(world)
    return [frame_of(spec, BUILDERS[spec.source](ctx)) for spec in specs]
