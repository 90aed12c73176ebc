"""Labelled training / evaluation data from CSV (UTF-8 ± BOM, GBK/GB18030), XLSX or JSONL.

Reading, encoding detection and column checks are :mod:`triage.tabular`'s (the same reader the
batch jobs use). This module adds what training needs: joining several text columns (title then
body), taking the label columns, and skipping — but counting and reporting — rows whose text or
label is empty or which could not be parsed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from triage.errors import InputError
from triage.model_io import file_fingerprint
from triage.tabular import TabularReader, cell_text, join_text

MAX_EXAMPLES = 5  # row numbers quoted per skip reason


@dataclass
class LabelledData:
    path: Path
    format: str
    encoding: str | None
    text_columns: list[str]
    label_column: str
    department_column: str | None
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)  # "" where the department cell is empty
    rows_read: int = 0
    skipped: Counter = field(default_factory=Counter)
    skipped_rows: dict[str, list[int]] = field(default_factory=dict)
    sha256: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def skip(self, reason: str, row: int) -> None:
        self.skipped[reason] += 1
        examples = self.skipped_rows.setdefault(reason, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(row)

    def skip_report(self) -> list[str]:
        """One human line per skip reason, e.g. ``3 rows skipped: empty label (rows 4, 9, 12)``."""
        lines = []
        for reason, count in sorted(self.skipped.items()):
            rows = ", ".join(map(str, self.skipped_rows.get(reason, [])))
            more = ", …" if count > len(self.skipped_rows.get(reason, [])) else ""
            lines.append(f"{count} row{'s' if count != 1 else ''} skipped: {reason} (rows {rows}{more})")
        return lines

    def description(self) -> dict:
        """Data description and fingerprint for the model card / metadata."""
        return {
            "file": self.path.name,
            "sha256": self.sha256,
            "format": self.format,
            "encoding": self.encoding,
            "rows_read": self.rows_read,
            "rows_used": len(self),
            "rows_skipped": dict(self.skipped),
            "text_columns": self.text_columns,
            "label_column": self.label_column,
            "department_column": self.department_column,
            "label_counts": dict(sorted(Counter(self.labels).items(), key=lambda kv: (-kv[1], kv[0]))),
        }


def load_labelled(
    path: str | Path,
    text_columns: Sequence[str],
    label_column: str,
    *,
    department_column: str | None = None,
    separator: str = "\n",
) -> LabelledData:
    """Read a labelled file. Missing file/columns or an unreadable file raise :class:`InputError`."""
    if not text_columns:
        raise InputError("at least one text column is required", code="missing_column", field="text_col")
    wanted = [*text_columns, label_column] + ([department_column] if department_column else [])
    try:
        reader = TabularReader(path)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", code="unreadable_file") from None
    with reader:
        reader.require(wanted)
        data = LabelledData(
            path=Path(path),
            format=reader.format,
            encoding=reader.encoding,
            text_columns=list(text_columns),
            label_column=label_column,
            department_column=department_column,
        )
        for record in reader:
            data.rows_read += 1
            if record.values is None:
                data.skip(f"unreadable row ({record.error.code if record.error else 'unknown'})", record.row)
                continue
            text = join_text(record.values, text_columns, separator).strip()
            label = cell_text(record.values.get(label_column))
            if not text:
                data.skip("empty text", record.row)
            elif not label:
                data.skip("empty label", record.row)
            else:
                data.texts.append(text)
                data.labels.append(label)
                if department_column:
                    data.departments.append(cell_text(record.values.get(department_column)))
    if not data.texts:
        raise InputError(f"{Path(path).name} has no usable rows (every row was skipped)", code="empty_data")
    data.sha256 = file_fingerprint(path)
    return data
