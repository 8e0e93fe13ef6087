"""CSV drop zones: the encoding matrix, mixed encodings, malformed lines, empty files, several files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gongshu.collect.connectors import SourceFailed, encoding
from gongshu.errors import SourceUnavailable
from tests.collect.connectors.support import Run, rows

HEADER = ["编号", "姓名", "地址", "备注"]
DATA = [
    ["1", "张三", "上海市黄浦区中山东一路1号", "甲"],
    ["2", "李四", "上海市浦东新区世纪大道100号", ""],
    ["3", "王五", '上海市徐汇区漕溪北路"九"号', "多行\n备注"],
    ["4", "赵六", "", "𠀀 扩展B区"],
]
#: the rows as collected: an unquoted empty field is NULL, a quoted one the empty string
EXPECTED = [
    ("1", "张三", "上海市黄浦区中山东一路1号", "甲"),
    ("2", "李四", "上海市浦东新区世纪大道100号", ""),
    ("3", "王五", '上海市徐汇区漕溪北路"九"号', "多行\n备注"),
    ("4", "赵六", None, "𠀀 扩展B区"),
]


def csv_text(newline: str) -> str:
    lines = [",".join(HEADER)]
    lines.append("1,张三,上海市黄浦区中山东一路1号,甲")
    lines.append('2,李四,上海市浦东新区世纪大道100号,""')
    lines.append('3,王五,"上海市徐汇区漕溪北路""九""号","多行\n备注"')
    lines.append("4,赵六,,𠀀 扩展B区")
    return newline.join(lines) + newline


def write(path: Path, text: str, codec: str) -> Path:
    path.write_bytes(text.encode(codec))
    return path


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("declared", ["auto", "explicit"])
def test_encoding_matrix(run: Run, tmp_path: Path, codec: str, newline: str, declared: str) -> None:
    path = write(tmp_path / "人口.csv", csv_text(newline), codec)
    spec = {"kind": "file", "path": str(path), "encoding": codec if declared == "explicit" else "auto"}
    result = run(spec)
    assert result.columns == HEADER
    assert rows(result) == EXPECTED
    assert result.rejects == []
    assert result.sources == ["人口.csv"]
    assert result.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()
    if declared == "auto":
        assert any(f"detected: {codec}" in note for note in result.notes)
    assert rows(result, meta=True)[0][-2:] == ("b1", "人口.csv")


def test_gb18030_is_transcoded_correctly_across_block_boundaries(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encoding, "BLOCK", 37)  # every few lines is a block boundary
    data = [[str(i), f"姓名{i}", f"上海市第{i}号"] for i in range(300)]
    text = "编号,姓名,地址\r\n" + "".join(",".join(r) + "\r\n" for r in data)
    result = run({"kind": "file", "path": str(write(tmp_path / "a.csv", text, "gb18030"))})
    assert rows(result) == [tuple(r) for r in data]


def test_a_utf8_file_with_gb18030_lines_loses_nothing(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        "编号,姓名\n1,张三\n".encode()
        + "2,李四\n".encode("gb18030")
        + "3,王五\n".encode()
        + "4,赵六\n".encode("gb18030")
        + "5,钱七\n".encode()
    )
    result = run({"kind": "file", "path": str(path)})
    assert rows(result) == [("1", "张三"), ("2", "李四"), ("3", "王五"), ("4", "赵六"), ("5", "钱七")]
    assert result.rejects == []
    assert any("2 line(s) in GB18030" in note for note in result.notes)


def test_a_line_in_no_known_encoding_is_a_reject_with_its_line_number(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes("编号,姓名\n1,张三\n".encode() + b"2,\xff\xfe\x80\n" + "3,王五\n".encode())
    result = run({"kind": "file", "path": str(path)})
    assert rows(result) == [("1", "张三"), ("3", "王五")]
    [reject] = result.rejects
    assert (reject.source, reject.line) == ("bad.csv", 3)
    assert "UTF-8" in reject.reason_zh and reject.raw.startswith("2,")


def test_malformed_lines_are_rejected_with_line_numbers_and_good_lines_kept(run: Run, tmp_path: Path) -> None:
    text = "a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n\n13,14,15\n"
    result = run({"kind": "file", "path": str(write(tmp_path / "m.csv", text, "utf-8"))})
    assert rows(result) == [("1", "2", "3"), ("10", "11", "12"), ("13", "14", "15")]
    assert [(r.line, r.reason_zh, r.raw) for r in result.rejects] == [
        (3, "列数不足：应为 3 列，实为 2 列", "4,5"),
        (4, "列数过多：应为 3 列，实为 4 列", "6,7,8,9"),
    ]
    assert result.rows_read == 5
    assert result.rejects[0].reason_en == "too few fields: expected 3, found 2"


def test_a_truncated_file_keeps_every_complete_line(run: Run, tmp_path: Path) -> None:
    text = 'id,name,note\n1,a,"x"\n2,b,"y"\n3,c,"cut in the mid'
    result = run({"kind": "file", "path": str(write(tmp_path / "t.csv", text, "utf-8"))})
    assert rows(result) == [("1", "a", "x"), ("2", "b", "y")]
    [reject] = result.rejects
    assert reject.line == 4
    assert reject.reason_zh == "引号未闭合（文件可能被截断）"
    assert reject.raw == '3,c,"cut in the mid'


def test_an_oversized_record_is_rejected(run: Run, tmp_path: Path) -> None:
    text = "id,blob\n1,small\n2," + "x" * 5_000 + "\n3,small\n"
    result = run(
        {"kind": "file", "path": str(write(tmp_path / "o.csv", text, "utf-8")), "max_field_bytes": 2048}
    )
    assert rows(result) == [("1", "small"), ("3", "small")]
    [reject] = result.rejects
    assert reject.line == 3 and "超长" in reject.reason_zh
    assert len(reject.raw) == 2_000


def test_line_numbers_stay_right_deep_in_a_large_file(run: Run, tmp_path: Path) -> None:
    lines = ["id,v"] + [f"{i},{i}" for i in range(200_000)]
    lines[150_001] = "bad"
    result = run({"kind": "file", "path": str(write(tmp_path / "big.csv", "\n".join(lines) + "\n", "utf-8"))})
    assert [r.line for r in result.rejects] == [150_002]
    assert [r[0] for r in rows(result)] == [str(i) for i in range(200_000) if i != 150_000]  # order kept


def test_empty_and_header_only_files(run: Run, tmp_path: Path) -> None:
    (tmp_path / "zone").mkdir()
    (tmp_path / "zone" / "a_empty.csv").write_bytes(b"")
    (tmp_path / "zone" / "b_header.csv").write_bytes("编号,姓名\r\n".encode("gb18030"))
    (tmp_path / "zone" / "c_header_no_newline.csv").write_bytes("编号,姓名".encode())
    result = run({"kind": "file", "path": str(tmp_path / "zone"), "pattern": "*.csv"})
    assert result.columns == ["编号", "姓名"]
    assert result.rows_read == 0 and rows(result) == []
    assert result.sources == ["a_empty.csv", "b_header.csv", "c_header_no_newline.csv"]
    assert any("empty file skipped: a_empty.csv" in note for note in result.notes)
    only_empty = run({"kind": "file", "path": str(tmp_path / "zone" / "a_empty.csv")})
    assert (only_empty.rows_read, only_empty.files, only_empty.columns) == (0, [], [])


def test_a_drop_zone_is_read_in_name_order_with_the_union_of_columns(run: Run, tmp_path: Path) -> None:
    zone = tmp_path / "zone"
    zone.mkdir()
    write(zone / "2024-02.csv", "id,name,phone\n3,c,139\n", "utf-8")
    write(zone / "2024-01.csv", "id,name\n1,a\n2,b\n", "gb18030")
    write(zone / "readme.txt", "not,matched\n", "utf-8")
    result = run({"kind": "file", "path": str(zone), "pattern": "2024-*.csv"})
    assert result.sources == ["2024-01.csv", "2024-02.csv"]
    assert result.columns == ["id", "name", "phone"]
    assert rows(result, meta=True) == [
        ("1", "a", None, "b1", "2024-01.csv"),
        ("2", "b", None, "b1", "2024-01.csv"),
        ("3", "c", "139", "b1", "2024-02.csv"),
    ]
    assert [f.name for f in result.files] == ["raw-00000.parquet", "raw-00001.parquet"]
    assert any("lacks column(s), left empty: phone" in note for note in result.notes)
    both = b"".join(p.read_bytes() for p in (zone / "2024-01.csv", zone / "2024-02.csv"))
    assert result.fingerprint == hashlib.sha256(both).hexdigest()


def test_blank_and_repeated_header_names_are_made_usable(run: Run, tmp_path: Path) -> None:
    result = run({"kind": "file", "path": str(write(tmp_path / "h.csv", "ID,,id,a\n1,2,3,4\n", "utf-8"))})
    assert result.columns == ["ID", "column2", "id_2", "a"]
    assert rows(result) == [("1", "2", "3", "4")]


def test_delimiters_and_types(run: Run, tmp_path: Path) -> None:
    text = "名称|数量|日期\n甲|12|2024-01-02\n乙|7|2024-02-03\n"
    result = run({"kind": "file", "path": str(write(tmp_path / "p.csv", text, "utf-8")), "delimiter": "|"})
    assert rows(result) == [("甲", "12", "2024-01-02"), ("乙", "7", "2024-02-03")]
    assert result.source_types == {"名称": "VARCHAR", "数量": "inferred:BIGINT", "日期": "inferred:DATE"}
    tsv = run({"kind": "file", "path": str(write(tmp_path / "t.tsv", "a\tb\n1\t2\n", "utf-8"))})
    assert rows(tsv) == [("1", "2")]


def test_unreadable_inputs_are_clear_errors(run: Run, tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match="does not exist"):
        run({"kind": "file", "path": str(tmp_path / "missing")})
    (tmp_path / "latin.csv").write_bytes(b"a,b\n" + bytes(range(0x80, 0x100)) * 40 + b"\n")
    with pytest.raises(SourceFailed, match="neither UTF-8 nor GB18030"):
        run({"kind": "file", "path": str(tmp_path / "latin.csv")})
    (tmp_path / "x.dat").write_text("a\n1\n")
    with pytest.raises(SourceFailed, match="cannot tell the format"):
        run({"kind": "file", "path": str(tmp_path / "x.dat")})
    (tmp_path / "noheader.csv").write_text("\n1,2\n")
    with pytest.raises(SourceFailed, match="header row is required"):
        run({"kind": "file", "path": str(tmp_path / "noheader.csv")})
    assert not list(tmp_path.glob("raw*/*.parquet"))  # nothing half-written is left behind
