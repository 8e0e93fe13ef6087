"""The synthetic city (合成城市): a seeded, vectorised generator of department source systems.

Used by the demo, the tests and the benchmarks of collection, cleansing, quality audit and record
linkage. :func:`generate_city` writes eight departments' sources (SQLite / PostgreSQL / MariaDB
tables, GB18030 and UTF-8 CSV, XLSX, JSON, NDJSON) with planted variations and defects and a
ground-truth manifest; :func:`write_person_csv` writes one large population-register CSV fast.
"""

from __future__ import annotations

from gongshu.city.errors import TargetUnavailable
from gongshu.city.generate import DEFAULT_SEED, CityResult, generate_city
from gongshu.city.noise import DEFECTS, VARIATIONS, Rates
from gongshu.city.person_csv import PersonCsvResult, write_person_csv
from gongshu.city.writers import SourceInfo

__all__ = [
    "DEFAULT_SEED",
    "DEFECTS",
    "VARIATIONS",
    "CityResult",
    "PersonCsvResult",
    "Rates",
    "SourceInfo",
    "TargetUnavailable",
    "generate_city",
    "write_person_csv",
]
