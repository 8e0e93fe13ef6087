"""The figures of the monthly public-data quality report (月度公共数据质量报告) and of the cockpit.

Every figure is computed from the metadata store — catalogue entries, mounts, committed batches,
audit runs and tickets — for one city month; the report page, its PDF and XLSX, the cockpit and
``gongshu report monthly`` all render the dict :func:`monthly_report` returns (its shape is
documented in docs/quality-report.md). Definitions, as the Big Data Center reports them (seed 004):

* 编制资源目录 ``entries``: published or mounted catalogue entries created before the month's end;
  ``mounted`` of them with a mount (挂载), ``mounted_ratio``; ``tables``: mounts with a committed batch.
* 本月归集 ``records_month``: rows read by batches committed in the month; 环比 ``records_change``
  against the previous month; ``records_total`` up to the month's end.
* 平均归集时间 ``latency_days``: the mean over the month's audit runs of the days between the newest
  record's business time (the mount's ``audit.event_time``) and its collection.
* 质量得分 ``score``: a table's score is its latest run in the month (gongshu.quality.scores); a
  department's the mean of its tables'; the city's the mean of its departments'. 各区: the mean of
  the district's own tables, or — where a district has no audited table of its own — the score of
  the rows located in it (by address or 区划代码) across all tables (``score_basis``).
* 共享需求/调用 ``demands``: demands filed in the month for the organisation's resources (as provider);
  ``calls``: answered sharing calls of its resources in the month, from the call log's metering
  (``calls`` argument, by resource code; zero where the caller passes none).
* Tickets: open and overdue as of the day the report is made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gongshu.catalogue.models import CatalogEntry
from gongshu.collect.models import Batch, Mount
from gongshu.orgs.models import Division, Organisation
from gongshu.orgs.roles import Principal
from gongshu.quality import tickets
from gongshu.quality.calendar import current_month, month_bounds, parse_month, shift_month
from gongshu.quality.models import AuditResult, AuditRun
from gongshu.quality.rules import load_rulebook
from gongshu.quality.scores import mean_score, ranks
from gongshu.share.models import Demand
from gongshu.store.base import CITY_TIMEZONE, city_today

__all__ = [
    "cockpit",
    "current_month",
    "month_bounds",
    "monthly_report",
    "narrative",
    "parse_month",
    "shift_month",
]

SPATIAL_RULES = ("COORD_DISTRICT", "COORD_RANGE")
LISTED = ("published", "mounted")


@dataclass(frozen=True)
class _Table:
    """One mount with what the month says about it."""

    mount_id: int
    organisation_id: int
    run: AuditRun | None
    records: int
    records_total: int


def monthly_report(
    session: Session,
    month: str,
    *,
    actor: Principal,
    calls: Mapping[str, tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """The month's report figures (any signed-in user may read them: they hold no personal data).

    ``calls`` maps a resource code to its answered sharing calls (this month, the month before),
    from :func:`gongshu.share.metering.calls_by_resource`.
    """
    month = parse_month(month)
    ticket_totals = tickets.open_by_organisation(session, today=city_today())
    start, end = month_bounds(month)
    previous = shift_month(month, -1)
    p_start, _ = month_bounds(previous)
    orgs = {o.id: o for o in session.scalars(sa.select(Organisation))}
    divisions = {d.code: d for d in session.scalars(sa.select(Division).order_by(Division.code))}
    entries = _entries(session, end)
    tables = _tables(session, start, end)
    previous_tables = _tables(session, p_start, start)
    results = _results(session, [t.run for t in tables if t.run is not None])
    book = load_rulebook()
    demand_counts = _demands(session, start, end, p_start)
    call_counts = calls or {}

    def figures(org_ids: set[int], scope: Sequence[_Table], before: Sequence[_Table]) -> dict[str, Any]:
        listed = [e for e in entries if e.provider_id in org_ids]
        mounted = [e for e in listed if e.status == "mounted"]
        runs = [t.run for t in scope if t.run is not None]
        counts = _counts(results, runs)
        latency = _mean([r.latency_days for r in runs])
        latency_before = _mean([t.run.latency_days for t in before if t.run is not None])
        records = sum(t.records for t in scope)
        records_before = sum(t.records for t in before)
        counts_by_org = [ticket_totals.get(o, (0, 0)) for o in org_ids]
        return {
            "entries": len(listed),
            "mounted": len(mounted),
            "mounted_ratio": round(len(mounted) / len(listed), 4) if listed else None,
            "tables": sum(1 for t in scope if t.records_total > 0),
            "records_month": records,
            "records_previous": records_before,
            "records_change": round(records / records_before - 1, 4) if records_before else None,
            "records_total": sum(t.records_total for t in scope),
            "latency_days": latency,
            "latency_previous": latency_before,
            "latency_change": round(latency - latency_before, 3)
            if latency is not None and latency_before is not None
            else None,
            "demands": sum(demand_counts.get((o, "now"), 0) for o in org_ids),
            "demands_previous": sum(demand_counts.get((o, "before"), 0) for o in org_ids),
            "calls": sum(call_counts.get(e.code, (0, 0))[0] for e in listed),
            "calls_previous": sum(call_counts.get(e.code, (0, 0))[1] for e in listed),
            "score": _org_score(scope),
            "score_previous": _org_score(before),
            "checked": counts[0],
            "anomalies": counts[1],
            "open_tickets": sum(n for n, _late in counts_by_org),
            "overdue_tickets": sum(late for _n, late in counts_by_org),
        }

    def of(org_ids: set[int], source: Sequence[_Table]) -> list[_Table]:
        return [t for t in source if t.organisation_id in org_ids]

    city_orgs = {o.id for o in orgs.values() if o.division_code == "310000"}
    departments: list[dict[str, Any]] = []
    for org in sorted(orgs.values(), key=lambda o: o.code):
        if org.kind != "department":
            continue
        ids = {org.id}
        row: dict[str, Any] = {"code": org.code, "name": org.name, "name_en": org.name_en}
        row.update(figures(ids, of(ids, tables), of(ids, previous_tables)))
        row["top_problems"] = _problems(results, [t.run for t in of(ids, tables) if t.run], orgs, 3)
        departments.append(row)
    dept_ranks = ranks({d["code"]: d["score"] for d in departments})
    for d in departments:
        d["rank"] = dept_ranks[d["code"]]
    departments.sort(key=lambda d: (d["rank"] is None, d["rank"] or 0, d["code"]))

    located = _located(tables)
    districts: list[dict[str, Any]] = []
    for code, division in divisions.items():
        if division.level != "district":
            continue
        ids = {o.id for o in orgs.values() if o.division_code == code}
        row = {"code": code, "name": division.name, "name_en": division.name_en}
        row.update(figures(ids, of(ids, tables), of(ids, previous_tables)))
        rows, failed, score = located.get(code, (0, 0, None))
        row["located_rows"], row["located_failed"] = rows, failed
        row["score_basis"] = "own" if row["score"] is not None else "located"
        if row["score"] is None:
            row["score"] = score
        districts.append(row)
    district_ranks = ranks({d["code"]: d["score"] for d in districts})
    for d in districts:
        d["rank"] = district_ranks[d["code"]]

    city = figures(city_orgs, of(city_orgs, tables), of(city_orgs, previous_tables))
    city["score"] = mean_score([d["score"] for d in departments])
    city["score_previous"] = mean_score([d["score_previous"] for d in departments])
    district_ids = {o.id for o in orgs.values() if o.division_code != "310000"}
    districts_total = figures(district_ids, of(district_ids, tables), of(district_ids, previous_tables))
    districts_total["score"] = mean_score([d["score"] for d in districts])
    all_runs = [t.run for t in tables if t.run is not None]
    report: dict[str, Any] = {
        "month": month,
        "previous_month": previous,
        "generated_at": datetime.now(UTC).astimezone(CITY_TIMEZONE).isoformat(timespec="seconds"),
        "city": city,
        "districts_total": districts_total,
        "departments": departments,
        "districts": districts,
        "dimensions": _dimensions(results, all_runs, book),
        "top_problems": _problems(results, all_runs, orgs, 10),
        "spatial": _spatial(results, all_runs),
        "trend": _trend(session, month),
    }
    report["narrative"] = narrative(report)
    return report


def cockpit(
    session: Session,
    *,
    actor: Principal,
    month: str | None = None,
    calls: Mapping[str, tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """The cockpit's figures: the month's report (default: the current city month)."""
    return monthly_report(session, month or current_month(), actor=actor, calls=calls)


def _demands(
    session: Session, start: datetime, end: datetime, before: datetime
) -> dict[tuple[int, str], int]:
    """Demands filed for each provider's resources this month (``now``) and the month before."""
    period = sa.case((Demand.created_at >= start, "now"), else_="before")
    query = (
        sa.select(Demand.provider_id, period, sa.func.count())
        .where(Demand.created_at >= before, Demand.created_at < end)
        .group_by(Demand.provider_id, period)
    )
    return {(org, when): n for org, when, n in session.execute(query)}


