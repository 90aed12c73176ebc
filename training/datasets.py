"""Labelled training / evaluation data from CSV (UTF-8 ± BOM, GBK/GB18030), XLSX or JSONL.

:func:`load_labelled` reads one label column (rows without it are skipped); :func:`load_export`
reads a city's export for multi-head training, where each head has its own label column and an
empty cell only drops the row from that head.

Reading, encoding detection and column checks are :mod:`triage.tabular.files`'s (the same reader the
batch jobs use). This module adds what training needs: joining several text columns (title then
body), taking the label columns, and skipping — but counting and reporting — rows whose text or
label is empty or which could not be parsed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from triage.classify.bundle import file_fingerprint
from triage.errors import InputError
from triage.tabular.files import TabularReader, cell_text, join_text, parse_datetime

MAX_EXAMPLES = 5  # row numbers quoted per skip reason


def _file_facts(data: LabelledData | Export) -> dict:
    """What every data description starts with: the file, its fingerprint and the row counts."""
    return {
        "file": data.path.name,
        "sha256": data.sha256,
        "format": data.format,
        "encoding": data.encoding,
        "rows_read": data.rows_read,
        "rows_used": len(data),
        "rows_skipped": dict(data.skipped),
    }


class _SkipLog:
    """Skip counting shared by both data kinds, so the report reads the same for either file.

    Not a dataclass: the fields are declared (with their defaults) by each dataclass below.
    """

    skipped: Counter[str]
    skipped_rows: dict[str, list[int]]

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


@dataclass
class LabelledData(_SkipLog):
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

    def description(self) -> dict:
        """Data description and fingerprint for the model card / metadata."""
        return {
            **_file_facts(self),
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


@dataclass
class Export(_SkipLog):
    """A city's work-order export as it came: several label columns, any of which may be empty.

    Rows are kept when they have text; each head later takes the rows whose own label is present.
    ``times`` holds the parsed ``time_column`` (None where empty or unparseable).
    """

    path: Path
    format: str
    encoding: str | None
    text_columns: list[str]
    label_columns: list[str]
    department_column: str | None
    type_column: str | None
    time_column: str | None
    id_column: str | None
    field_columns: list[str]
    texts: list[str] = field(default_factory=list)
    labels: list[list[str]] = field(default_factory=list)  # one list per row, one value per label column
    departments: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    times: list[datetime | None] = field(default_factory=list)
    fields: list[dict[str, str]] = field(default_factory=list)
    rows_read: int = 0
    skipped: Counter = field(default_factory=Counter)
    skipped_rows: dict[str, list[int]] = field(default_factory=dict)
    empty: Counter = field(default_factory=Counter)  # empty cells per label column (rows kept)
    sha256: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def column(self, level: int) -> list[str]:
        return [row[level] for row in self.labels]

    def description(self) -> dict:
        times = [t for t in self.times if t is not None]
        return {
            **_file_facts(self),
            "empty_cells": dict(self.empty),
            "text_columns": self.text_columns,
            "label_column": self.label_columns[0],
            "label_columns": self.label_columns,
            "department_column": self.department_column,
            "type_column": self.type_column,
            "time_column": self.time_column,
            "id_column": self.id_column,
            "field_columns": self.field_columns,
            "time_range": [min(times).isoformat(sep=" "), max(times).isoformat(sep=" ")] if times else None,
            "label_counts": dict(
                sorted(Counter(v for v in self.column(0) if v).items(), key=lambda kv: (-kv[1], kv[0]))
            ),
        }


def load_export(
    path: str | Path,
    text_columns: Sequence[str],
    label_columns: Sequence[str],
    *,
    department_column: str | None = None,
    type_column: str | None = None,
    time_column: str | None = None,
    id_column: str | None = None,
    field_columns: Sequence[str] = (),
    separator: str = "\n",
) -> Export:
    """Read an export (CSV in UTF-8/GBK/GB18030, XLSX, JSONL). Empty labels are kept as "" (that
    head skips the row); rows without text, unreadable rows and repeated ids are skipped and counted."""
    if not text_columns:
        raise InputError("at least one text column is required", code="missing_column", field="text_col")
    if not label_columns:
        raise InputError("at least one label column is required", code="missing_column", field="label_col")
    optional = [c for c in (department_column, type_column, time_column, id_column) if c]
    wanted = list(dict.fromkeys([*text_columns, *label_columns, *optional, *field_columns]))
    try:
        reader = TabularReader(path)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", code="unreadable_file") from None
    data = Export(
        Path(path), reader.format, reader.encoding, list(text_columns), list(label_columns),
        department_column, type_column, time_column, id_column, list(field_columns),
    )  # fmt: skip
    seen_ids: set[str] = set()
    with reader:
        reader.require(wanted)
        for record in reader:
            data.rows_read += 1
            if record.values is None:
                data.skip(f"unreadable row ({record.error.code if record.error else 'unknown'})", record.row)
                continue
            values = record.values
            text = join_text(values, text_columns, separator).strip()
            if not text:
                data.skip("empty text", record.row)
                continue
            if id_column:
                key = cell_text(values.get(id_column))
                if key and key in seen_ids:
                    data.skip(f"repeated {id_column} (first occurrence kept)", record.row)
                    continue
                seen_ids.add(key)
            labels = [cell_text(values.get(c)) for c in label_columns]
            for col, value in zip(label_columns, labels, strict=True):
                if not value:
                    data.empty[col] += 1
            data.texts.append(text)
            data.labels.append(labels)
            data.departments.append(cell_text(values.get(department_column)) if department_column else "")
            data.types.append(cell_text(values.get(type_column)) if type_column else "")
            data.times.append(parse_datetime(values.get(time_column)) if time_column else None)
            data.fields.append({c: cell_text(values.get(c)) for c in field_columns})
    if not data.texts:
        raise InputError(f"{Path(path).name} has no usable rows (every row was skipped)", code="empty_data")
    for optional_col in (department_column, type_column):
        if optional_col:
            values_of = data.departments if optional_col == department_column else data.types
            empty = sum(1 for v in values_of if not v)
            if empty:
                data.empty[optional_col] += empty
    if time_column:
        data.empty[f"{time_column} (no parseable date)"] = sum(t is None for t in data.times)
    data.sha256 = file_fingerprint(path)
    return data
