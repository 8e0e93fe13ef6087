"""`gongshu bench audit`: the audit engine's row rules against pandera (polars) and Great Expectations.

One run writes a standardised person table of N rows with planted defects
(:mod:`gongshu.quality.benchdata`, not timed), then runs each side in its own child process so that
its peak memory is its own:

* **gongshu** — :func:`gongshu.quality.engine.plan_audit` over the table's 15 信息项, ``plan.run`` on
  a DuckDB view over the Parquet file (every rule × column: REQUIRED, formats, check digits, code
  sets, lengths, districts, uniqueness, ID consistency, ranges);
* **pandera** — the same rules it can state, one lazily validated polars schema
  (:mod:`gongshu.quality.peers`);
* **gx** — the same rules Great Expectations can state, on a table of ``gx_rows`` rows (GX on
  pandas is slow and memory-hungry at 10M rows), which gongshu also audits so that the counts
  are compared on the same rows.

Every side's time includes reading the Parquet file; building the plan, schema or suite is setup,
reported apart and not counted. Failures are compared rule by rule with each other and with the
table's planted truth; any difference is listed and makes the command exit non-zero.

Example::

    >>> figures = run_bench(100_000, peers=("pandera",))                # doctest: +SKIP
    >>> figures["rows_per_s"], figures["peers"]["pandera"]["ratio"]       # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from gongshu.engine.children import in_child, usage
from gongshu.errors import ValidationFailed

PEERS = ("pandera", "gx")
GX_ROWS = 1_000_000
DEFAULT_ROWS = 10_000_000
KEY = ("id_number",)
TIMING_NOTE = (
    "seconds include reading the Parquet file on every side; compiling the plan / building the "
    "schema or suite is setup, reported apart and not counted"
)


def run_bench(
    rows: int,
    *,
    peers: Sequence[str] = PEERS,
    threads: int = 2,
    work_dir: Path | None = None,
    gx_rows: int | None = None,
    pandera_rows: int | None = None,
    seed: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Generate the table, run gongshu and each peer, compare their counts; return the figures.

    ``gx_rows`` (default min(rows, 1,000,000)) and ``pandera_rows`` (default ``rows``) give a
    peer its own, smaller table; gongshu then audits that table too, for the comparison.
    """
    from gongshu.quality.benchdata import DEFAULT_SEED, write_person_table

    chosen = _check(rows, peers, threads)
    sizes = {"pandera": pandera_rows or rows, "gx": gx_rows or min(rows, GX_ROWS)}
    say = progress or (lambda _: None)
    today = dt.date.today().isoformat()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gongshu-bench-audit-", dir=work_dir) as folder:
        tables = {}
        for size in sorted({rows, *(min(sizes[p], rows) for p in chosen)}, reverse=True):
            say(f"writing a {size:,}-row person table")
            tables[size] = write_person_table(Path(folder) / f"person-{size}.parquet", rows=size,
                                              seed=seed or DEFAULT_SEED)  # fmt: skip
        audits = {}
        for size, table in tables.items():
            say(f"gongshu audits {size:,} rows")
            audits[size] = in_child(_gongshu_child, str(table.path), threads, today)
        results = {}
        for peer in chosen:
            size = min(sizes[peer], rows)
            say(f"{peer} validates {size:,} rows")
            results[peer] = in_child(_peer_child, peer, str(tables[size].path), threads, today)
    return _figures(rows, tables, audits, results, threads=threads, load=(load_before, os.getloadavg()))


def _check(rows: int, peers: Sequence[str], threads: int) -> list[str]:
    problems: dict[str, list[str]] = {}
    if not isinstance(rows, int) or rows < 1_000:
        problems["rows"] = [f"must be an integer ≥ 1,000, got {rows!r}"]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        problems["peers"] = [f"unknown peers {', '.join(unknown)}; known: {', '.join(PEERS)}"]
    if threads < 1:
        problems["threads"] = [f"must be ≥ 1, got {threads}"]
    if problems:
        raise ValidationFailed(problems)
    return [p for p in PEERS if p in peers]


# -- child processes ------------------------------------------------------------------------------


