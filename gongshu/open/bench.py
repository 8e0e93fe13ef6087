"""`gongshu bench portal`: the open portal under load — catalogue search, datastore and dumps.

Builds a throwaway data directory with ``--datasets`` open catalogue entries (bulk inserts, realistic
Chinese titles) and one ``--rows``-row publication written by the publication code path
(:func:`gongshu.open.publish.write_files`, the same writer a real batch uses, over a synthetic
address table), starts the real service in a child process and measures:

- ``package_search`` with ``q`` and three ``facet.field`` (p50/p95), at ``/api/3/action/package_search``;
- ``datastore_search`` with an equality filter on the key and on a non-key field (p50/p95);
- the CSV dump's throughput (MB/s) through ``/datastore/dump/{name}-csv``;
- the server's peak resident memory (VmHWM);
- baselines from the same run: ``/healthz`` p95 and a raw read of the CSV file (MB/s).

Targets (issue 6): package_search p95 ≤ 100 ms, datastore_search p95 ≤ 200 ms, dump ≥ 50 MB/s.
A figure whose route is missing is reported as ``"not available"``.
"""

from __future__ import annotations

# ruff: noqa: S608 - the synthetic table's SQL has no outside input
import contextlib
import json
import os
import random
import shutil
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import sqlalchemy as sa
import typer

from gongshu.catalogue.models import CatalogEntry, CatalogItem, DataElement
from gongshu.config import Settings
from gongshu.engine import connect
from gongshu.open.datasets import dataset_name
from gongshu.open.models import OpenPublication
from gongshu.open.publish import FILE_NAMES, Layout, version_dir, write_files
from gongshu.orgs.models import Organisation
from gongshu.platform import open_platform

TARGETS = {"package_search_p95_ms": 100.0, "datastore_search_p95_ms": 200.0, "dump_mb_s": 50.0}
BENCH_CODE = "999000001/000001"
_DISTRICTS = [
    *("黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区"),
    *("宝山区", "嘉定区", "浦东新区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区"),
]
_TOPICS = [
    "公共交通线路",
    "公共厕所",
    "养老机构",
    "幼儿园",
    "中小学校",
    "医疗机构",
    "体育场馆",
    "公园绿地",
    "停车场",
    "充电桩",
    "菜市场",
    "图书馆",
    "博物馆",
    "文物保护单位",
    "旅游景点",
    "公共自行车站点",
    "垃圾分类投放点",
    "消防站",
    "避难场所",
    "社区服务中心",
    "企业名录",
    "专利授权",
    "空气质量监测",
    "水质监测",
    "道路养护",
    "建设工程许可",
    "房屋征收",
    "政务服务事项",
    "公共法律服务",
    "就业岗位",
]
_KINDS = ["信息", "名录", "分布", "统计", "基本信息", "目录", "数据"]
_FIELDS = tuple(
    [
        "address_id",
        "district_code",
        "district_name",
        "road",
        "house_no",
        "full_address",
        "lon",
        "lat",
        "update_time",
    ]
)


