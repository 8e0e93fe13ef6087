"""``generate_city``: the whole synthetic city, written chunk by chunk (合成城市生成).

Example::

    >>> from pathlib import Path
    >>> result = generate_city(Path("/tmp/city"), persons=1_000)   # doctest: +SKIP
    >>> [s.source for s in result.sources][:3]                      # doctest: +SKIP
    ['population', 'marriage', 'death']
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gongshu.city import departments, opendata
from gongshu.city.errors import TargetUnavailable
from gongshu.city.frames import TableSpec
from gongshu.city.manifest import ManifestWriter, file_entry, write_summary
from gongshu.city.noise import DEFECTS, VARIATIONS, Rates
from gongshu.city.population import (
    AS_OF,
    CHUNK,
    PERSONS_PER_ADDRESS,
    PERSONS_PER_LEGAL_PERSON,
    build_world,
    chunk_bounds,
)
from gongshu.city.sql import ServerSink, SqliteSink
from gongshu.city.writers import CsvSink, JsonSink, NdjsonSink, Sink, SourceInfo, XlsxSink
from gongshu.errors import ValidationFailed

DEFAULT_SEED = 20260101
MAX_PERSONS = 100_000_000
Progress = Callable[[str, int, int], None]
__all__ = ["DEFAULT_SEED", "CityResult", "SourceInfo", "generate_city"]


@dataclass
class CityResult:
    """What :func:`generate_city` wrote."""

    out_dir: Path
    seed: int
    persons: int
    sources: list[SourceInfo]
    manifest_path: Path
    seconds: float
    defects: int = 0
    variations: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)
    open_sources: list[SourceInfo] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(s.rows for s in self.sources)

    def as_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "seed": self.seed,
            "persons": self.persons,
            "total_rows": self.total_rows,
            "defects": self.defects,
            "variations": self.variations,
            "seconds": round(self.seconds, 3),
            "manifest": str(self.manifest_path),
            "sources": [s.as_dict() for s in self.sources],
            "open_sources": [s.as_dict() for s in self.open_sources],
        }


def _check(persons: int, only: Collection[str] | None) -> tuple[list[str], tuple[TableSpec, ...]]:
    """The chosen departments that derive registers, and the chosen open-data tables."""
    problems: dict[str, list[str]] = {}
    if not isinstance(persons, int) or persons < 1 or persons > MAX_PERSONS:
        problems["persons"] = [f"must be an integer from 1 to {MAX_PERSONS:,}, got {persons!r}"]
    known = list(departments.MODULES) + [d for d in opendata.DEPARTMENT_NAMES if d not in departments.MODULES]
    chosen = known if only is None else [d.strip().upper() for d in only]
    unknown = [d for d in chosen if d not in known]
    if unknown or not chosen:
        problems["only"] = [f"unknown department code(s) {unknown or chosen!r}; known: {', '.join(known)}"]
    if problems:
        raise ValidationFailed(problems, hint="e.g. --persons 1000 --only GA,MZ")
    return [d for d in departments.MODULES if d in chosen], opendata.specs_for(chosen)


def _sinks(
    out_dir: Path,
    chosen: list[str],
    open_specs: tuple[TableSpec, ...],
    pg_url: str | None,
    mysql_url: str | None,
) -> dict[str, Sink]:
    """One sink per physical source, keyed by file name (open tables may share a department's database)."""
    grouped: dict[str, list[TableSpec]] = {}
    for spec in [s for dept in chosen for s in departments.specs(dept)] + list(open_specs):
        grouped.setdefault(spec.file, []).append(spec)
    sinks: dict[str, Sink] = {}
    try:
        for file, specs in grouped.items():
            sinks[file] = _sink(out_dir, file, specs, pg_url, mysql_url)
    except TargetUnavailable:
        for sink in sinks.values():
            sink.close()
        raise
    return sinks


def _sink(
    out_dir: Path, file: str, specs: list[TableSpec], pg_url: str | None, mysql_url: str | None
) -> Sink:
    kind, dept, path = specs[0].kind, specs[0].department, out_dir / file
    if kind == "sqlite":
        url = pg_url if dept == "GA" else mysql_url if dept == "SCJG" else None
        return ServerSink(specs, url) if url else SqliteSink(specs, path, file)
    writer: dict[str, Callable[..., Sink]] = {
        "csv": CsvSink,
        "ndjson": NdjsonSink,
        "json": JsonSink,
        "xlsx": XlsxSink,
    }
    return writer[kind](specs, path, file)


def generate_city(
    out_dir: Path,
    *,
    persons: int,
    seed: int = DEFAULT_SEED,
    pg_url: str | None = None,
    mysql_url: str | None = None,
    only: Collection[str] | None = None,
    progress: Progress | None = None,
    rates: Rates | None = None,
) -> CityResult:
    """Generate the departments' source systems for ``persons`` residents into ``out_dir``.

    ``pg_url`` sends 公安's population register to PostgreSQL, ``mysql_url`` sends 市场监管's
    enterprise register to MariaDB/MySQL (tables replaced); otherwise both are SQLite files.
    ``only`` restricts to department codes (GA, MZ, SCJG, RS, JW, WJ, GHZY, JT, and for their open
    data also STHJ, TJ, ZJ, D310101, D310104, D310115). The open-data sources (:mod:`gongshu.city.opendata`)
    are built from the first chunk and listed in ``open_sources``. The same seed and scale give
    byte-identical files. Raises ``ValidationFailed`` for bad arguments and
    ``TargetUnavailable`` when a database does not answer.
    """
    started = time.perf_counter()
    chosen, open_specs = _check(persons, only)
    rates = rates or Rates()
    out_dir.mkdir(parents=True, exist_ok=True)
    sinks = _sinks(out_dir, chosen, open_specs, pg_url, mysql_url)
    manifest = ManifestWriter(out_dir)
    bounds = chunk_bounds(persons)
    steps, step = len(bounds) * len(chosen) + bool(open_specs), 0
    for c, (start, stop) in enumerate(bounds):
        if c and not chosen:
            break
        world = build_world(seed, c, len(bounds), start, stop)
        manifest.add_world(world)
        if c == 0 and open_specs:
            for frame in opendata.frames(world, open_specs):
                sinks[frame.spec.file].write(frame)
            step += 1
            if progress:
                progress("open data 开放数据", step, steps)
        for dept in chosen:
            for frame in departments.builder(dept)(world, rates):
                offset = sinks[frame.spec.file].write(frame)
                manifest.add_frame(frame, offset)
            step += 1
            if progress:
                progress(f"{dept} {departments.NAMES[dept]}", step, steps)
    for sink in sinks.values():
        sink.close()
    infos = [info for sink in sinks.values() for info in sink.infos()]
    opened = {s.source_id for s in open_specs}
    sources = [i for i in infos if f"{i.department}.{i.source}" not in opened]
    open_sources = [i for i in infos if f"{i.department}.{i.source}" in opened]
    parquet = manifest.close()
    if progress:
        progress("manifest", steps, steps)
    return _finish(out_dir, seed, persons, sources, open_sources, manifest, parquet, rates, started)


def _finish(
    out_dir: Path,
    seed: int,
    persons: int,
    sources: list[SourceInfo],
    open_sources: list[SourceInfo],
    manifest: ManifestWriter,
    parquet: list[Path],
    rates: Rates,
    started: float,
) -> CityResult:
    files = []
    every = sources + open_sources
    for name in sorted({s.location for s in every if "://" not in s.location}):
        rows = sum(s.rows for s in every if s.location == name)
        files.append(file_entry(out_dir / name, out_dir, rows))
    files += [file_entry(p, out_dir, None) for p in parquet]
    per_source = {}
    defects = variations = 0
    for s in sources:
        counts = manifest.source_counts(f"{s.department}.{s.source}")
        defects += sum(counts["defect"].values())
        variations += sum(counts["variation"].values())
        per_source[f"{s.department}.{s.source}"] = {"rows": s.rows, **counts}
    summary = {
        "generator": "gongshu.city",
        "format": 1,
        "seed": seed,
        "persons": persons,
        "as_of": str(AS_OF_DATE),
        "chunk_size": CHUNK,
        "entities": {
            "persons": persons,
            "addresses_per_person": 1 / PERSONS_PER_ADDRESS,
            "legal_persons_per_person": 1 / PERSONS_PER_LEGAL_PERSON,
        },
        "rates": rates.as_dict(),
        "kinds": {"variation": VARIATIONS, "defect": DEFECTS},
        "sources": [s.as_dict() for s in sources],
        "counts": per_source,
        "open_sources": [s.as_dict() for s in open_sources],
        "files": files,
    }
    path = out_dir / "manifest.json"
    write_summary(path, summary)
    seconds = time.perf_counter() - started
    return CityResult(
        out_dir, seed, persons, sources, path, seconds, defects, variations, files, open_sources
    )


AS_OF_DATE = np.datetime64(AS_OF, "D")