def _gongshu_child(path: str, threads: int, today: str) -> dict[str, Any]:
    from gongshu.collect.sqlbits import lit
    from gongshu.engine import connect
    from gongshu.quality.benchdata import person_bindings
    from gongshu.quality.engine import AuditTable, plan_audit

    con = connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute(f"CREATE VIEW person AS SELECT * FROM read_parquet({lit(path)})")  # noqa: S608 - a literal
    started = time.perf_counter()
    table = AuditTable("person", person_bindings(), key=KEY)
    plan = plan_audit(table, standardised=True, today=dt.date.fromisoformat(today))
    setup = time.perf_counter() - started
    cpu, started = usage()[0], time.perf_counter()
    outcome = plan.run(con, "person")
    seconds = time.perf_counter() - started
    cpu_after, peak = usage()
    counts = {f"{r.rule_id}:{r.column}": r.failed for r in outcome.results}
    if len(counts) != len(outcome.results):
        raise AssertionError("the engine reported a rule twice for one column")
    return {
        "rows": outcome.rows,
        "seconds": seconds,
        "cpu_seconds": cpu_after - cpu,
        "setup_seconds": setup,
        "peak_rss_mb": peak,
        "counts": counts,
        "checked": {f"{r.rule_id}:{r.column}": r.checked for r in outcome.results},
    }


def _peer_child(peer: str, path: str, threads: int, today: str) -> dict[str, Any]:
    from gongshu.quality import peers
    from gongshu.quality.benchdata import person_bindings

    rules = peers.peer_rules(person_bindings(), key=KEY)
    run = peers.run_pandera if peer == "pandera" else peers.run_gx
    result = run(Path(path), rules, threads=threads, today=dt.date.fromisoformat(today))
    return {**result, "peak_rss_mb": usage()[1], "omitted": peers.omitted(peer, rules)}


# -- figures --------------------------------------------------------------------------------------


def _figures(
    rows: int,
    tables: dict[int, Any],
    audits: dict[int, dict[str, Any]],
    results: dict[str, dict[str, Any]],
    *,
    threads: int,
    load: tuple[tuple[float, ...], tuple[float, ...]],
) -> dict[str, Any]:
    main = audits[rows]
    rate = main["rows"] / main["seconds"]
    differences = _differences(tables, audits, results)
    figures: dict[str, Any] = {
        "rows": main["rows"],
        "rules": len(main["counts"]),
        "rows_per_s": round(rate),
        "seconds": round(main["seconds"], 3),
        "cpu_seconds": round(main["cpu_seconds"], 3),
        "setup_seconds": round(main["setup_seconds"], 3),
        "peak_rss_mb": round(main["peak_rss_mb"]),
        "generate_seconds": round(tables[rows].seconds, 3),
        "timing": TIMING_NOTE,
        "peers": {peer: _peer_figures(peer, result, rate, audits) for peer, result in results.items()},
        "counts": _counts(rows, tables, audits, results),
        "differences": differences,
        "agree": not differences,
        "machine": _machine(threads, load),
    }
    smaller = {n: a for n, a in audits.items() if n != rows}
    if smaller:
        figures["counts_smaller_tables"] = {str(n): _counts(n, tables, audits, results) for n in smaller}
    return figures