def bench_portal(
    datasets: Annotated[int, typer.Option("--datasets", help="open catalogue entries to load")] = 50_000,
    rows: Annotated[int, typer.Option("--rows", help="rows of the datastore resource")] = 10_000_000,
    requests: Annotated[int, typer.Option("--requests", help="requests per measured call")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """开放门户基准: package_search, datastore_search on a large resource, CSV dump, peak memory."""
    result = run_portal_bench(datasets=datasets, rows=rows, requests=requests)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for key, value in result.items():
        typer.echo(f"{key}: {value}")


def run_portal_bench(*, datasets: int, rows: int, requests: int = 200) -> dict[str, Any]:
    """Build, serve and measure (see the module docstring); the data directory is removed afterwards."""
    from gongshu.share.bench import free_port, start_server

    work = Path(tempfile.mkdtemp(prefix="gongshu-bench-portal-"))
    try:
        started = time.perf_counter()
        name, secret = _setup(work, datasets, rows)
        setup_s = time.perf_counter() - started
        port = free_port()
        server = start_server(work, port)
        try:
            figures = _measure(f"http://127.0.0.1:{port}", secret, name, rows, requests, server.pid, work)
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "datasets": datasets,
        "rows": rows,
        "requests": requests,
        "setup_s": round(setup_s, 1),
        **figures,
        "ratios": ratios(figures),
        "targets": TARGETS,
        "met": targets_met(figures),
        "load_average": list(os.getloadavg()),
        "cpus": os.cpu_count(),
    }


def _figure(figures: dict[str, Any], call: str, key: str) -> float | None:
    value = figures.get(call)
    return float(value[key]) if isinstance(value, dict) and key in value else None


def ratios(figures: dict[str, Any]) -> dict[str, float | None]:
    """Each figure against its baseline from the same run: a route's p95 over ``/healthz``'s p95, the dump's
    throughput over a raw read of the same file."""
    healthz = _figure(figures, "healthz", "p95_ms")
    raw = _figure(figures, "raw_read", "mb_s")
    result: dict[str, float | None] = {}
    for call in ("package_search", "datastore_search_key_filter", "datastore_search_nonkey_filter"):
        p95 = _figure(figures, call, "p95_ms")
        result[f"{call}_p95_over_healthz"] = round(p95 / healthz, 1) if p95 and healthz else None
    dump = _figure(figures, "dump_csv", "mb_s")
    result["dump_over_raw_read"] = round(dump / raw, 3) if dump and raw else None
    return result


def targets_met(figures: dict[str, Any]) -> dict[str, bool | None]:
    """Each issue-6 target: met, missed, or None when its route was not available."""
    search = _figure(figures, "package_search", "p95_ms")
    stores = [
        _figure(figures, call, "p95_ms")
        for call in ("datastore_search_key_filter", "datastore_search_nonkey_filter")
    ]
    dump = _figure(figures, "dump_csv", "mb_s")
    return {
        "package_search_p95_ms": None if search is None else search <= TARGETS["package_search_p95_ms"],
        "datastore_search_p95_ms": None
        if None in stores
        else all(p <= TARGETS["datastore_search_p95_ms"] for p in stores if p is not None),
        "dump_mb_s": None if dump is None else dump >= TARGETS["dump_mb_s"],
    }


# -- setup -----------------------------------------------------------------------------------------


def _setup(work: Path, datasets: int, rows: int) -> tuple[str, str]:
    from gongshu.catalogue.elements import seed_elements
    from gongshu.demo import seed_organisations
    from gongshu.orgs.organisations import seed_divisions

    platform = open_platform(Settings(data_dir=work, demo=True), migrate=True)
    try:
        with platform.store.session() as session:
            seed_divisions(session)
            seed_elements(session)
            seed_organisations(session)
        with platform.store.session() as session:
            _insert_entries(session, datasets)
        name = dataset_name(BENCH_CODE)
        _publish_synthetic(platform.settings.data_dir, platform, name, rows)
        secret = _bench_key(platform)
    finally:
        platform.close()
    return name, secret


def _bench_key(platform: Any) -> str:
    """A developer key whose quota and rate never stop the benchmark (anonymous calls are limited)."""
    import secrets

    from gongshu.open.keys import create_key
    from gongshu.orgs import users
    from gongshu.orgs.roles import SYSTEM, Role
    from gongshu.orgs.schemas import UserCreate

    with platform.store.session() as session:
        user = users.create_user(
            session,
            SYSTEM,
            UserCreate(
                username="bench_developer",
                display_name="bench",
                password=secrets.token_urlsafe(16),
                roles=[Role.DEVELOPER],
            ),
        )
        _, secret = create_key(session, user, "bench", actor=SYSTEM, daily_quota=10**9, rate_per_s=10**6)
    return secret


def _insert_entries(session: Any, count: int) -> None:
    rng = random.Random(6)
    providers = list(session.execute(sa.select(Organisation.id, Organisation.division_code)))
    now = datetime.now(UTC)
    codes = [BENCH_CODE] + [
        f"{990000000 + i // 100_000}/{i % 100_000 + 100_000:06d}" for i in range(count - 1)
    ]
    entries = []
    for i, code in enumerate(codes):
        provider, division = providers[i % len(providers)]
        district, topic, kind = rng.choice(_DISTRICTS), rng.choice(_TOPICS), rng.choice(_KINDS)
        title = "标准地址信息（基准）" if i == 0 else f"{district}{topic}{kind}"
        entries.append(
            {
                "code": code,
                "name": title,
                "provider_id": provider,
                "division_code": division,
                "summary": f"{district}范围内的{topic}{kind}，按月更新，供公众查询与开发利用。",
                "format": rng.choice(["数据库", "电子表格", "接口"]),
                "share_type": "无条件共享",
                "open_type": "无条件开放" if i == 0 or rng.random() < 0.8 else "有条件开放",
                "update_cycle": rng.choice(["每日", "每月", "每季度", "每年"]),
                "theme": None,
                "tags": [topic, district],
                "status": "published",
                "publish_date": date(2025, 1 + i % 12, 1 + i % 28),
                "created_at": now,
                "updated_at": now,
            }
        )
    for start in range(0, len(entries), 5_000):
        session.execute(sa.insert(CatalogEntry), entries[start : start + 5_000])
    bench_id = session.scalar(sa.select(CatalogEntry.id).where(CatalogEntry.code == BENCH_CODE))
    element = session.scalar(sa.select(DataElement.code).order_by(DataElement.code).limit(1))
    session.execute(
        sa.insert(CatalogItem),
        [
            {
                "entry_id": bench_id,
                "position": p,
                "name": f,
                "label": f,
                "type": "C",
                "length": None,
                "element_code": element,
                "grade": "一般",
            }
            for p, f in enumerate(_FIELDS, start=1)
        ],
    )


def _synthetic_sql(rows: int) -> str:
    districts = "[" + ", ".join(f"'{d}'" for d in _DISTRICTS) + "]"
    return (
        "SELECT lpad(CAST(i AS VARCHAR), 15, '0') AS address_id, "
        "CAST(310101 + (i % 16) AS VARCHAR) AS district_code, "
        f"{districts}[1 + (i % 16)] AS district_name, '路' || CAST(hash(i) % 5000 AS VARCHAR) AS road, "
        "CAST(i % 999 AS VARCHAR) || '号' AS house_no, "
        "'上海市某区某路' || CAST(i % 999 AS VARCHAR) || '号' AS full_address, "
        "121.0 + (i % 100000) / 100000.0 AS lon, 31.0 + (i % 77777) / 100000.0 AS lat, "
        f"TIMESTAMP '2025-01-01' + to_seconds(i % 30000000) AS update_time FROM range({rows}) t(i)"
    )


def _publish_synthetic(data_dir: Path, platform: Any, name: str, rows: int) -> None:
    folder = version_dir(data_dir, name, 1)
    folder.mkdir(parents=True)
    layout = Layout(name=name, fields=_FIELDS, key=("address_id",), order=("address_id",), mount="bench")
    with contextlib.closing(connect()) as con:
        files, count = write_files(con, _synthetic_sql(rows), layout, folder)
    relative = folder.relative_to(data_dir).as_posix()
    recorded = {
        f: ({**d, "path": f"{relative}/{FILE_NAMES[f]}"} if "path" in d else d) for f, d in files.items()
    }
    with platform.store.session() as session:
        entry_id = session.scalar(sa.select(CatalogEntry.id).where(CatalogEntry.code == BENCH_CODE))
        session.add(
            OpenPublication(
                entry_id=entry_id,
                version=1,
                batch_id="bench",
                rows=count,
                fields=list(_FIELDS),
                datastore=f"{relative}/{FILE_NAMES['parquet']}",
                files=recorded,
                changes={"added": count, "removed": 0, "changed": 0, "previous": None},
            )
        )


# -- measuring -------------------------------------------------------------------------------------


def _percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 1),
    }


