"""The one streaming reader for CSV, XLSX and JSONL files (batch jobs, training data), and cell values.

Files are read record by record, so memory does not grow with file size. Encodings are
detected from a sample (:mod:`triage.tabular.formats`); the writer is
:mod:`triage.tabular.writer`. Problems with the whole file (missing
columns, undecodable file) raise :class:`InputError`; problems with one record (broken
quoting, wrong field count, bad JSON) come back as a :class:`Record` carrying the error, so a
batch job can report the row and carry on.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any

from triage.errors import InputError
from triage.tabular.cells import csv_unescape
from triage.tabular.formats import (
    FORMATS,
    SAMPLE_BYTES,
    XLSX_MAX_ROWS,
    detect_encoding,
    detect_format,
    file_encoding,
)
from triage.tabular.writer import TabularWriter, csv_cell

# The writer and format detection live in their own modules; they stay importable from here.
__all__ = [
    "FORMATS",
    "SAMPLE_BYTES",
    "XLSX_MAX_ROWS",
    "Record",
    "TabularReader",
    "TabularWriter",
    "cell_text",
    "csv_cell",
    "detect_encoding",
    "detect_format",
    "file_encoding",
    "iter_chunks",
    "join_text",
    "parse_datetime",
    "read_rows",
    "require_columns",
]


@dataclass(slots=True)
class Record:
    """One input record. ``row`` counts data records from 1 (header excluded); ``line`` is
    where it starts in the file (physical line for CSV/JSONL, sheet row for XLSX)."""

    row: int
    line: int
    values: dict[str, Any] | None
    error: InputError | None = None


def require_columns(available: Sequence[str], wanted: Iterable[str], *, source: str = "input") -> None:
    """Raise one clear error naming every missing column and listing the available ones."""
    missing = [c for c in wanted if c not in available]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        have = ", ".join(repr(c) for c in available) or "(none)"
        raise InputError(
            f"{source} has no column {names}; available columns: {have}",
            code="missing_column",
            field=missing[0],
        )


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value).strip()


def join_text(values: Mapping[str, Any], columns: Sequence[str], sep: str = "\n") -> str:
    """Join several text columns in order (title then body), skipping empty ones."""
    return sep.join(t for t in (cell_text(values.get(c)) for c in columns) if t)


def _unique_header(names: Sequence[Any]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, raw in enumerate(names):
        name = cell_text(raw).lstrip("\ufeff") or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        out.append(name)
    return out


class TabularReader:
    """Streams records from a CSV/TSV, XLSX or JSONL file. Use as a context manager."""

    def __init__(
        self,
        path: str | Path,
        *,
        fmt: str | None = None,
        encoding: str | None = None,
        sheet: str | None = None,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"input file not found: {self.path}", code="file_not_found", field=str(path))
        self.format = detect_format(self.path, fmt)
        self.encoding: str | None = None
        self.columns: list[str] = []
        self._binary: IO[bytes] | None = None
        self._workbook: Any = None
        self._total_units = self.path.stat().st_size
        self._rows_it: Iterator[Record]
        if self.format == "xlsx":
            self._open_xlsx(sheet)
        else:
            self.encoding = encoding or file_encoding(self.path)
            self._binary = open(self.path, "rb")  # noqa: SIM115 - closed in close()
            text = io.TextIOWrapper(self._binary, encoding=self.encoding, errors="replace", newline="")
            self._text = text  # keep a reference: a collected wrapper would close the file
            self._rows_it = self._iter_jsonl(text) if self.format == "jsonl" else self._iter_csv(text)

    # -- formats --------------------------------------------------------------------------
    def _iter_csv(self, text: IO[str]) -> Iterator[Record]:
        reader = csv.reader(text, delimiter="\t" if self.format == "tsv" else ",", strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(f"{self.path.name} is empty (no header row)", code="empty_file") from None
        except csv.Error as exc:
            raise InputError(f"cannot read the header row: {exc}", code="bad_csv") from None
        self.columns = _unique_header(header)
        self._rows_it = self._csv_records(reader, len(self.columns))
        return self._rows_it

    def _csv_records(self, reader: Any, width: int) -> Iterator[Record]:
        row = 0
        prev_line = reader.line_num
        while True:
            start = prev_line + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row += 1
                end = reader.line_num
                where = f"line {start}" if end <= start else f"lines {start}-{end}"
                msg = f"broken quoting at {where}: {exc}"
                yield Record(row, start, None, InputError(msg, code="bad_csv_row"))
                prev_line = end
                continue
            prev_line = reader.line_num
            if not fields:
                continue  # blank line
            row += 1
            if len(fields) != width:
                msg = f"expected {width} fields, found {len(fields)} (broken quoting or stray delimiter?)"
                yield Record(row, start, None, InputError(msg, code="bad_csv_row"))
                continue
            fields = [csv_unescape(v) if v[:1] == "'" else v for v in fields]  # what csv_cell wrote
            yield Record(row, start, dict(zip(self.columns, fields, strict=True)))

    def _iter_jsonl(self, text: IO[str]) -> Iterator[Record]:
        lines = enumerate(text, start=1)
        first: list[Record] = []
        for line_no, line in lines:
            if line.strip():
                first.append(self._json_record(1, line_no, line))
                break
        if not first:
            raise InputError(f"{self.path.name} is empty (no records)", code="empty_file")
        if first[0].values is not None:
            self.columns = list(first[0].values)
        return self._jsonl_records(first[0], lines)

    def _jsonl_records(self, first: Record, lines: Iterator[tuple[int, str]]) -> Iterator[Record]:
        yield first
        row = 1
        for line_no, line in lines:
            if line.strip():
                row += 1
                rec = self._json_record(row, line_no, line)
                if rec.values is not None:
                    for key in rec.values:
                        if key not in self.columns:
                            self.columns.append(key)
                yield rec

    @staticmethod
    def _json_record(row: int, line_no: int, line: str) -> Record:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            return Record(row, line_no, None, InputError(f"invalid JSON: {exc.msg}", code="bad_json_row"))
        if not isinstance(obj, dict):
            return Record(row, line_no, None, InputError("record is not a JSON object", code="bad_json_row"))
        return Record(row, line_no, obj)

    def _open_xlsx(self, sheet: str | None) -> None:
        from zipfile import BadZipFile

        from openpyxl import load_workbook

        try:
            self._workbook = load_workbook(self.path, read_only=True, data_only=True)
        except (BadZipFile, OSError, KeyError, ValueError) as exc:
            raise InputError(f"cannot open {self.path.name} as XLSX: {exc}", code="bad_xlsx") from None
        if sheet is not None and sheet not in self._workbook.sheetnames:
            raise InputError(
                f"no sheet {sheet!r}; sheets: {', '.join(self._workbook.sheetnames)}", code="missing_sheet"
            )
        ws = self._workbook[sheet] if sheet else self._workbook.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise InputError(f"{self.path.name} is empty (no header row)", code="empty_file")
        while header and header[-1] is None:
            header = header[:-1]
        self.columns = _unique_header(header)
        self._total_units = max((ws.max_row or 1) - 1, 1)
        self._xlsx_done = 0
        self._rows_it = self._xlsx_records(rows)

    def _xlsx_records(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[Record]:
        width = len(self.columns)
        row = 0
        for line, values in enumerate(rows, start=2):
            self._xlsx_done = line - 1
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            row += 1
            cells = list(values[:width]) + [None] * (width - len(values))
            yield Record(row, line, dict(zip(self.columns, cells, strict=True)))

    # -- public API -----------------------------------------------------------------------
    def __iter__(self) -> Iterator[Record]:
        return self._rows_it

    def chunks(self, size: int) -> Iterator[list[Record]]:
        """Lists of up to ``size`` records, in file order."""
        while chunk := list(islice(self._rows_it, size)):
            yield chunk

    def progress(self) -> tuple[int, int]:
        """(done, total) in bytes for text files, in sheet rows for XLSX (for bars and ETA)."""
        if self._binary is not None:
            if self._binary.closed:
                return self._total_units, self._total_units
            return min(self._binary.tell(), self._total_units), self._total_units
        return min(getattr(self, "_xlsx_done", 0), self._total_units), self._total_units

    def require(self, columns: Iterable[str]) -> None:
        require_columns(self.columns, columns, source=self.path.name)

    def close(self) -> None:
        if self._binary is not None:
            self._text.close()
        if self._workbook is not None:
            self._workbook.close()

    def __enter__(self) -> TabularReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_chunks(
    path: str | Path, size: int = 1000, *, columns: Sequence[str] = (), **kwargs: Any
) -> Iterator[list[Record]]:
    """Convenience generator: check ``columns`` exist, then yield record chunks."""
    with TabularReader(path, **kwargs) as reader:
        reader.require(columns)
        yield from reader.chunks(size)


def read_rows(path: str | Path, columns: Sequence[str] = (), **kwargs: Any) -> Iterator[Record]:
    """Every record of a small or large file, checking ``columns`` first."""
    with TabularReader(path, **kwargs) as reader:
        reader.require(columns)
        yield from reader


_DATE_RE = re.compile(
    r"^\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]+(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.(\d{1,6}))?秒?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)


def parse_datetime(value: Any) -> datetime | None:
    """Dates as hotline exports write them: ``2019/2/28 11:25:05``, ISO 8601, ``2019年2月28日``,
    Excel datetimes. Naive results are local time; None when empty or unparseable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    m = _DATE_RE.match(str(value))
    if m is None:
        try:
            return datetime.fromisoformat(str(value).strip())
        except ValueError:
            return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        out = datetime(
            int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), int((frac or "0").ljust(6, "0"))
        )
    except ValueError:
        return None
    if tz:
        out = datetime.fromisoformat(out.isoformat() + ("+00:00" if tz == "Z" else tz))
    return out