# -- the month's tables, runs and results ---------------------------------------------------------


def _entries(session: Session, end: datetime) -> list[CatalogEntry]:
    return list(
        session.scalars(
            sa.select(CatalogEntry).where(CatalogEntry.status.in_(LISTED), CatalogEntry.created_at < end)
        ).unique()
    )


def _tables(session: Session, start: datetime, end: datetime) -> list[_Table]:
    """Every mount with its latest audit run in [start, end), its rows then and up to ``end``."""
    batches = session.execute(
        sa.select(Batch.mount_id, Batch.finished_at, Batch.rows_read).where(
            Batch.state == "committed", Batch.finished_at < end
        )
    ).all()
    month_rows: dict[int, int] = defaultdict(int)
    total_rows: dict[int, int] = defaultdict(int)
    for mount_id, finished, rows in batches:
        total_rows[mount_id] += rows
        if finished is not None and finished >= start:
            month_rows[mount_id] += rows
    latest: dict[int, AuditRun] = {}
    runs = session.scalars(
        sa.select(AuditRun)
        .where(AuditRun.started_at >= start, AuditRun.started_at < end, AuditRun.state == "done")
        .order_by(AuditRun.started_at)
    )
    for run in runs:
        latest[run.mount_id] = run
    tables = []
    for mount in session.scalars(sa.select(Mount).where(Mount.created_at < end)):
        tables.append(
            _Table(
                mount.id,
                mount.organisation_id,
                latest.get(mount.id),
                month_rows[mount.id],
                total_rows[mount.id],
            )
        )
    return tables


