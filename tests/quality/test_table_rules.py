"""The table-level audit rules (CRS, distribution, cycle, latency, access, malformed) with exact counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from gongshu.cleanse import ColumnBinding
from gongshu.collect.specs import MountSpec
from gongshu.quality.audit import _Context, _table_results
from gongshu.quality.engine import AuditTable
from gongshu.quality.rules import load_rulebook

FINISHED = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
COORDS = (
    ColumnBinding("lon", "lon", "DE0304", "N", 12),
    ColumnBinding("lat", "lat", "DE0305", "N", 12),
)


def _spec(**audit: object) -> MountSpec:
    return MountSpec.model_validate(
        {
            "name": "t",
            "entry": "101001001/000001",
            "source": {"kind": "file", "path": "x", "pattern": "x.csv", "format": "csv"},
            "columns": {"lon": "lon", "lat": "lat", "sex": "sex"},
            "audit": audit,
        }
    )


def _context(**changes: object) -> _Context:
    values: dict[str, object] = {
        "bindings": list(COORDS),
        "labels": {},
        "cycle": timedelta(days=1),
        "finished": FINISHED,
        "previous_finished": FINISHED - timedelta(days=1),
        "previous_profile": None,
        "failed_batches": 0,
        "malformed": 0,
        "rows_read": 1000,
        "today": date(2026, 11, 21),
    }
    values.update(changes)
    return _Context(**values)  # type: ignore[arg-type]


def _results(ctx: _Context, spec: MountSpec, **kw: object) -> dict[str, tuple[int, int]]:
    table = AuditTable("t", COORDS)
    out = _table_results(
        load_rulebook(), ctx, spec, table, kw.get("profile", {}),  # type: ignore[arg-type]
        kw.get("newest"), kw.get("crs_rows"),  # type: ignore[arg-type]
    )  # fmt: skip
    return {f"{r.rule_id}:{r.column}": (r.checked, r.failed) for r in out}


def test_coordinate_system_declared_in_the_spec_or_the_data() -> None:
    assert _results(_context(), _spec(crs="EPSG:4490"))["COORD_SYSTEM:"] == (1, 0)
    assert _results(_context(), _spec())["COORD_SYSTEM:"] == (1, 1)
    assert _results(_context(), _spec(), crs_rows=(500, 3))["COORD_SYSTEM:crs"] == (500, 3)


def test_timeliness_latency_access_and_malformed() -> None:
    on_time = _results(_context(malformed=7, failed_batches=2), _spec(crs="CGCS2000"))
    assert on_time["TIMELINESS:"] == (1, 0)
    assert on_time["ACCESSIBILITY:"] == (3, 2)
    assert on_time["ROW_MALFORMED:"] == (1000, 7)
    late = _results(_context(previous_finished=FINISHED - timedelta(days=2)), _spec(crs="CGCS2000"))
    assert late["TIMELINESS:"] == (1, 1)  # two days against a daily cycle (× 1.5 grace)
    spec = _spec(crs="CGCS2000", event_time="lon")
    fresh = _results(_context(), spec, newest=FINISHED - timedelta(hours=5))
    stale = _results(_context(), spec, newest=FINISHED - timedelta(days=3))
    assert fresh["LATENCY:lon"] == (1, 0) and stale["LATENCY:lon"] == (1, 1)
    assert _context().latency_days(FINISHED - timedelta(days=3)) == 3.0


def test_distribution_change_against_the_previous_profile() -> None:
    before = {"rows": 1000, "columns": {"sex": {"null_ratio": 0.01, "codes": {"1": 0.5, "2": 0.5}}}}
    same = {"rows": 1000, "columns": {"sex": {"null_ratio": 0.02, "codes": {"1": 0.52, "2": 0.48}}}}
    moved = {"rows": 1000, "columns": {"sex": {"null_ratio": 0.01, "codes": {"1": 0.8, "2": 0.2}}}}
    empty = {"rows": 1000, "columns": {"sex": {"null_ratio": 0.30, "codes": {"1": 0.5, "2": 0.5}}}}
    spec = _spec(crs="CGCS2000")
    ctx = _context(previous_profile=before)
    assert _results(ctx, spec, profile=same)["DISTRIBUTION:sex"] == (1, 0)
    assert _results(ctx, spec, profile=moved)["DISTRIBUTION:sex"] == (1, 1)  # total variation 0.3
    assert _results(ctx, spec, profile=empty)["DISTRIBUTION:sex"] == (1, 1)  # NULLs +0.29
    assert "DISTRIBUTION:sex" not in _results(_context(), spec, profile=moved)  # first batch
