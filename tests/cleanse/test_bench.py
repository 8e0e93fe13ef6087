"""The benchmark helper runs (its timings are for people, not asserted)."""

from __future__ import annotations

from pathlib import Path

from gongshu.cleanse.bench import measure, person_bindings


def test_measure_runs_on_a_small_register(tmp_path: Path) -> None:
    result = measure(2_000, path=tmp_path / "people.csv")
    assert result.rows >= 2_000
    assert result.checks >= 20 and result.rows_per_second > 0
    assert set(result.as_dict()) >= {"rows", "scan_seconds", "cleanse_seconds", "rows_per_second"}


def test_person_bindings_follow_the_population_entry() -> None:
    names = [b.name for b in person_bindings()]
    assert names[:3] == ["record_id", "id_number", "name"] and len(names) == 15