def _peer_figures(
    peer: str, result: dict[str, Any], gongshu_rate: float, audits: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    rate = result["rows"] / result["seconds"]
    same = audits[result["rows"]]
    return {
        "rows": result["rows"],
        "rules": len(result["counts"]),
        "rows_per_s": round(rate),
        "seconds": round(result["seconds"], 3),
        "read_seconds": round(result["read_seconds"], 3),
        "setup_seconds": round(result.get("setup_seconds", 0.0), 3),
        "cpu_seconds": round(result["cpu_seconds"], 3),
        "peak_rss_mb": round(result["peak_rss_mb"]),
        "ratio": round(gongshu_rate / rate, 2),
        # gongshu on the very rows the peer checked (differs from ratio when the peer ran on fewer)
        "ratio_same_rows": round((same["rows"] / same["seconds"]) / rate, 2),
        "omitted": result["omitted"],
        "versions": result["versions"],
    }


def _counts(
    size: int, tables: dict[int, Any], audits: dict[int, dict[str, Any]], results: dict[str, dict[str, Any]]
) -> dict[str, dict[str, int]]:
    """``{"RULE:column": {"truth": …, "gongshu": …, <peer>: …}}`` for the table of ``size`` rows."""
    out: dict[str, dict[str, int]] = {}
    for key, failed in audits[size]["counts"].items():
        row = {"gongshu": failed}
        if key in tables[size].truth:
            row = {"truth": tables[size].truth[key], **row}
        out[key] = row
    for peer, result in results.items():
        if result["rows"] != size:
            continue
        for key, failed in result["counts"].items():
            out.setdefault(key, {})[peer] = failed
    return out


def _differences(
    tables: dict[int, Any], audits: dict[int, dict[str, Any]], results: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every count that differs from gongshu's on the same table (and gongshu's from the truth)."""
    out: list[dict[str, Any]] = []
    for size, audit in audits.items():
        for key, expected in tables[size].truth.items():
            got = audit["counts"].get(key)
            if got != expected:
                out.append({"rows": size, "rule": key, "side": "gongshu", "expected": expected, "got": got,
                            "against": "truth"})  # fmt: skip
    for peer, result in results.items():
        counts = audits[result["rows"]]["counts"]
        for key, got in result["counts"].items():
            if counts.get(key) != got:
                out.append({"rows": result["rows"], "rule": key, "side": peer, "expected": counts.get(key),
                            "got": got, "against": "gongshu"})  # fmt: skip
    return out


def _machine(threads: int, load: tuple[tuple[float, ...], tuple[float, ...]]) -> dict[str, Any]:
    import duckdb

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "threads": threads,
        "memory_gb": round(memory, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "platform": platform.platform(),
        # a busy machine slows every side; CPU seconds are the steadier figure then
        "load_average": {"start": [round(x, 2) for x in load[0]], "end": [round(x, 2) for x in load[1]]},
    }


# -- the command ----------------------------------------------------------------------------------


def bench_audit(
    rows: Annotated[int, typer.Option(help="rows of the generated person table")] = DEFAULT_ROWS,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    peers: Annotated[
        str, typer.Option(help="peers to run, comma-separated (pandera,gx; '' for none)")
    ] = ",".join(PEERS),
    threads: Annotated[int, typer.Option(help="threads for DuckDB, polars and Arrow")] = 2,
    gx_rows: Annotated[
        int | None, typer.Option(help="rows Great Expectations validates (default min(rows, 1,000,000))")
    ] = None,
    pandera_rows: Annotated[int | None, typer.Option(help="rows pandera validates (default: rows)")] = None,
    work: Annotated[
        Path | None, typer.Option(help="folder for the temporary files (default: system temp)")
    ] = None,
) -> None:
    """Audit rules (≥ 15) over a standardised person table vs pandera-polars and Great Expectations."""
    from gongshu.cli.output import console, err_console, print_json, print_table

    chosen = [p.strip() for p in peers.split(",") if p.strip()]
    say = None if json_out else (lambda message: err_console.print(f"[dim]{message}…[/]"))
    figures = run_bench(
        rows, peers=chosen, threads=threads, work_dir=work, gx_rows=gx_rows, pandera_rows=pandera_rows,
        progress=say,
    )  # fmt: skip
    if json_out:
        print_json(figures)
    else:
        print_table(f"bench audit — {figures['rows']:,} rows, {figures['rules']} rules", *_table(figures))
        compared = sum(len(c) - 1 for c in figures["counts"].values())
        if figures["agree"]:
            console.print(
                f"[green]✓[/] every count agrees ({compared} comparisons with gongshu's on the same rows)"
            )
        console.print(f"[dim]{TIMING_NOTE}; generating the table took {figures['generate_seconds']} s[/]")
    if figures["differences"]:
        for d in figures["differences"]:
            err_console.print(
                f"[red]✗[/] {d['rule']} on {d['rows']:,} rows: {d['side']} {d['got']} ≠ {d['against']} "
                f"{d['expected']}",
                highlight=False,
            )
        raise typer.Exit(code=1)


def _table(figures: dict[str, Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    columns = ["", "rows", "rules", "seconds", "rows/s", "CPU s", "peak RSS MB", "gongshu ÷ peer"]
    body: list[tuple[Any, ...]] = [
        ("gongshu", f"{figures['rows']:,}", figures["rules"], figures["seconds"],
         f"{figures['rows_per_s']:,}", figures["cpu_seconds"], figures["peak_rss_mb"], ""),
    ]  # fmt: skip
    for peer, p in figures["peers"].items():
        ratio = f"{p['ratio']}×" + (
            f" ({p['ratio_same_rows']}× same rows)" if p["rows"] != figures["rows"] else ""
        )
        body.append(
            (peer, f"{p['rows']:,}", p["rules"], p["seconds"], f"{p['rows_per_s']:,}", p["cpu_seconds"],
             p["peak_rss_mb"], ratio)
        )  # fmt: skip
    return columns, body
