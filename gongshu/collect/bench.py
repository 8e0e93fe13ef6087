"""`gongshu bench ingest`: collection throughput against a bare DuckDB CSV → Parquet copy.

One run generates an N-row person CSV with the synthetic city (公安 population register with its
planted defects), then measures, each in its own child process so that peak memory is its own:

* **baseline** — ``COPY (FROM read_csv(file)) TO 'x.parquet'``: DuckDB's plain copy, nothing else;
* **gongshu** — the whole path on a fresh data directory: a mount on the catalogue entry 实有人口基本信息,
  collect (raw zone), every standardisation rule of its 15 信息项, quarantine, primary-key
  duplicates, and committed lake snapshots of the raw, quarantine and standard zones.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from gongshu.city import write_person_csv
from gongshu.engine.children import in_child, usage

POPULATION_ENTRY = "101001001/000001"


def run_bench(rows: int, *, work: Path | None = None, seed: int = 20260101) -> dict[str, Any]:
    """Measure and return the figures (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="gongshu-bench-", dir=work) as folder:
        root = Path(folder)
        csv_path = root / "people.csv"
        started = time.perf_counter()
        write_person_csv(csv_path, rows=rows, seed=seed)
        generate_s = time.perf_counter() - started
        baseline = in_child(_baseline, csv_path, root / "bare.parquet")
        gongshu = in_child(_gongshu, csv_path, root / "data")
    rules = gongshu["rules"]
    return {
        "rows": rows,
        "bytes": gongshu["bytes"],
        "seconds": round(gongshu["seconds"], 3),
        "rows_per_s": round(gongshu["read"] / gongshu["seconds"]),
        "mb_per_s": round(gongshu["bytes"] / 1e6 / gongshu["seconds"], 1),
        "baseline_seconds": round(baseline["seconds"], 3),
        "baseline_rows_per_s": round(gongshu["read"] / baseline["seconds"]),
        "ratio": round(baseline["seconds"] / gongshu["seconds"], 3),
        "peak_rss_mb": round(gongshu["peak_rss_mb"]),
        "baseline_peak_rss_mb": round(baseline["peak_rss_mb"]),
        "read": gongshu["read"],
        "written": gongshu["written"],
        "quarantined": gongshu["quarantined"],
        "balanced": gongshu["read"] == gongshu["written"] + gongshu["quarantined"],
        "rules": rules,
        "rule_count": len(gongshu["rules_applied"]),
        "rules_applied": gongshu["rules_applied"],
        "timings": gongshu["timings"],
        "snapshots": gongshu["snapshots"],
        "generate_seconds": round(generate_s, 3),
    }


def _baseline(csv_path: Path, out: Path) -> dict[str, Any]:
    from gongshu.collect.sqlbits import lit
    from gongshu.engine import connect

    con = connect()
    started = time.perf_counter()
    con.execute(f"COPY (FROM read_csv({lit(str(csv_path))})) TO {lit(str(out))} (FORMAT parquet)")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_mb": usage()[1]}


def population_csv_mount(name: str, csv_path: Path) -> dict[str, Any]:
    """The demo's 公安 population mount (``city/data/mounts.yaml``) re-pointed at a person CSV drop.

    ``write_person_csv`` writes the population register with the same columns as 公安's source table,
    so the shipped mapping, key and required flags apply unchanged.
    """
    from gongshu.city.catalogue import mount_documents

    shipped = next(d for d in mount_documents() if d["entry"] == POPULATION_ENTRY)
    source = {"kind": "file", "path": str(csv_path.parent), "pattern": csv_path.name, "format": "csv"}
    return shipped | {"name": name, "source": source}


def _gongshu(csv_path: Path, data_dir: Path) -> dict[str, Any]:
    from gongshu.city.catalogue import catalogue_documents
    from gongshu.collect import mounts
    from gongshu.collect.pipeline import run_mount
    from gongshu.config import load_settings
    from gongshu.demo import publish_entry, seed_organisations
    from gongshu.orgs.roles import SYSTEM
    from gongshu.platform import open_platform

    settings = load_settings(data_dir=data_dir, demo=True)
    platform = open_platform(settings, migrate=True)
    document = next(d for d in catalogue_documents() if d["code"] == POPULATION_ENTRY)
    with platform.store.session() as session:
        seed_organisations(session)
        publish_entry(session, document, code_pattern=settings.resource_code_pattern)
        spec = mounts.parse_mount_spec(population_csv_mount("bench_population", csv_path))
        mounts.create_mount(session, SYSTEM, spec)
    started = time.perf_counter()
    result = run_mount(platform, SYSTEM, "bench_population", trigger="bench")
    seconds = time.perf_counter() - started
    platform.close()
    return {
        "seconds": seconds,
        "peak_rss_mb": usage()[1],
        "bytes": csv_path.stat().st_size,
        "read": result.rows_read,
        "written": result.rows_written,
        "quarantined": result.rows_quarantined,
        "rules": result.rule_counts,
        "rules_applied": result.rules_applied,
        "timings": result.timings,
        "snapshots": result.snapshots,
    }