def _results(session: Session, runs: Sequence[AuditRun]) -> dict[str, list[AuditResult]]:
    ids = [r.id for r in runs]
    out: dict[str, list[AuditResult]] = defaultdict(list)
    if ids:
        for result in session.scalars(sa.select(AuditResult).where(AuditResult.run_id.in_(ids))):
            out[result.run_id].append(result)
    return out


def _scored(results: Iterable[AuditResult]) -> Iterable[AuditResult]:
    return (r for r in results if r.severity != "info")


def _counts(results: dict[str, list[AuditResult]], runs: Sequence[AuditRun]) -> tuple[int, int]:
    checked = failed = 0
    for run in runs:
        for r in _scored(results[run.id]):
            checked += r.checked
            failed += r.failed
    return checked, failed


def _org_score(tables: Sequence[_Table]) -> float | None:
    return mean_score([t.run.score for t in tables if t.run is not None])


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 2) if present else None


def _located(tables: Sequence[_Table]) -> dict[str, tuple[int, int, float | None]]:
    """Per district: rows located there, of which failing, and their row-weighted score."""
    rows: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    weighted: dict[str, float] = defaultdict(float)
    weights: dict[str, int] = defaultdict(int)
    for t in tables:
        if t.run is None:
            continue
        for code, d in (t.run.districts or {}).items():
            rows[code] += int(d.get("rows", 0))
            failed[code] += int(d.get("failed_rows", 0))
            if d.get("score") is not None:
                weighted[code] += float(d["score"]) * int(d.get("rows", 0))
                weights[code] += int(d.get("rows", 0))
    return {
        code: (rows[code], failed[code], round(weighted[code] / weights[code], 2) if weights[code] else None)
        for code in rows
    }


