"""Connector throughput (a benchmark, not a test): ``python -m tests.collect.connectors.bench_connectors``.

Generates the population register as UTF-8 and GB18030 CSV (``--rows``) and a synthetic city
(``--persons``: SQLite databases; PostgreSQL / MariaDB when ``--pg-url`` / ``--mysql-url`` point at
scratch databases, whose tables are replaced), then times :func:`extract` on each and prints rows/s.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from gongshu.city import generate_city, write_person_csv
from gongshu.collect.connectors import extract, parse_source


def timed(label: str, spec: dict[str, Any], work: Path) -> None:
    out = work / "raw"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    result = extract(parse_source(spec), out, batch_id="bench")
    seconds = time.perf_counter() - started
    rate = result.rows_read / seconds if seconds else 0
    print(f"{label:<28} {result.rows_read:>12,} rows {seconds:8.2f} s {rate:>12,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of the CSV files")
    parser.add_argument("--persons", type=int, default=200_000, help="persons of the synthetic city")
    parser.add_argument("--pg-url", help="a scratch PostgreSQL database for 公安's population table")
    parser.add_argument(
        "--mysql-url", help="a scratch MariaDB/MySQL database for 市场监管's enterprise table"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gongshu-bench-") as folder:
        work = Path(folder)
        for encoding in ("utf-8", "gb18030"):
            path = work / f"people-{encoding}.csv"
            write_person_csv(path, rows=args.rows, encoding=encoding)
            timed(f"CSV {encoding}", {"kind": "file", "path": str(path)}, work)
            path.unlink()
        city = work / "city"
        generate_city(city, persons=args.persons)
        timed(
            "SQLite population",
            {"kind": "sql", "url": f"sqlite:///{city}/ga_population.sqlite", "table": "population"},
            work,
        )
        timed(
            "XLSX insurance",
            {"kind": "file", "path": str(city), "pattern": "rs_employment.xlsx", "sheets": "参保信息*"},
            work,
        )
        timed("NDJSON vehicle", {"kind": "file", "path": str(city), "pattern": "jt_vehicle.ndjson"}, work)
        timed("JSON address", {"kind": "file", "path": str(city), "pattern": "ghzy_address.json"}, work)
        if args.pg_url or args.mysql_url:
            generate_city(
                work / "servers",
                persons=args.persons,
                pg_url=args.pg_url,
                mysql_url=args.mysql_url,
                only=["GA", "SCJG"],
            )
        if args.pg_url:
            timed("PostgreSQL population", {"kind": "sql", "url": args.pg_url, "table": "population"}, work)
            incremental = {"mode": "incremental", "cursor": "update_time"}
            timed(
                "PostgreSQL incremental",
                {"kind": "sql", "url": args.pg_url, "table": "population", **incremental},
                work,
            )
        if args.mysql_url:
            timed("MariaDB enterprise", {"kind": "sql", "url": args.mysql_url, "table": "enterprise"}, work)


if __name__ == "__main__":
    main()
