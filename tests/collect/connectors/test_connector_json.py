"""JSON documents, NDJSON files and Parquet files: every value as text, bad lines kept aside."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gongshu.collect.connectors import SourceFailed
from tests.collect.connectors.support import Run, rows

RECORDS = [
    {
        "编码": "A1",
        "名称": "龙阳路",
        "经度": 121.544458,
        "数量": 3,
        "有效": True,
        "标签": ["甲", "乙"],
        "空": None,
    },
    {
        "编码": "A2",
        "名称": "世纪大道",
        "经度": 121.5,
        "数量": 12345678901234567890,
        "有效": False,
        "附加": {"k": 1},
    },
]
EXPECTED = [
    ("A1", "龙阳路", "121.544458", "3", "true", '["甲","乙"]', None, None),
    ("A2", "世纪大道", "121.5", "12345678901234567890", "false", None, None, '{"k":1}'),
]
COLUMNS = ["编码", "名称", "经度", "数量", "有效", "标签", "空", "附加"]


def test_a_json_document_with_json_path(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "address.json"
    path.write_text(json.dumps({"code": 0, "data": {"total": 2, "records": RECORDS}}, ensure_ascii=False))
    result = run({"kind": "file", "path": str(path), "json_path": "data.records"})
    assert result.columns == COLUMNS
    assert rows(result) == EXPECTED
    assert result.source_types["经度"] == "inferred:DOUBLE"
    assert result.source_types["标签"] == "inferred:JSON"


def test_the_records_array_is_found_without_json_path(run: Run, tmp_path: Path) -> None:
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"code": 0, "msg": "ok", "data": {"page": 1, "records": RECORDS}}))
    found = run({"kind": "file", "path": str(nested)})
    assert rows(found) == EXPECTED
    assert any("records found at data.records" in note for note in found.notes)
    top = tmp_path / "top.json"
    top.write_text(json.dumps(RECORDS))
    assert rows(run({"kind": "file", "path": str(top)})) == EXPECTED
    ambiguous = tmp_path / "two.json"
    ambiguous.write_text(json.dumps({"a": {"x": [{"k": 1}]}, "b": {"y": [{"k": 2}]}}))
    with pytest.raises(SourceFailed, match=r"found: a\.x, b\.y"):
        run({"kind": "file", "path": str(ambiguous)})
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [1, 2')
    with pytest.raises(SourceFailed, match="not a readable JSON document"):
        run({"kind": "file", "path": str(broken), "json_path": "data"})


def test_ndjson_with_broken_lines_keeps_the_good_ones(run: Run, tmp_path: Path) -> None:
    lines = [json.dumps(RECORDS[0], ensure_ascii=False), "", '{"编码": "A9", "名称": "半行', "[1, 2]"]
    lines += [json.dumps(RECORDS[1], ensure_ascii=False)]
    path = tmp_path / "v.ndjson"
    path.write_bytes("\n".join(lines).encode() + b"\n" + '{"编码": "A3", "名称": "国标"}\n'.encode("gb18030"))
    result = run({"kind": "file", "path": str(path)})
    assert rows(result)[:2] == EXPECTED
    assert rows(result)[2][:2] == ("A3", "国标")
    assert [(r.line, r.reason_zh) for r in result.rejects] == [(3, "不是合法的 JSON"), (4, "不是 JSON 对象")]
    assert result.rejects[0].raw == '{"编码": "A9", "名称": "半行'
    assert any("1 GB18030 line(s) recovered" in note for note in result.notes)


def test_clean_ndjson_and_an_empty_one(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS) + "\n")
    assert rows(run({"kind": "file", "path": str(path)})) == EXPECTED
    blank = tmp_path / "blank.ndjson"
    blank.write_text("\n\n")
    result = run({"kind": "file", "path": str(blank)})
    assert (result.rows_read, result.columns) == (0, [])


def test_parquet_columns_become_text(run: Run, tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array([1, None], pa.int64()),
            "day": pa.array([dt.date(2024, 1, 2), dt.date(2024, 2, 3)]),
            "amount": pa.array([1.5, 2.0]),
            "tags": pa.array([["a", "b"], []]),
            "名称": pa.array(["甲", ""]),
        }
    )
    pq.write_table(table, tmp_path / "p.parquet")
    result = run({"kind": "file", "path": str(tmp_path / "p.parquet")})
    assert rows(result) == [
        ("1", "2024-01-02", "1.5", '["a","b"]', "甲"),
        (None, "2024-02-03", "2.0", "[]", ""),
    ]
    assert result.source_types == {
        "id": "BIGINT",
        "day": "DATE",
        "amount": "DOUBLE",
        "tags": "VARCHAR[]",
        "名称": "VARCHAR",
    }