def _dimensions(
    results: dict[str, list[AuditResult]], runs: Sequence[AuditRun], book: Any
) -> list[dict[str, Any]]:
    out = []
    for key, dim in book.dimensions.items():
        scores = [r.dimensions.get(key) for r in runs if r.dimensions]
        checked = failed = 0
        for run in runs:
            for r in _scored(results[run.id]):
                if r.dimension == key:
                    checked += r.checked
                    failed += r.failed
        out.append(
            {
                "dimension": key,
                "label": dim.zh,
                "label_en": dim.en,
                "score": _mean(scores),
                "checked": checked,
                "failed": failed,
            }
        )
    return out


def _problems(
    results: dict[str, list[AuditResult]],
    runs: Sequence[AuditRun],
    orgs: dict[int, Organisation],
    limit: int,
) -> list[dict[str, Any]]:
    book = load_rulebook()
    found: list[dict[str, Any]] = []
    for run in runs:
        for r in _scored(results[run.id]):
            if r.failed <= 0:
                continue
            org = orgs.get(run.organisation_id)
            text = book.text(r.rule_id) if r.rule_id in book.rules or r.rule_id in book.cleanse else None
            found.append(
                {
                    "rule": r.rule_id,
                    "description": r.description,
                    "description_en": text.reason_en if text else "",
                    "dimension": r.dimension,
                    "department": org.code if org else "",
                    "department_name": org.name if org else "",
                    "entry": run.entry.code,
                    "entry_name": run.entry.name,
                    "column": r.column,
                    "label": r.label,
                    "failed": r.failed,
                    "checked": r.checked,
                }
            )
    found.sort(key=lambda p: (-int(p["failed"]), str(p["department"]), str(p["rule"]), str(p["column"])))
    return found[:limit]


def _spatial(results: dict[str, list[AuditResult]], runs: Sequence[AuditRun]) -> dict[str, int]:
    """Records with coordinates checked and the anomalies found (the lon column counts each point once)."""
    checked = anomalies = 0
    for run in runs:
        spatial = [r for r in results[run.id] if r.rule_id in SPATIAL_RULES]
        if not spatial:
            continue
        checked += max(r.checked for r in spatial)
        columns = sorted({r.column for r in spatial})
        anomalies += sum(r.failed for r in spatial if r.column == columns[0])
    return {"checked": checked, "anomalies": anomalies, "passed": max(checked - anomalies, 0)}


def _trend(session: Session, month: str) -> list[dict[str, Any]]:
    """Twelve months up to ``month``: records collected, batches, the city score and latency."""
    first = shift_month(month, -11)
    start, _ = month_bounds(first)
    _, end = month_bounds(month)
    months = [shift_month(first, i) for i in range(12)]
    records: dict[str, int] = defaultdict(int)
    batches: dict[str, int] = defaultdict(int)
    for finished, rows in session.execute(
        sa.select(Batch.finished_at, Batch.rows_read).where(
            Batch.state == "committed", Batch.finished_at >= start, Batch.finished_at < end
        )
    ):
        if finished is None:
            continue
        key = finished.astimezone(CITY_TIMEZONE).strftime("%Y-%m")
        records[key] += rows
        batches[key] += 1
    latest: dict[tuple[str, int], AuditRun] = {}
    for run in session.scalars(
        sa.select(AuditRun)
        .where(AuditRun.month >= first, AuditRun.month <= month, AuditRun.state == "done")
        .order_by(AuditRun.started_at)
    ):
        latest[(run.month, run.mount_id)] = run
    by_month: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    latency: dict[str, list[float | None]] = defaultdict(list)
    for (m, _mount), run in latest.items():
        if run.score is not None:
            by_month[m][run.organisation_id].append(run.score)
        latency[m].append(run.latency_days)
    out = []
    for m in months:
        org_scores = [mean_score(v) for v in by_month[m].values()]
        out.append(
            {
                "month": m,
                "records": records[m],
                "batches": batches[m],
                "score": mean_score(org_scores),
                "latency_days": _mean(latency[m]),
            }
        )
    return out


