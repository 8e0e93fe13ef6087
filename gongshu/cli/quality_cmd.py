"""``gongshu quality …`` (稽核) and ``gongshu report monthly`` (月度公共数据质量报告)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer

from gongshu.cli.output import DataDirOption, JsonOption, platform_for, print_json, print_table
from gongshu.errors import NotFound, ValidationFailed
from gongshu.lake import open_lake
from gongshu.orgs.roles import cli_principal
from gongshu.quality import figures
from gongshu.quality.audit import audit_batch, unaudited_batches
from gongshu.quality.models import AuditRun
from gongshu.quality.rules import load_rulebook
from gongshu.share.metering import calls_by_resource

quality_app = typer.Typer(help="Quality audit (稽核): runs, results, scores and rules.", no_args_is_help=True)
report_app = typer.Typer(help="Reports (报告): the monthly public-data quality report.", no_args_is_help=True)


@quality_app.command("run")
def run(
    batch: Annotated[str | None, typer.Option("--batch", help="audit this batch (again)")] = None,
    missing: Annotated[bool, typer.Option("--missing", help="audit committed batches never audited")] = False,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Audit a batch again, or every committed batch without an audit run."""
    platform = platform_for(data_dir)
    actor = cli_principal()
    if batch is None and not missing:
        raise ValidationFailed({"batch": ["name a batch with --batch ID, or use --missing"]})
    with platform.store.session() as session:
        ids = [batch] if batch else unaudited_batches(session)
    lake = open_lake(platform.settings)
    summaries = [audit_batch(platform, actor, batch_id, lake=lake) for batch_id in ids]
    if as_json:
        print_json([s.__dict__ for s in summaries])
        return
    print_table(
        "稽核 audit runs",
        ["run", "mount", "rows", "failed rows", "score", "failing results", "tickets opened/closed", "s"],
        [
            (
                s.run_id, s.mount, f"{s.rows:,}", f"{s.failed_rows:,}", s.score, s.failing,
                f"{len(s.tickets['opened'])}/{len(s.tickets['closed'])}", s.seconds,
            )
            for s in summaries
        ],
    )  # fmt: skip


@quality_app.command("runs")
def runs(
    mount: Annotated[str | None, typer.Option("--mount", help="only this mount's runs")] = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (city time)")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Audit runs, newest first, with their scores per dimension."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        query = sa.select(AuditRun).order_by(AuditRun.started_at.desc())
        if month:
            query = query.where(AuditRun.month == figures.parse_month(month))
        documents = [
            run_document(r, results=False)
            for r in session.scalars(query)
            if mount is None or r.mount.name == mount
        ]
    if as_json:
        print_json(documents)
        return
    dims = list(load_rulebook().dimensions)
    print_table(
        "稽核 audit runs",
        ["run", "mount", "month", "rows", "failed rows", "score", *dims],
        [
            (d["id"], d["mount"], d["month"], f"{d['rows']:,}", f"{d['failed_rows']:,}", d["score"],
             *[d["dimensions"].get(k, "—") for k in dims])
            for d in documents
        ],
    )  # fmt: skip


@quality_app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="an audit run id (Q<batch id>) or a batch id")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run with every rule × column result."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        run = session.get(AuditRun, run_id) or session.scalar(
            sa.select(AuditRun).where(AuditRun.batch_id == run_id)
        )
        if run is None:
            raise NotFound(f"no audit run {run_id}", hint="gongshu quality runs")
        document = run_document(run, results=True)
    if as_json:
        print_json(document)
        return
    print_table(
        f"稽核 {document['id']} · {document['mount']} · score {document['score']}",
        ["rule", "dimension", "column", "severity", "checked", "failed", "reason"],
        [
            (r["rule"], r["dimension"], r["label"], r["severity"], f"{r['checked']:,}", f"{r['failed']:,}",
             r["description"])
            for r in document["results"]
        ],
    )  # fmt: skip


@quality_app.command("rules")
def rules(as_json: JsonOption = False) -> None:
    """Every audit rule: the audit's own and the cleansing checks it counts, by dimension."""
    book = load_rulebook()
    summaries = book.summaries()
    if as_json:
        print_json(
            {"dimensions": {k: v.model_dump() for k, v in book.dimensions.items()}, "rules": summaries}
        )
        return
    print_table(
        "稽核规则 audit rules",
        ["id", "dimension", "level", "severity", "name", "source"],
        [(r["id"], r["dimension"], r["level"], r["severity"], r["name_zh"], r["source"]) for r in summaries],
    )


