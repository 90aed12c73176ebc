"""Spreadsheet files: the one streaming CSV/XLSX/JSONL reader and writer, and the formula-injection guard."""

from triage.tabular.cells import csv_escape, csv_unescape, is_formula_like, xlsx_value
from triage.tabular.files import (
    Record,
    TabularReader,
    TabularWriter,
    detect_encoding,
    read_rows,
    require_columns,
)

__all__ = [
    "Record",
    "TabularReader",
    "TabularWriter",
    "csv_escape",
    "csv_unescape",
    "detect_encoding",
    "is_formula_like",
    "read_rows",
    "require_columns",
    "xlsx_value",
]
