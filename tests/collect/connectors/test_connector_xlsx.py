"""XLSX workbooks: matching sheets in order, dates and numbers as a person reads them, bad rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import xlsxwriter

from gongshu.collect.connectors import SourceFailed
from tests.collect.connectors.support import Run, rows

HEADER = ["记录号", "姓名", "入职日期", "登记时间", "人数", "比例", "在职"]


def workbook(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    first = book.add_worksheet("就业登记")
    first.write_row(0, 0, HEADER)
    first.write_row(1, 0, ["JY1", "张三"])
    first.write_datetime(1, 2, dt.datetime(2024, 5, 8), date)
    first.write_datetime(1, 3, dt.datetime(2024, 5, 8, 13, 45, 0), stamp)
    first.write_number(1, 4, 123)
    first.write_number(1, 5, 0.25)
    first.write_boolean(1, 6, True)
    first.write_row(2, 0, ["JY2", "李四", "2024年5月9日"])
    first.write_number(2, 3, 45420)  # a date typed as a plain number: an Excel serial, kept as such
    first.write_number(2, 4, 1e20)
    first.write_number(2, 5, -3.5)
    first.write_boolean(2, 6, False)
    # row 4 is blank; row 5 has a value beyond the header
    first.write_row(4, 0, ["JY3", "王五", None, None, None, None, None, "多余"])
    first.write_row(5, 0, ["JY4", "赵六"])
    second = book.add_worksheet("就业登记_2")
    second.write_row(0, 0, HEADER)
    second.write_row(1, 0, ["JY5", "钱七", "2024-06-01"])
    other = book.add_worksheet("参保信息")
    other.write_row(0, 0, ["记录号", "险种"])
    other.write_row(1, 0, ["CB1", "110"])
    book.close()
    return path


def test_matching_sheets_in_workbook_order_with_cells_as_text(run: Run, tmp_path: Path) -> None:
    path = workbook(tmp_path / "rs.xlsx")
    result = run({"kind": "file", "path": str(path), "sheets": "就业登记*"})
    assert result.columns == HEADER
    assert rows(result) == [
        ("JY1", "张三", "2024-05-08", "2024-05-08 13:45:00", "123", "0.25", "TRUE"),
        ("JY2", "李四", "2024年5月9日", "45420", "1e+20", "-3.5", "FALSE"),
        ("JY4", "赵六", None, None, None, None, None),
        ("JY5", "钱七", "2024-06-01", None, None, None, None),
    ]
    [reject] = result.rejects
    assert (reject.source, reject.line) == ("rs.xlsx:就业登记", 5)
    assert reject.raw.startswith("JY3,王五") and "多余" in reject.raw
    assert any("1 empty row(s) skipped" in note for note in result.notes)
    assert any("sheets read: 就业登记, 就业登记_2" in note for note in result.notes)
    assert result.source_types["记录号"] == "VARCHAR"
    assert result.source_types["人数"] == "inferred:BIGINT"
    assert result.source_types["在职"] == "inferred:BOOLEAN"


def test_the_other_table_of_the_same_workbook(run: Run, tmp_path: Path) -> None:
    result = run({"kind": "file", "path": str(workbook(tmp_path / "rs.xlsx")), "sheets": "参保*"})
    assert result.columns == ["记录号", "险种"]
    assert rows(result, meta=True) == [("CB1", "110", "b1", "rs.xlsx")]


def test_sheets_with_different_headers_are_refused(run: Run, tmp_path: Path) -> None:
    with pytest.raises(SourceFailed, match="header of sheet '参保信息' differs"):
        run({"kind": "file", "path": str(workbook(tmp_path / "rs.xlsx"))})
    with pytest.raises(SourceFailed, match="no sheet"):
        run({"kind": "file", "path": str(workbook(tmp_path / "rs2.xlsx")), "sheets": "死亡*"})
    (tmp_path / "broken.xlsx").write_bytes(b"PK not really a zip")
    with pytest.raises(SourceFailed, match="not a readable workbook"):
        run({"kind": "file", "path": str(tmp_path / "broken.xlsx")})