def _timed(client: httpx.Client, urls: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
    times = []
    for url, params in urls:
        started = time.perf_counter()
        response = client.get(url, params=params)
        times.append(time.perf_counter() - started)
        if response.status_code == 404:
            return {"status": "not available", "reason": f"{url} answered 404"}
        if response.status_code != 200:
            return {
                "status": "failed",
                "reason": f"{url} answered {response.status_code}: {response.text[:200]}",
            }
    return _percentiles(times)


def _measure(
    base: str, secret: str, name: str, rows: int, requests: int, pid: int, work: Path
) -> dict[str, Any]:
    rng = random.Random(8)
    facets = json.dumps(["organization", "res_format", "tags"])
    headers = {"Accept-Encoding": "identity", "Authorization": secret}
    with httpx.Client(base_url=base, timeout=120, headers=headers) as client:
        _timed(client, [("/healthz", {})] * 20)  # warm up
        healthz = _timed(client, [("/healthz", {})] * requests)
        queries = ["公共交通", "养老机构", "浦东新区", "幼儿园", "充电桩", "空气质量", "停车场", "图书馆"]
        search = [
            ("/api/3/action/package_search", {"q": rng.choice(queries), "facet.field": facets, "rows": "10"})
            for _ in range(requests)
        ]
        _timed(client, search[:5])
        package_search = _timed(client, search)
        resource = f"{name}-csv"
        action = "/api/3/action/datastore_search"
        by_key = [
            (
                action,
                {
                    "resource_id": resource,
                    "filters": json.dumps({"address_id": f"{rng.randrange(rows):015d}"}),
                },
            )
            for _ in range(requests)
        ]
        by_road = [
            (
                action,
                {
                    "resource_id": resource,
                    "filters": json.dumps({"road": f"路{rng.randrange(5000)}"}),
                    "limit": "10",
                },
            )
            for _ in range(requests)
        ]
        _timed(client, by_key[:5])
        datastore_key = _timed(client, by_key)
        datastore_other = _timed(client, by_road)
        dump = _dump(client, f"/datastore/dump/{resource}")
    return {
        "healthz": healthz,
        "package_search": package_search,
        "datastore_search_key_filter": datastore_key,
        "datastore_search_nonkey_filter": datastore_other,
        "dump_csv": dump,
        "raw_read": _raw_read(work / "open" / name / "v1" / "data.csv"),
        "server_peak_rss_mb": _peak_rss_mb(pid),
    }


def _dump(client: httpx.Client, url: str) -> dict[str, Any]:
    started = time.perf_counter()
    size = 0
    with client.stream("GET", url) as response:
        if response.status_code != 200:
            return {"status": "not available", "reason": f"{url} answered {response.status_code}"}
        for chunk in response.iter_raw(1 << 20):
            size += len(chunk)
    seconds = time.perf_counter() - started
    return {"bytes": size, "seconds": round(seconds, 2), "mb_s": round(size / 1e6 / seconds, 1)}


def _raw_read(path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            size += len(chunk)
    seconds = time.perf_counter() - started
    return {"bytes": size, "mb_s": round(size / 1e6 / max(seconds, 1e-9), 1)}


def _peak_rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None
