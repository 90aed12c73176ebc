"""The one streaming writer for CSV, TSV, JSONL and XLSX files (batch outputs, exports).

Every text cell goes through the formula-injection guard of :mod:`triage.tabular.cells`, so a
citizen's text never runs as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from triage.errors import InputError
from triage.tabular.cells import csv_escape, xlsx_value
from triage.tabular.formats import XLSX_MAX_ROWS, detect_format

__all__ = ["TabularWriter", "csv_cell", "xlsx_bytes"]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def csv_cell(value: Any) -> str:
    """A CSV/TSV field; text a spreadsheet would run as a formula is escaped (:mod:`triage.tabular.cells`)."""
    if isinstance(value, str):
        return csv_escape(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    return str(value)


class TabularWriter:
    """Writes rows to CSV/TSV/JSONL (appendable at a byte offset, for resume) or XLSX (at close).

    ``offset`` reopens an existing CSV/JSONL file and truncates it to that byte offset, which
    is how a resumed job drops rows written after its last checkpoint.
    """

    def __init__(
        self,
        path: str | Path,
        columns: Sequence[str],
        *,
        fmt: str | None = None,
        encoding: str = "utf-8",
        offset: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.format = detect_format(self.path, fmt)
        self.columns = list(columns)
        self.rows_written = 0
        if self.format == "xlsx":
            if offset is not None:
                raise ValueError("XLSX output cannot be appended to; spool to JSONL and convert")
            from openpyxl import Workbook

            self._wb = Workbook(write_only=True)
            self._ws = self._wb.create_sheet()
            self._ws.append(self.columns)
            return
        self._binary = open(self.path, "r+b" if offset is not None else "wb")  # noqa: SIM115
        if offset is not None:
            self._binary.truncate(offset)
            self._binary.seek(offset)
        enc = encoding.lower().replace("_", "-")
        if enc in {"utf-8-sig", "utf8-sig"}:  # a BOM helps Excel open CSV; JSON must not start with one
            enc = "utf-8-sig" if self.format in ("csv", "tsv") else "utf-8"
        self._text = io.TextIOWrapper(self._binary, encoding=enc, newline="")
        if self.format in ("csv", "tsv"):
            self._csv = csv.writer(self._text, delimiter="\t" if self.format == "tsv" else ",")
            if offset is None or offset == 0:
                self._csv.writerow(self.columns)

    def write(self, row: Mapping[str, Any]) -> None:
        self.rows_written += 1
        if self.format == "xlsx":
            if self.rows_written >= XLSX_MAX_ROWS:
                raise InputError(
                    f"XLSX holds at most {XLSX_MAX_ROWS - 1} rows; write CSV", code="too_many_rows"
                )
            self._ws.append([_xlsx_cell(self._ws, row.get(c)) for c in self.columns])
        elif self.format == "jsonl":
            obj = {c: row.get(c) for c in self.columns} | dict(row)  # keys seen only in later records too
            self._text.write(json.dumps(obj, ensure_ascii=False, default=_json_default) + "\n")
        else:
            self._csv.writerow([csv_cell(row.get(c)) for c in self.columns])

    def sync(self) -> int:
        """Flush to disk (fsync) and return the byte offset everything so far ends at."""
        if self.format == "xlsx":
            return 0
        self._text.flush()
        self._binary.flush()
        os.fsync(self._binary.fileno())
        return self._binary.tell()

    def close(self) -> None:
        if self.format == "xlsx":
            self._wb.save(self.path)
        else:
            self._text.close()

    def __enter__(self) -> TabularWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _xlsx_cell(ws: Any, value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    return xlsx_value(ws, value)  # never let a citizen's text become a spreadsheet formula


def xlsx_bytes(
    sheet: str,
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Mapping[str, Any]],
    *,
    widths: Mapping[str, int] | None = None,
) -> bytes:
    """A one-sheet workbook for a download: bold ``(key, header)`` columns, frozen header row,
    write-only (memory stays flat), each cell through the formula guard."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])  # Excel's limit on sheet names
    for i, (key, _) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = (widths or {}).get(key, 18)
    ws.freeze_panes = "A2"
    header = []
    for _, title in columns:
        cell = WriteOnlyCell(ws, value=title)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for n, row in enumerate(rows, start=1):
        if n >= XLSX_MAX_ROWS:
            raise InputError(
                f"XLSX holds at most {XLSX_MAX_ROWS - 1} rows; narrow the filters", code="too_many_rows"
            )
        ws.append([_xlsx_cell(ws, row.get(key)) for key, _ in columns])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
