"""Spreadsheet files: the one streaming CSV/XLSX/JSONL reader and writer, and the formula-injection guard."""

from triage.tabular.cells import csv_escape, csv_unescape, is_formula_like, xlsx_value
from triage.tabular.files import Record, TabularReader, read_rows, require_columns
from triage.tabular.formats import detect_encoding
from triage.tabular.writer import TabularWriter

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
