"""Helpers shared by the department modules (各委办局数据源公共工具)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from gongshu.city.frames import Column, Identity
from gongshu.city.population import AS_OF, YEAR, World, to_text
from gongshu.city.text import ints, iso_dates, join, null_where, take
from gongshu.city.text import timestamps as stamps

I64 = npt.NDArray[np.int64]


def col(name: str, label: str, header: str = "", *, number: bool = False, date: bool = False) -> Column:
    """Shorthand for a :class:`Column`."""
    return Column(name, label, header, number, date)


def phones(world: World, persons: I64) -> pa.Array:
    """Mobile numbers of persons (null for children without one)."""
    phone = world.persons.phone[persons]
    return null_where(ints(np.maximum(phone, 0)), phone < 0)


def person_address(world: World, persons: I64, *, old: bool = False) -> pa.Array:
    """Full address with room (室) of persons, current or an older one."""
    p = world.persons
    addr = (p.old_address if old else p.address)[persons]
    return join(take(world.addresses.full, addr), ints(p.room[persons]), "室")


def person_ids(world: World, persons: I64) -> Identity:
    return Identity("subject", "person", take(world.persons.person_id, persons))


def role(world: World, name: str, persons: I64) -> Identity:
    return Identity(name, "person", take(world.persons.person_id, persons))


def record_ids(prefix: str, world: World, local: I64, width: int = 12) -> pa.Array:
    """Source-system record identifiers (记录标识), unique across chunks."""
    return join(prefix, to_text(world.chunk * 10**8 + local, width))


def iso(days: I64) -> pa.Array:
    return iso_dates(days)


def timestamps(rng: np.random.Generator, n: int) -> pa.Array:
    """Update times (更新时间) within the last year, ``YYYY-MM-DD HH:MM:SS``."""
    return stamps(AS_OF - rng.integers(0, 365, n), rng.integers(8 * 3600, 20 * 3600, n))


def pick_older(
    rng: np.random.Generator, world: World, pool: I64, ref_birth: I64, min_years: float, max_years: float
) -> I64:
    """For each reference birth date, a person from ``pool`` born min..max years earlier."""
    births = world.persons.birth[pool]
    order = np.argsort(births, kind="stable")
    sorted_births = births[order]
    lo = np.searchsorted(sorted_births, ref_birth - int(max_years * YEAR))
    hi = np.searchsorted(sorted_births, ref_birth - int(min_years * YEAR))
    hi = np.maximum(hi, lo + 1)
    choice = np.minimum(lo + (rng.random(len(ref_birth)) * (hi - lo)).astype(np.int64), len(pool) - 1)
    return np.asarray(pool[order[choice]], dtype=np.int64)


def code_text(values: I64, width: int) -> pa.Array:
    return ints(values, width)
