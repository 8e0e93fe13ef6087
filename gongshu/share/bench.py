"""`gongshu bench verify`: the verification API under load, against the same service's bare health check.

One run builds a throwaway data directory (not timed):

* a person library of ``persons`` rows (公民身份号码 with valid check digits, 姓名, 行政区划代码)
  written to the standard zone of a mounted 有条件共享 resource;
* ``grants`` grants held by the 16 district offices, half scoped to their own district (属地) and
  half to all rows, each with its own scenario — inserted in bulk, as a city's store would hold them;
* a consumer user and an API token per district.

Then it starts the real service (``create_app`` under uvicorn with httptools and uvloop, one
process) and drives it from a separate load-generator process on 127.0.0.1 with keep-alive
connections: first ``GET /healthz`` (the baseline: the same server answering nothing), then
``POST /api/v1/share/grants/{code}/verify`` with a random grant of the caller's district and a
person that matches, mismatches or is absent — token authentication, the grant decision, the
meter, the verification and a durable call-log record on every call. Afterwards it checks that the
call log holds exactly one record per answered call and that its chain verifies, and times the
grant decision alone on the million-grant index (``grant_check_p99_us``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform as host
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
import typer

from gongshu.engine.children import in_child

DEFAULT_PERSONS = 1_000_000
DEFAULT_GRANTS = 1_000_000
DEFAULT_SECONDS = 10.0
DEFAULT_CONNECTIONS = 32
MOUNT = "bench_person_library"
ENTRY_CODE = "101009001/000001"
TARGETS = {"rps": 5000.0, "p99_ms": 20.0, "ratio": 0.5, "grant_check_p99_us": 1000.0}
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力斌宇浩凯晨欣怡佳琪雨婷子涵梓轩"

ENTRY_DOCUMENT: dict[str, Any] = {
    "code": ENTRY_CODE,
    "name": "人口身份核验库（基准测试）",
    "provider": "GA",
    "summary": "基准测试用的人口身份核验库：公民身份号码、姓名与行政区划",
    "format": "数据库",
    "share_type": "有条件共享",
    "share_condition": "仅限身份核验场景",
    "share_methods": ["接口"],
    "open_type": "不予开放",
    "open_basis": "涉及个人信息",
    "update_cycle": "每日",
    "items": [
        {
            "name": "id_number",
            "label": "公民身份号码",
            "type": "C",
            "length": 18,
            "element": "DE0101",
            "grade": "核心",
        },
        {"name": "name", "label": "姓名", "type": "C", "length": 50, "element": "DE0102", "grade": "重要"},
        {"name": "district_code", "label": "行政区划代码", "type": "C", "length": 6, "element": "DE0302"},
    ],
}


def run_bench(
    *,
    persons: int = DEFAULT_PERSONS,
    grants: int = DEFAULT_GRANTS,
    seconds: float = DEFAULT_SECONDS,
    connections: int = DEFAULT_CONNECTIONS,
    work_dir: Path | None = None,
    say: Any = None,
) -> dict[str, Any]:
    """Build, serve, load and measure; the figures (see the module docstring)."""
    tell = say or (lambda _message: None)
    owned = work_dir is None
    root = Path(tempfile.mkdtemp(prefix="gongshu-bench-verify-")) if owned else Path(work_dir or ".")
    data_dir = root / "data"
    try:
        started = time.perf_counter()
        tell(f"building the library ({persons:,} persons) and {grants:,} grants …")
        setup = in_child(_setup_child, str(data_dir), persons, grants)
        setup["seconds"] = round(time.perf_counter() - started, 1)
        port = free_port()
        server = start_server(data_dir, port)
        try:
            tell("warming up (loading grants, building verification indexes) …")
            requests = _requests(setup, 60_000)
            _warm_up(port, requests, setup)
            tell(f"baseline: GET /healthz for {seconds:g} s …")
            health = [b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"]
            baseline = in_child(_load_child, port, health, seconds, connections)
            before = _log_count(data_dir)
            tell(f"verification: POST …/verify for {seconds:g} s …")
            load = in_child(_load_child, port, requests, seconds, connections)
        finally:
            server.terminate()
            server.wait(timeout=60)
        tell("checking the call log and timing the grant decision …")
        checks = in_child(_check_child, str(data_dir), before, setup["grant_codes_sample"])
    finally:
        if owned:
            shutil.rmtree(root, ignore_errors=True)
    ratio = load["rps"] / baseline["rps"] if baseline["rps"] else 0.0
    figures = {
        "benchmark": "verify",
        "date": dt.date.today().isoformat(),
        "machine": _machine(),
        "persons": persons,
        "grants": grants,
        "connections": connections,
        "seconds": seconds,
        "rps": load["rps"],
        "p50_ms": load["p50_ms"],
        "p90_ms": load["p90_ms"],
        "p99_ms": load["p99_ms"],
        "max_ms": load["max_ms"],
        "baseline_rps": baseline["rps"],
        "baseline_p99_ms": baseline["p99_ms"],
        "ratio": round(ratio, 3),
        "grant_check_p50_us": checks["grant_check_p50_us"],
        "grant_check_p99_us": checks["grant_check_p99_us"],
        "statuses": load["statuses"],
        "answers": load["answers"],
        "answered": load["requests"],
        "audit_records": checks["records"],
        "audit_chain": checks["chain"],
        "setup_seconds": setup["seconds"],
        "targets": TARGETS,
    }
    figures["met"] = {
        "rps": figures["rps"] >= TARGETS["rps"],
        "p99_ms": figures["p99_ms"] <= TARGETS["p99_ms"],
        "ratio": figures["ratio"] >= TARGETS["ratio"],
        "grant_check_p99_us": figures["grant_check_p99_us"] <= TARGETS["grant_check_p99_us"],
        "one_record_per_answer": checks["records"] == load["requests"] and checks["chain"] == "intact",
    }
    return figures


# -- setup (child process) ---------------------------------------------------------------------------


def _setup_child(data_dir: str, persons: int, grants: int) -> dict[str, Any]:
    from gongshu.collect.models import Batch, Mount
    from gongshu.config import Settings
    from gongshu.demo import publish_entry, seed_organisations
    from gongshu.lake import open_lake
    from gongshu.lake.specs import TableRef, Zone
    from gongshu.orgs import users
    from gongshu.orgs.models import Organisation
    from gongshu.orgs.roles import SYSTEM, Role
    from gongshu.orgs.schemas import TokenCreate, UserCreate
    from gongshu.orgs.tokens import issue_token
    from gongshu.platform import open_platform
    from gongshu.store.base import utcnow

    settings = Settings(data_dir=Path(data_dir), demo=True)
    platform = open_platform(settings, migrate=True)
    rng = np.random.default_rng(20261121)
    with platform.store.session() as session:
        seed_organisations(session)
        entry = publish_entry(session, ENTRY_DOCUMENT)
        ga = session.scalar(sa.select(Organisation).where(Organisation.code == "GA"))
        assert ga is not None
        mount = Mount(
            name=MOUNT,
            entry_id=entry.id,
            organisation_id=ga.id,
            spec={"name": MOUNT, "entry": ENTRY_CODE, "key": ["id_number"]},
            created_by="bench",
        )
        session.add(mount)
        session.flush()
        session.add(Batch(id="bench-0001", mount_id=mount.id, seq=1, state="committed", started_by="bench"))
        districts = list(
            session.execute(
                sa.select(Organisation.id, Organisation.code, Organisation.division_code).where(
                    Organisation.kind == "district", sa.func.length(Organisation.code) == 7
                )
            )
        )
        provider_id, entry_id = ga.id, entry.id
    library = _library(rng, persons, [d.division_code for d in districts])
    lake = open_lake(settings)
    ref = TableRef(Zone.STANDARD, MOUNT)
    lake.ensure_table(ref, library.schema)
    target = lake.data_dir(ref, "bench-0001")
    pq.write_table(library, target / "part-0.parquet", row_group_size=256_000)
    lake.commit_files(ref, lake.batch_files(ref, "bench-0001"), batch_id="bench-0001")
    codes = _insert_grants(platform, grants, districts, provider_id, entry_id, utcnow())
    tokens = {}
    with platform.store.session() as session:
        for _org_id, code, _division in districts:
            username = f"bench_{code.lower()}"
            users.create_user(
                session,
                SYSTEM,
                UserCreate(
                    username=username,
                    display_name=username,
                    password="gongshu-bench-password",
                    organisation=code,
                    roles=[Role.CONSUMER],
                ),
            )
            tokens[code] = issue_token(session, SYSTEM, TokenCreate(name="bench", username=username)).secret
    sample = rng.choice(library.num_rows, size=min(library.num_rows, 30_000), replace=False)
    ids = library.column("id_number").take(pa.array(sample)).to_pylist()
    names = library.column("name").take(pa.array(sample)).to_pylist()
    where = library.column("district_code").take(pa.array(sample)).to_pylist()
    platform.close()
    return {
        "tokens": tokens,
        "grants_by_org": {code: codes[code] for code in codes},
        "people": list(zip(ids, names, where, strict=True)),
        "grant_codes_sample": [c for org in codes.values() for c in org[:500]],
    }


def _library(rng: np.random.Generator, n: int, districts: list[str]) -> pa.Table:
    from gongshu.city.ids import id_numbers

    area = np.array([int(d) for d in districts], dtype=np.int64)[rng.integers(0, len(districts), n)]
    birth = rng.integers(-7300, 19000, n).astype(np.int64)  # 1950 … 2022
    order = np.arange(n, dtype=np.int64) % 1000
    # spread the order codes so (area, birth, order) stays unique: birth days differ per block of 1000
    birth = birth + (np.arange(n, dtype=np.int64) // 1000) % 7
    _, ids = id_numbers(area, birth, order)
    surnames = np.array(list(SURNAMES))[rng.integers(0, len(SURNAMES), n)]
    first = np.array(list(GIVEN))[rng.integers(0, len(GIVEN), n)]
    second = np.where(rng.random(n) < 0.7, np.array(list(GIVEN))[rng.integers(0, len(GIVEN), n)], "")
    names = np.char.add(np.char.add(surnames, first), second)
    table = pa.table(
        {
            "id_number": ids,
            "name": pa.array(names.tolist(), pa.string()),
            "district_code": pa.array([str(a) for a in area.tolist()], pa.string()),
            "_batch_id": pa.array(["bench-0001"] * n, pa.string()),
            "_batch_seq": pa.array(np.ones(n, dtype=np.int64)),
            "_row": pa.array(np.arange(n, dtype=np.int64)),
            "_op": pa.array(["I"] * n, pa.string()),
        }
    )
    # duplicates of (area, birth, order) would be two persons with one ID: keep the first of each
    ids_np = np.asarray(table.column("id_number").to_pylist())
    _, first_index = np.unique(ids_np, return_index=True)
    return table.take(pa.array(np.sort(first_index)))


def _insert_grants(
    platform: Any, n: int, districts: list[Any], provider_id: int, entry_id: int, now: dt.datetime
) -> dict[str, list[str]]:
    from gongshu.share.models import Demand, Grant

    today = now.date()
    until = today + dt.timedelta(days=365)
    expires = now + dt.timedelta(days=365)
    codes: dict[str, list[str]] = {d.code: [] for d in districts}
    chunk = 20_000
    with platform.store.engine.begin() as conn:
        for start in range(0, n, chunk):
            demand_rows, grant_rows = [], []
            for i in range(start, min(n, start + chunk)):
                org_id, org_code, division = districts[i % len(districts)]
                scoped = i % 2 == 0
                scenario = f"身份核验场景-{i:07d}"
                common = {
                    "consumer_id": org_id,
                    "provider_id": provider_id,
                    "entry_id": entry_id,
                    "scenario": scenario,
                    "method": "接口",
                    "fields": ["id_number", "name"],
                    "row_scope": "district" if scoped else "all",
                    "district_code": division if scoped else None,
                    "conditions": [],
                    "clear_text": False,
                    "daily_quota": 100_000_000,
                    "rate_per_second": 100_000,
                }
                demand_rows.append(
                    {
                        **common,
                        "id": i + 1,
                        "code": f"XQ{i + 1:07d}",
                        "share_type": "有条件共享",
                        "purpose": "办理业务时核验申请人身份",
                        "legal_basis": "《上海市公共数据管理办法》",
                        "period_start": today,
                        "period_end": until,
                        "status": "granted",
                        "created_by": "bench",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                code = f"SQ{i + 1:07d}"
                grant_rows.append(
                    {
                        **common,
                        "demand_id": i + 1,
                        "code": code,
                        "valid_from": now - dt.timedelta(days=1),
                        "expires_at": expires,
                        "status": "active",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                codes[org_code].append(code)
            conn.execute(sa.insert(Demand), demand_rows)
            conn.execute(sa.insert(Grant), grant_rows)
    return codes


# -- serving, loading, checking ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GONGSHU_DATA_DIR": str(data_dir), "GONGSHU_DEMO": "1"}
    code = (
        "import uvicorn; from gongshu.config import Settings; from gongshu.platform import open_platform; "
        "from gongshu.service.app import create_app; "
        f"uvicorn.run(create_app(open_platform(Settings())), host='127.0.0.1', port={port}, "
        "log_level='warning', access_log=False, http='httptools', loop='uvloop')"
    )
    server = subprocess.Popen([sys.executable, "-c", code], env=env)  # noqa: S603 - our own interpreter
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the service did not start within 120 s")


def _requests(setup: dict[str, Any], count: int) -> list[bytes]:
    """Verification requests: a third match, a third mismatch, a third no record, random grants."""
    from gongshu.share.loadgen import http_request

    rng = random.Random(7)
    people: list[tuple[str, str, str]] = setup["people"]
    by_district: dict[str, list[tuple[str, str, str]]] = {}
    for person in people:
        by_district.setdefault(person[2], []).append(person)
    out = []
    orgs = sorted(setup["tokens"])
    for i in range(count):
        org = orgs[i % len(orgs)]
        grants = setup["grants_by_org"][org]
        grant = grants[rng.randrange(len(grants))]
        scoped = int(grant[2:]) % 2 == 1  # grant i+1: even i are district-scoped
        pool = by_district.get(org[1:], people) if scoped else people
        id_number, name, _ = pool[rng.randrange(len(pool))]
        kind = i % 3
        if kind == 1:
            name = name + "某"
        elif kind == 2:
            id_number = id_number[:14] + f"{(int(id_number[14:17]) + 500) % 1000:03d}" + "X"
        body = json.dumps({"values": {"id_number": id_number, "name": name}}, ensure_ascii=False).encode()
        headers = {"Authorization": f"Bearer {setup['tokens'][org]}"}
        out.append(http_request("POST", f"/api/v1/share/grants/{grant}/verify", headers=headers, body=body))
    return out


def _warm_up(port: int, requests: list[bytes], setup: dict[str, Any]) -> None:
    """Load the grant index and build every verification index before the clock starts: one call
    per district and scope (district-scoped and all rows), each waited for."""
    import http.client

    seen: set[tuple[str, bool]] = set()
    for raw in requests:
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        grant = path.split("/")[5]
        headers = dict(line.split(": ", 1) for line in lines[1:])
        org = next(o for o, token in setup["tokens"].items() if headers["Authorization"].endswith(token))
        scope = (org, int(grant[2:]) % 2 == 1)
        if scope in seen:
            continue
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        connection.close()
        if answer.status != 200:
            raise RuntimeError(f"warm-up call answered {answer.status}")
        seen.add(scope)
        if len(seen) == 2 * len(setup["tokens"]):
            return


def _load_child(port: int, requests: list[bytes], seconds: float, connections: int) -> dict[str, Any]:
    from gongshu.share.loadgen import run_load

    return run_load(port, requests, seconds, connections)


def _log_count(data_dir: Path) -> int:
    import sqlite3

    path = data_dir / "share" / "calls.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM calls").fetchone()[0])


def _check_child(data_dir: str, before: int, sample: list[str]) -> dict[str, Any]:
    from gongshu.config import Settings
    from gongshu.platform import open_platform
    from gongshu.share.access import GrantIndex
    from gongshu.share.calllog import CallLog

    records = _log_count(Path(data_dir)) - before
    log = CallLog(Path(data_dir) / "share" / "calls.sqlite")
    chain = "intact" if log.verify().ok else "broken"
    log.close()
    platform = open_platform(Settings(data_dir=Path(data_dir), demo=True))
    index = GrantIndex(platform.store)
    index.refresh()
    rules = [index.get(code) for code in sample]
    rng = random.Random(11)
    timings = []
    clock = time.perf_counter_ns
    for _ in range(200_000):
        rule = rules[rng.randrange(len(rules))]
        assert rule is not None
        t = clock()
        index.decide(rule.code, rule.consumer_id, "verify", ("id_number", "name"))
        timings.append(clock() - t)
    timings.sort()
    platform.close()
    return {
        "records": records,
        "chain": chain,
        "grants_loaded": len(index),
        "grant_check_p50_us": round(timings[len(timings) // 2] / 1000, 2),
        "grant_check_p99_us": round(timings[int(len(timings) * 0.99)] / 1000, 2),
    }


def _machine() -> str:
    return f"{host.node()} · {os.cpu_count()} cores · Python {host.python_version()}"


def bench_verify(
    seconds: Annotated[float, typer.Option(help="seconds of load for each side")] = DEFAULT_SECONDS,
    persons: Annotated[int, typer.Option(help="persons in the library")] = DEFAULT_PERSONS,
    grants: Annotated[int, typer.Option(help="grants in the store")] = DEFAULT_GRANTS,
    connections: Annotated[int, typer.Option(help="concurrent keep-alive connections")] = DEFAULT_CONNECTIONS,
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
) -> None:
    """核验接口压测 the verification API under load vs the bare health check (targets: ≥ 5,000/s,
    p99 ≤ 20 ms, ratio ≥ 0.5, grant decision p99 ≤ 1 ms at 1M grants)."""
    from gongshu.cli.output import console, print_json

    figures = run_bench(
        persons=persons,
        grants=grants,
        seconds=seconds,
        connections=connections,
        say=None if as_json else (lambda m: console.print(f"[dim]{m}[/]")),
    )
    if as_json:
        print_json(figures)
        return
    console.print(
        f"verification 核验: {figures['rps']:,.0f} calls/s · p50 {figures['p50_ms']} ms · "
        f"p99 {figures['p99_ms']} ms\nbaseline /healthz: {figures['baseline_rps']:,.0f}/s · "
        f"ratio {figures['ratio']}\ngrant decision at {grants:,} grants: p99 "
        f"{figures['grant_check_p99_us']} µs\ncall log: {figures['audit_records']:,} records for "
        f"{figures['answered']:,} answered calls, chain {figures['audit_chain']}\n"
        f"answers: {figures['answers']}"
    )
    for name, met in figures["met"].items():
        console.print(f"  {'✓' if met else '✗'} {name}")
