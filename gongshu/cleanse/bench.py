"""A micro benchmark of the cleanse plan on DuckDB (not a timed test): 公安's population register.

``measure(rows)`` writes (or reuses) a population-register CSV of ``rows`` persons with
:func:`gongshu.city.write_person_csv`, binds its 15 columns like the GA catalogue entry, and times

* ``scan``: reading the CSV as VARCHAR (every column touched), the floor of any pipeline;
* ``cleanse``: the same scan plus every standardised column, helper and failure flag of
  :meth:`CleansePlan.checked`, counted (not written) so that nothing is optimised away.

Wall-clock and CPU seconds are both kept: on a shared machine the CPU time (all threads) gives the
rate the cleansing allows on ``threads`` otherwise idle cores.

Example::

    >>> from gongshu.cleanse.bench import measure
    >>> measure(1_000_000).as_dict()                               # doctest: +SKIP
    {'rows': 1015043, 'threads': 2, 'scan_seconds': 0.4, 'cleanse_seconds': 1.5, ...}
"""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from gongshu.cleanse.plan import CleansePlan, flag_name, plan_table
from gongshu.cleanse.specs import ColumnBinding

REQUIRED = {"record_id", "id_number", "name"}


@dataclass(frozen=True)
class BenchResult:
    """Timings of one run: rows, threads, seconds and rows per second."""

    rows: int
    threads: int
    scan_seconds: float
    cleanse_seconds: float
    checks: int
    scan_cpu_seconds: float = 0.0
    cleanse_cpu_seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        """Rows per second of scan + standardise + failures."""
        return self.rows / self.cleanse_seconds if self.cleanse_seconds else 0.0

    @property
    def cleanse_only_rows_per_second(self) -> float:
        """Rows per second of the cleansing work alone (the scan's time taken away)."""
        extra = self.cleanse_seconds - self.scan_seconds
        return self.rows / extra if extra > 0 else 0.0

    @property
    def cpu_bound_rows_per_second(self) -> float:
        """Rows per second the measured CPU time allows on ``threads`` cores (robust to a busy machine)."""
        return self.rows * self.threads / self.cleanse_cpu_seconds if self.cleanse_cpu_seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rows_per_second": round(self.rows_per_second),
            "cleanse_only_rows_per_second": round(self.cleanse_only_rows_per_second),
            "cpu_bound_rows_per_second": round(self.cpu_bound_rows_per_second),
        }


def person_bindings() -> list[ColumnBinding]:
    """The GA population entry's items bound to ``write_person_csv``'s English headers."""
    from gongshu.city.catalogue import catalogue_documents

    entry = next(e for e in catalogue_documents() if e.get("source", {}).get("name") == "population")
    return [
        ColumnBinding(
            i["name"], i["name"], i["element"], i["type"], i.get("length"), required=i["name"] in REQUIRED
        )
        for i in entry["items"]
    ]


def measure(rows: int, *, path: Path | None = None, threads: int = 2, repeat: int = 1) -> BenchResult:
    """Time scan and scan + cleanse of a ``rows``-person register CSV (generated unless ``path`` exists).

    The best of ``repeat`` runs is kept; ``threads`` is DuckDB's thread count (2 = the target).
    """
    if path is not None and path.exists():
        return _run(path, threads, repeat)
    from gongshu.city import write_person_csv

    with tempfile.TemporaryDirectory(prefix="gongshu-cleanse-bench-") as tmp:
        target = path or Path(tmp) / "people.csv"
        write_person_csv(target, rows=rows)
        return _run(target, threads, repeat)


def _run(path: Path, threads: int, repeat: int) -> BenchResult:
    plan = plan_table(person_bindings())
    source = _read_csv(path)
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET enable_progress_bar = false")
    columns = [b.name for b in plan.bindings]
    scan = exp.select(*[exp.Count(this=exp.column(c, quoted=True)) for c in columns]).from_(source)
    scan_seconds, scan_cpu, counted = _best(con, plan.sql(scan), repeat)
    cleanse_seconds, cleanse_cpu, _ = _best(con, plan.sql(_counting(plan, source)), repeat)
    return BenchResult(
        int(counted or 0), threads, scan_seconds, cleanse_seconds, len(plan.checks), scan_cpu, cleanse_cpu
    )


def _read_csv(path: Path) -> exp.Expression:
    args = [exp.Literal.string(str(path)), exp.EQ(this=exp.var("all_varchar"), expression=exp.true())]
    return exp.Table(this=exp.Anonymous(this="read_csv", expressions=args))


def _counting(plan: CleansePlan, source: exp.Expression) -> exp.Select:
    checked = plan.checked(source)
    outputs = [exp.Count(this=exp.column(n, quoted=True)) for n in plan.output_schema().names]
    flags = [
        exp.Anonymous(this="count_if", expressions=[exp.column(flag_name(c), quoted=True)])
        for c in plan.checks
    ]
    return exp.select(exp.Count(this=exp.Star()), *outputs, *flags).from_(checked.subquery("__checked"))


def _best(con: duckdb.DuckDBPyConnection, sql: str, repeat: int) -> tuple[float, float, int | None]:
    """Best wall-clock and CPU seconds (user + system, all threads) of ``repeat`` runs, and ``count(*)``."""
    best, best_cpu, first = float("inf"), float("inf"), None
    for _ in range(max(1, repeat)):
        cpu, started = _cpu(), time.perf_counter()
        row = con.execute(sql).fetchone()
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, _cpu() - cpu)
        first = int(row[0]) if row else None
    return best, best_cpu, first


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
