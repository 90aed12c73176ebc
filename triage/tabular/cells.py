"""The one guard against spreadsheet formula injection, used by every CSV/XLSX/HTML report.

A citizen's text that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is run as a
formula by Excel, LibreOffice and WPS when the file is opened or the cell is edited
(``=HYPERLINK(…)``, ``=cmd|' /C calc'!A0``). Every writer in the project passes its values
through here:

* XLSX: such a value becomes an explicit string cell (``data_type`` ``s``) with the
  ``quotePrefix`` style, so the cell shows exactly what was typed and stays text when edited;
* CSV/TSV (OWASP "CSV injection"): such a value gets one leading apostrophe, which
  spreadsheets hide and treat as "this is text". Values that already start with apostrophes
  followed by a trigger get one more, so :func:`csv_unescape` (applied by
  :class:`triage.tabular.files.TabularReader`) restores every value exactly: re-imports round-trip;
* HTML reports: jinja2 autoescaping (``triage.batch.charts.environment``) shows the text as
  typed; nothing is prefixed on a page.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_CSV_ESCAPED_RE = re.compile(r"'+[=+\-@\t\r]")


def is_formula_like(value: Any) -> bool:
    """True for a string a spreadsheet would evaluate (or offer to evaluate) as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def csv_escape(value: str) -> str:
    """``=1+1`` → ``'=1+1``; ``'=1`` → ``''=1`` (so unescaping is exact); anything else as is."""
    if value.startswith(FORMULA_TRIGGERS) or (value.startswith("'") and _CSV_ESCAPED_RE.match(value)):
        return "'" + value
    return value


def csv_unescape(value: str) -> str:
    """Inverse of :func:`csv_escape` (for reading back CSV files the project wrote)."""
    if value.startswith("'") and _CSV_ESCAPED_RE.match(value):
        return value[1:]
    return value


def xlsx_value(ws: Any, value: Any) -> Any:
    """``value`` ready for ``ws.append`` on an openpyxl worksheet (write-only or not)."""
    if not is_formula_like(value):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
    cell.quotePrefix = True  # Excel keeps it text when someone edits the cell
    return cell
