"""`gongshu bench portal` at a small scale: every figure is measured, with its baseline and ratio."""

from __future__ import annotations

from gongshu.open.bench import ratios, run_portal_bench, targets_met


def test_portal_bench_measures_every_figure_against_its_baseline() -> None:
    result = run_portal_bench(datasets=40, rows=5_000, requests=5)
    for call in (
        "healthz",
        "package_search",
        "datastore_search_key_filter",
        "datastore_search_nonkey_filter",
    ):
        assert result[call]["p95_ms"] > 0, call
    assert result["dump_csv"]["bytes"] > 0 and result["dump_csv"]["mb_s"] > 0
    assert result["raw_read"]["bytes"] == result["dump_csv"]["bytes"]  # the same file, read raw
    assert all(value is not None for value in result["ratios"].values())
    assert set(result["met"]) == set(result["targets"])


def test_ratios_and_targets_say_what_is_missing() -> None:
    figures = {"healthz": {"p95_ms": 2.0}, "package_search": {"p95_ms": 150.0}}
    assert ratios(figures)["package_search_p95_over_healthz"] == 75.0
    assert ratios(figures)["dump_over_raw_read"] is None
    met = targets_met(figures)
    assert met["package_search_p95_ms"] is False
    assert met["datastore_search_p95_ms"] is None and met["dump_mb_s"] is None
