"""The monthly report's figures, recomputed independently from the lake's raw batches and the store."""

from __future__ import annotations

import duckdb
import sqlalchemy as sa

from gongshu.catalogue.models import CatalogEntry
from gongshu.collect.models import Batch
from gongshu.demo import SYSTEM
from gongshu.lake import TableRef, Zone, open_lake
from gongshu.orgs.models import Organisation
from gongshu.quality import figures
from gongshu.quality.models import AuditRun
from tests.demo_city import Demo


def test_report_figures_match_the_raw_batches(demo: Demo) -> None:
    lake = open_lake(demo.platform.settings)
    con = duckdb.connect()
    with demo.platform.store.session() as session:
        month = figures.current_month()
        report = figures.monthly_report(session, month, actor=SYSTEM)
        city_orgs = {
            o.id
            for o in session.scalars(sa.select(Organisation).where(Organisation.division_code == "310000"))
        }
        raw_rows = malformed = city_rows = 0
        per_org: dict[str, int] = {}
        per_division: dict[str, int] = {}
        for batch in session.scalars(sa.select(Batch).where(Batch.state == "committed")):
            files = lake.batch_files(TableRef(Zone.RAW, batch.mount.name), batch.id)
            listed = ", ".join(f"'{f}'" for f in files)
            rows = con.execute(
                f"SELECT count(*) FROM read_parquet([{listed}], union_by_name = true)"
            ).fetchone()
            assert rows is not None
            bad = int((batch.rule_counts or {}).get("ROW_MALFORMED", 0))
            raw_rows += rows[0]
            malformed += bad
            org = batch.mount.organisation
            per_org[org.code] = per_org.get(org.code, 0) + rows[0] + bad
            if org.id in city_orgs:  # the city's figures are its city-level bodies'; districts have their own
                city_rows += rows[0] + bad
            else:
                per_division[org.division_code] = per_division.get(org.division_code, 0) + rows[0] + bad
        entries = (
            session.scalars(sa.select(CatalogEntry).where(CatalogEntry.status.in_(("published", "mounted"))))
            .unique()
            .all()
        )
        city_entries = [e for e in entries if e.provider_id in city_orgs]
        runs = list(session.scalars(sa.select(AuditRun)))
        run_scores: dict[str, list[float]] = {}
        for run in runs:
            assert run.score is not None
            run_scores.setdefault(run.organisation.code, []).append(run.score)

    city = report["city"]
    assert city["records_month"] == city_rows
    assert city["records_total"] == city_rows
    assert city["entries"] == len(city_entries)
    assert city["mounted"] == sum(1 for e in city_entries if e.status == "mounted")
    assert city["mounted_ratio"] == round(city["mounted"] / city["entries"], 4)
    by_code = {d["code"]: d for d in report["departments"]}
    for code, rows in per_org.items():
        if code not in by_code:  # a district body (黄浦区大数据中心 …): counted under its district
            continue
        assert by_code[code]["records_month"] == rows
        assert by_code[code]["score"] == round(sum(run_scores[code]) / len(run_scores[code]), 2)
    scored = [d for d in report["departments"] if d["score"] is not None]
    assert [d["rank"] for d in scored] == sorted(d["rank"] for d in scored)
    assert city["score"] == round(sum(d["score"] for d in scored) / len(scored), 2)
    assert city["anomalies"] > 0 and city["checked"] > city["anomalies"]
    assert len(report["districts"]) == 16
    by_district = {d["code"]: d for d in report["districts"]}
    for division, rows in per_division.items():
        assert by_district[division]["records_month"] == rows
    assert sum(d["located_rows"] for d in report["districts"]) > 0
    assert report["trend"][-1]["month"] == month and report["trend"][-1]["records"] == raw_rows + malformed
    text = "".join(report["narrative"]["zh-CN"])
    assert f"{city['records_month']:,}" in text and f"{city['score']:.2f}" in text
    assert report["spatial"]["checked"] > 0
    assert report["spatial"]["passed"] == report["spatial"]["checked"] - report["spatial"]["anomalies"]


def test_months_are_validated() -> None:
    import pytest

    from gongshu.errors import ValidationFailed

    for bad in ("2026-13", "26-10", "2026/10", "1999-01"):
        with pytest.raises(ValidationFailed):
            figures.parse_month(bad)
    assert figures.shift_month("2026-01", -1) == "2025-12"
    assert figures.parse_month("2026-10") == "2026-10"


def test_the_real_report_renders_as_html_and_xlsx(demo: Demo) -> None:
    import io

    import openpyxl

    from gongshu.quality import render

    with demo.platform.store.session() as session:
        report = figures.monthly_report(session, figures.current_month(), actor=SYSTEM)
    html = render.render_print_html(report, "zh-CN")
    assert f"{report['city']['records_month']:,}" in html
    assert report["departments"][0]["name"] in html
    book = openpyxl.load_workbook(io.BytesIO(render.report_xlsx(report, "zh-CN")))
    assert len(book.sheetnames) >= 5
    cells = {
        str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None
    }
    assert str(report["city"]["records_month"]) in cells or f"{report['city']['records_month']:,}" in cells