@quality_app.command("scores")
def scores(
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (default: this month)")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Department and district scores and ranks for a month."""
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        chosen = month or figures.current_month()
        calls = calls_by_resource(platform, chosen)
        report = figures.monthly_report(session, chosen, actor=cli_principal(), calls=calls)
    keep = ("code", "name", "score", "rank", "records_month", "open_tickets", "overdue_tickets")
    document = {
        "month": report["month"],
        "city": report["city"]["score"],
        "districts_average": report["districts_total"]["score"],
        "departments": [{k: d[k] for k in keep} for d in report["departments"]],
        "districts": [{k: d[k] for k in keep} | {"basis": d["score_basis"]} for d in report["districts"]],
    }
    if as_json:
        print_json(document)
        return
    for key, title in (("departments", "市级部门"), ("districts", "各区")):
        print_table(
            f"{title} {report['month']} 质量得分",
            ["rank", "code", "name", "score", "records", "open tickets", "overdue"],
            [
                (d["rank"] or "—", d["code"], d["name"], d["score"] if d["score"] is not None else "—",
                 f"{d['records_month']:,}", d["open_tickets"], d["overdue_tickets"])
                for d in document[key]
            ],
        )  # fmt: skip


@report_app.command("monthly")
def monthly(
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (default: this month)")] = None,
    out: Annotated[Path, typer.Option("--out", help="directory for the files")] = Path(),
    formats: Annotated[
        str, typer.Option("--format", help="comma-separated: json, html, xlsx, pdf")
    ] = "json,xlsx,pdf",
    lang: Annotated[str, typer.Option("--lang", help="zh-CN or en")] = "zh-CN",
    data_dir: DataDirOption = None,
) -> None:
    """Write the monthly public-data quality report (月度公共数据质量报告) as files."""
    from gongshu.quality import render

    wanted = [f.strip() for f in formats.split(",") if f.strip()]
    unknown = sorted(set(wanted) - {"json", "html", "xlsx", "pdf"})
    if unknown:
        raise ValidationFailed({"format": [f"unknown format(s): {', '.join(unknown)}"]})
    platform = platform_for(data_dir)
    with platform.store.session() as session:
        chosen = month or figures.current_month()
        calls = calls_by_resource(platform, chosen)
        report = figures.monthly_report(session, chosen, actor=cli_principal(), calls=calls)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"quality-report-{report['month']}"
    written = []
    if "json" in wanted:
        path = stem.with_suffix(".json")
        path.write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
        written.append(path)
    html = render.render_print_html(report, lang) if {"html", "pdf"} & set(wanted) else ""
    if "html" in wanted:
        path = stem.with_suffix(".html")
        path.write_text(html, "utf-8")
        written.append(path)
    if "xlsx" in wanted:
        path = stem.with_suffix(".xlsx")
        path.write_bytes(render.report_xlsx(report, lang))
        written.append(path)
    if "pdf" in wanted:
        path = stem.with_suffix(".pdf")
        path.write_bytes(render.report_pdf(html))
        written.append(path)
    for path in written:
        typer.echo(f"{path}  ({path.stat().st_size:,} bytes)")


def run_document(run: AuditRun, *, results: bool) -> dict[str, Any]:
    """A run as JSON: ids, counts, scores per dimension and district, and (optionally) its results."""
    document: dict[str, Any] = {
        "id": run.id,
        "mount": run.mount.name,
        "batch": run.batch_id,
        "entry": run.entry.code,
        "entry_name": run.entry.name,
        "organisation": run.organisation.code,
        "month": run.month,
        "rows": run.rows,
        "failed_rows": run.failed_rows,
        "score": run.score,
        "dimensions": run.dimensions,
        "districts": run.districts,
        "latency_days": run.latency_days,
        "seconds": run.seconds,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
    if results:
        document["results"] = [
            {
                "rule": r.rule_id,
                "dimension": r.dimension,
                "column": r.column,
                "label": r.label,
                "severity": r.severity,
                "description": r.description,
                "checked": r.checked,
                "failed": r.failed,
                "samples": r.samples,
            }
            for r in run.results
        ]
    return document
