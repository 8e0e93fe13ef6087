"""write_person_csv: the large population CSV and its defect manifest."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gongshu.city import write_person_csv
from gongshu.errors import ValidationFailed


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_person_csv(tmp_path: Path, encoding: str) -> None:
    result = write_person_csv(tmp_path / "p.csv", rows=3000, seed=9, encoding=encoding)
    with (tmp_path / "p.csv").open(encoding=encoding, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == result.rows >= 3000
    manifest = pq.read_table(result.manifest_path).to_pylist()
    assert {"id_check_digit", "duplicate_key", "phone_invalid"} <= {m["kind"] for m in manifest}
    for m in manifest:
        assert (rows[m["row"]][m["field"]] or None) == m["planted"]
        assert rows[m["row"]]["record_id"] == m["record_key"]
    again = write_person_csv(tmp_path / "q.csv", rows=3000, seed=9, encoding=encoding)
    assert (tmp_path / "q.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()
    assert again.defects == result.defects


def test_person_csv_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed):
        write_person_csv(tmp_path / "p.csv", rows=0)
    with pytest.raises(ValidationFailed):
        write_person_csv(tmp_path / "p.csv", rows=10, encoding="latin-1")