# -- narrative ------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def narrative(report: dict[str, Any]) -> dict[str, list[str]]:
    """Paragraphs in Chinese and English generated from the figures (no figure is invented)."""
    month = report["month"]
    year, mon = month.split("-")
    c, d = report["city"], report["districts_total"]
    zh, en = [], []
    change = c["records_change"]
    trend_zh = "" if change is None else f"，环比{'增加' if change >= 0 else '减少'} {abs(change) * 100:.2f}%"
    trend_en = (
        ""
        if change is None
        else f", {'up' if change >= 0 else 'down'} {abs(change) * 100:.2f}% on last month"
    )
    latency_zh = "" if c["latency_days"] is None else f"；数据的平均归集时间为 {c['latency_days']:.2f} 天"
    latency_en = (
        "" if c["latency_days"] is None else f"; average collection latency {c['latency_days']:.2f} days"
    )
    if c["latency_change"] is not None:
        delta = c["latency_change"]
        latency_zh += f"，较上月{'增加' if delta >= 0 else '减少'} {abs(delta):.2f} 天"
        latency_en += f" ({'+' if delta >= 0 else '−'}{abs(delta):.2f} on last month)"
    zh.append(
        f"截至 {year} 年 {int(mon)} 月，市级各部门共编制资源目录 {c['entries']:,} 个，"
        f"其中 {c['mounted']:,} 个挂载了数据资源，占 {_pct(c['mounted_ratio'])}；"
        f"本月归集入湖 {c['records_month']:,} 条数据{trend_zh}"
        f"{latency_zh}。本月共享需求 {c['demands']:,} 个，资源共享 {c['calls']:,} 次。"
    )
    en.append(
        f"By {month}, city departments had compiled {c['entries']:,} catalogue entries, "
        f"{c['mounted']:,} of them "
        f"with data mounted ({_pct(c['mounted_ratio'])}); {c['records_month']:,} records were collected this "
        f"month{trend_en}{latency_en}. Sharing: {c['demands']:,} demands and {c['calls']:,} calls."
    )
    ranked = [x for x in report["departments"] if x["score"] is not None]
    if c["score"] is not None:
        best = "、".join(x["name"] for x in ranked[:3])
        zh.append(
            f"经稽核，全市市级单位公共数据质量的平均得分为 {c['score']:.2f}"
            + (f"，得分前三的部门为{best}" if best else "")
            + f"；共稽核 {c['checked']:,} 个数据项，发现异常 {c['anomalies']:,} 个。"
        )
        en.append(
            f"The audit gives city departments an average quality score of {c['score']:.2f}"
            + (
                f"; the top three are {', '.join(x['name_en'] or x['name'] for x in ranked[:3])}"
                if ranked
                else ""
            )
            + f". {c['checked']:,} values were checked and {c['anomalies']:,} anomalies found."
        )
    if d["score"] is not None:
        zh.append(
            f"全市各区共编制资源目录 {d['entries']:,} 个，其中 {d['mounted']:,} 个挂载了数据资源；"
            f"本期各区公共数据质量的平均得分为 {d['score']:.2f}。"
        )
        en.append(
            f"The districts compiled {d['entries']:,} entries, {d['mounted']:,} mounted; "
            f"their average quality score is {d['score']:.2f}."
        )
    s = report["spatial"]
    if s["checked"]:
        zh.append(
            f"空间数据稽核共检查 {s['checked']:,} 条，查出稽核异常数据 {s['anomalies']:,} 条，"
            f"合格数据 {s['passed']:,} 条。"
        )
        en.append(
            f"Spatial audit: {s['checked']:,} records checked, {s['anomalies']:,} anomalies, "
            f"{s['passed']:,} passed."
        )
    top = report["top_problems"][:3]
    if top:
        zh.append(
            "主要问题："
            + "；".join(
                f"{p['department_name']}「{p['entry_name']}」{p['label']}："
                f"{p['description']} {p['failed']:,} 条"
                for p in top
            )
            + "。"
        )
        en.append(
            "Main problems: "
            + "; ".join(
                f"{p['department']} {p['entry']} {p['label']}: {p['description_en']} ({p['failed']:,})"
                for p in top
            )
            + "."
        )
    if c["open_tickets"]:
        zh.append(f"目前未闭环问题工单 {c['open_tickets']:,} 个，其中逾期 {c['overdue_tickets']:,} 个。")
        en.append(
            f"{c['open_tickets']:,} problem tickets are open, {c['overdue_tickets']:,} of them overdue."
        )
    return {"zh-CN": zh, "en": en}
