"""``write_person_csv``: one large population-register CSV with planted defects, fast.

For the ingest benchmark (10,000,000 rows and more): the rows are 公安's population register
(:mod:`gongshu.city.departments.ga`) generated chunk by chunk and written with pyarrow's CSV
writer; the defect and variation manifest goes to ``<name>.manifest.parquet`` beside it.
"""

from __future__ import annotations

import io
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.csv as pacsv

from gongshu.city.departments import ga
from gongshu.city.frames import Frame
from gongshu.city.manifest import ManifestWriter
from gongshu.city.noise import Rates
from gongshu.city.population import build_world, chunk_bounds
from gongshu.errors import ValidationFailed

DEFAULT_SEED = 20260101
WORKERS = max(1, min(4, os.cpu_count() or 1))
WINDOW = WORKERS + 1
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")


@dataclass
class PersonCsvResult:
    """What :func:`write_person_csv` wrote."""

    path: Path
    rows: int
    bytes: int
    seconds: float
    encoding: str
    manifest_path: Path
    defects: dict[str, int] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def write_person_csv(
    path: Path, *, rows: int, seed: int = DEFAULT_SEED, encoding: str = "utf-8", rates: Rates | None = None
) -> PersonCsvResult:
    """Write ``rows`` population-register records (plus planted duplicates) to ``path``.

    Columns are those of 公安's ``population`` table (English identifiers as the header); the
    planted cells are listed in ``<stem>.manifest.parquet`` (same schema as the city manifest's
    ``defects.parquet``). ``rows`` counts persons; duplicate-key defects add about 1.5 % more.

    Example::

        >>> write_person_csv(Path("/tmp/people.csv"), rows=1_000_000)   # doctest: +SKIP
    """
    if not isinstance(rows, int) or rows < 1:
        raise ValidationFailed({"rows": [f"must be a positive integer, got {rows!r}"]})
    if encoding.lower() not in ENCODINGS:
        raise ValidationFailed({"encoding": [f"must be one of {', '.join(ENCODINGS)}, got {encoding!r}"]})
    started = time.perf_counter()
    rates = rates or Rates()
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = ManifestWriter(path.parent, f".{path.stem}.manifest")
    written = 0
    bounds = chunk_bounds(rows)
    codec = encoding.lower()
    with path.open("wb") as handle, ThreadPoolExecutor(max_workers=WORKERS) as pool:
        if codec == "utf-8-sig":
            handle.write(b"\xef\xbb\xbf")
        jobs = [
            pool.submit(_chunk, seed, c, len(bounds), b, rates, codec) for c, b in enumerate(bounds[:WINDOW])
        ]
        for c in range(len(bounds)):
            frame, data = jobs[c].result()
            jobs[c] = None  # type: ignore[call-overload]
            if c + WINDOW < len(bounds):
                nxt = c + WINDOW
                jobs.append(pool.submit(_chunk, seed, nxt, len(bounds), bounds[nxt], rates, codec))
            handle.write(data)
            manifest.add_frame(frame, written, identities=False)
            written += frame.rows
    (parquet,) = manifest.close()
    target = path.with_name(f"{path.stem}.manifest.parquet")
    parquet.replace(target)
    manifest.dir.rmdir()
    counts = manifest.source_counts(ga.POPULATION.source_id)
    return PersonCsvResult(
        path,
        written,
        path.stat().st_size,
        time.perf_counter() - started,
        encoding,
        target,
        {**counts["defect"], **counts["variation"]},
    )


def _chunk(
    seed: int, c: int, chunks: int, bounds: tuple[int, int], rates: Rates, codec: str
) -> tuple[Frame, bytes]:
    """One chunk's frame and its CSV bytes (runs in a worker thread; pyarrow releases the GIL)."""
    world = build_world(seed, c, chunks, *bounds, legal=False)
    (frame,) = ga.frames(world, rates)
    buffer = io.BytesIO()
    pacsv.write_csv(frame.table(), buffer, write_options=pacsv.WriteOptions(include_header=c == 0))
    data = buffer.getvalue()
    if codec == "gb18030":
        data = data.decode("utf-8").encode("gb18030")
    return frame, data
