"""The streaming CSV/XLSX/JSONL reader and writer: formats, encodings, bad rows, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from triage.errors import InputError
from triage.tabular.files import (
    TabularReader,
    TabularWriter,
    detect_encoding,
    iter_chunks,
    join_text,
    read_rows,
)

ROWS = [
    {"id": "a1", "title": "楼道堆放杂物", "body": "三单元楼道被纸箱堵住，消防通道不通，请物业清理。"},
    {"id": "a2", "title": "路灯不亮", "body": "小区东门路灯坏了一个月，晚上出行不安全。"},
    {"id": "a3", "title": "噪音扰民", "body": "楼下烧烤店每天营业到凌晨两点，吵得无法休息。"},
]


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str) -> Path:
    lines = ["id,title,body"] + [f'{r["id"]},{r["title"]},"{r["body"]}"' for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_csv_encodings(tmp_path: Path, encoding: str, detected: str) -> None:
    path = write_csv(tmp_path / "in.csv", ROWS, encoding)
    with TabularReader(path) as reader:
        assert reader.encoding == detected
        assert reader.columns == ["id", "title", "body"]
        records = list(reader)
    assert [r.values for r in records] == ROWS
    assert [r.row for r in records] == [1, 2, 3]
    assert [r.line for r in records] == [2, 3, 4]


def test_gb18030_only_characters(tmp_path: Path) -> None:
    # 𠮷 is outside GBK: only GB18030 (4-byte sequence) can encode it
    rows = [{"id": "x", "title": "𠮷野家门口占道", "body": "店门口桌椅摆到人行道上。"}]
    path = write_csv(tmp_path / "in.csv", rows, "gb18030")
    assert [r.values for r in read_rows(path)] == rows


def test_detect_encoding_rejects_binary() -> None:
    with pytest.raises(InputError) as err:
        detect_encoding(b"\x00\x01\x02binary")
    assert err.value.code == "bad_encoding"
    with pytest.raises(InputError, match="XLSX"):
        detect_encoding(b"PK\x03\x04rest-of-zip")


def test_sample_may_end_mid_character() -> None:
    data = "楼道".encode()
    assert detect_encoding(data[:-1], complete=False) == "utf-8"


def test_xlsx_roundtrip(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["id", "title", "body", None])
    for r in ROWS:
        ws.append([r["id"], r["title"], r["body"]])
    ws.append([None, None, None])  # blank row is skipped
    ws.append([4, "井盖丢失", "人行道井盖没了"])
    wb.save(tmp_path / "in.xlsx")
    with TabularReader(tmp_path / "in.xlsx") as reader:
        assert reader.columns == ["id", "title", "body"]
        records = list(reader)
    assert [r.values["title"] for r in records] == [r["title"] for r in ROWS] + ["井盖丢失"]
    assert records[-1].line == 6 and records[-1].row == 4
    assert join_text(records[-1].values, ["id", "title"]) == "4\n井盖丢失"

    with TabularWriter(tmp_path / "out.xlsx", ["title", "flag", "formula"]) as out:
        out.write({"title": "楼道", "flag": True, "formula": "=1+1"})
    back = list(read_rows(tmp_path / "out.xlsx"))
    assert back[0].values == {"title": "楼道", "flag": True, "formula": "=1+1"}  # stored as text


def test_jsonl_with_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [
        json.dumps(ROWS[0], ensure_ascii=False),
        "",
        "{not json",
        "[1, 2]",
        json.dumps({"id": "z", "x": 1}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with TabularReader(path) as reader:
        records = list(reader)
        assert reader.columns == ["id", "title", "body", "x"]
    assert [r.row for r in records] == [1, 2, 3, 4]
    assert [r.line for r in records] == [1, 3, 4, 5]
    assert records[1].error.code == "bad_json_row" and records[2].error.code == "bad_json_row"
    assert records[3].values == {"id": "z", "x": 1}


def test_csv_bad_rows_do_not_stop_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        'id,text\n1,井盖丢失\n2,"引号"没闭合\n3,路灯不亮\n4,多,了一列\n\n5,"跨行\n的文本"\n6,"未闭合\n',
        encoding="utf-8",
    )
    records = list(read_rows(path, ["text"]))
    good = [(r.row, r.values["text"]) for r in records if r.error is None]
    assert good == [(1, "井盖丢失"), (3, "路灯不亮"), (5, "跨行\n的文本")]
    bad = {r.row: (r.line, r.error.code, r.error.message) for r in records if r.error}
    assert bad[2][0] == 3 and "broken quoting" in bad[2][2]
    assert bad[4][0] == 5 and "expected 2 fields, found 3" in bad[4][2]
    assert 6 in bad and bad[6][1] == "bad_csv_row"  # unterminated quote at end of file


def test_missing_columns_are_named_with_available_ones(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", ROWS, "utf-8")
    with pytest.raises(InputError) as err:
        list(iter_chunks(path, 10, columns=["title", "content", "label"]))
    msg = str(err.value)
    assert err.value.code == "missing_column"
    assert "'content', 'label'" in msg and "available columns: 'id', 'title', 'body'" in msg


@pytest.mark.parametrize("name", ["empty.csv", "x.parquet", "missing.csv"])
def test_unreadable_files(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name != "missing.csv":
        path.write_bytes(b"")
    with pytest.raises(InputError):
        TabularReader(path)


def test_chunks_stream_in_order(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    with TabularWriter(path, ["n", "text"]) as out:
        for i in range(2500):
            out.write({"n": i, "text": f"第{i}条"})
    sizes, seen = [], []
    with TabularReader(path) as reader:
        for chunk in reader.chunks(1000):
            sizes.append(len(chunk))
            seen += [int(r.values["n"]) for r in chunk]
            done, total = reader.progress()
            assert 0 < done <= total
    assert sizes == [1000, 1000, 500] and seen == list(range(2500))


def test_writer_resumes_at_offset(tmp_path: Path) -> None:
    for fmt, encoding in (("csv", "utf-8-sig"), ("jsonl", "utf-8")):
        path = tmp_path / f"out.{fmt}"
        out = TabularWriter(path, ["a", "b"], encoding=encoding)
        out.write({"a": "一", "b": 1})
        offset = out.sync()
        out.write({"a": "丢弃", "b": 2})  # written after the checkpoint: must vanish
        out.close()
        out = TabularWriter(path, ["a", "b"], encoding=encoding, offset=offset)
        out.write({"a": "二", "b": [3]})
        out.close()
        values = [r.values for r in read_rows(path)]
        if fmt == "csv":
            assert path.read_bytes().count(b"\xef\xbb\xbf") == 1
            assert values == [{"a": "一", "b": "1"}, {"a": "二", "b": "[3]"}]
        else:
            assert values == [{"a": "一", "b": 1}, {"a": "二", "b": [3]}]


def test_parse_datetime_reads_export_formats() -> None:
    from datetime import datetime

    from triage.tabular.files import parse_datetime

    assert parse_datetime("2019/2/28 11:25:05") == datetime(2019, 2, 28, 11, 25, 5)
    assert parse_datetime("2019年2月28日") == datetime(2019, 2, 28)
    assert parse_datetime("2019-02-28T10:00:00+08:00").utcoffset().total_seconds() == 8 * 3600
    assert parse_datetime(datetime(2020, 1, 1)) == datetime(2020, 1, 1)
    assert (
        parse_datetime("2019/13/1") is None and parse_datetime("昨天") is None and parse_datetime("") is None
    )


def test_jsonl_writer_keeps_keys_of_later_records(tmp_path: Path) -> None:
    with TabularWriter(tmp_path / "o.jsonl", ["a"]) as out:
        out.write({"a": 1})
        out.write({"a": 2, "late": "晚"})
    lines = (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x) for x in lines] == [{"a": 1}, {"a": 2, "late": "晚"}]
