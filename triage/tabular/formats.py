"""Which kind of spreadsheet file a path is, and which text encoding a CSV/JSONL file uses.

UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312), else whatever
charset-normalizer is sure of; anything else raises :class:`InputError` naming the fix.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from triage.errors import InputError

__all__ = ["FORMATS", "SAMPLE_BYTES", "XLSX_MAX_ROWS", "detect_encoding", "detect_format", "file_encoding"]

FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}
FORMATS |= {".jsonl": "jsonl", ".ndjson": "jsonl"}
SAMPLE_BYTES = 1 << 20
XLSX_MAX_ROWS = 1_048_576


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """``csv`` / ``tsv`` / ``xlsx`` / ``jsonl`` from an explicit name or the file suffix."""
    if fmt:
        fmt = fmt.lower().lstrip(".")
        fmt = {"ndjson": "jsonl", "xlsm": "xlsx"}.get(fmt, fmt)
        if fmt not in set(FORMATS.values()):
            raise InputError(f"unknown format {fmt!r}; use csv, tsv, xlsx or jsonl", code="bad_format")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"cannot tell the format of {Path(path).name!r} from its suffix; use .csv, .tsv, .xlsx or .jsonl",
            code="bad_format",
            field=str(path),
        )
    return FORMATS[suffix]


def detect_encoding(sample: bytes, *, complete: bool = True) -> str:
    """Best encoding for ``sample`` (``complete=False``: the sample may end mid-character)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if sample.startswith(b"PK\x03\x04"):
        raise InputError("file is a ZIP/XLSX archive, not text; name it .xlsx", code="bad_encoding")
    if b"\x00" in sample:
        raise InputError("file looks binary (contains NUL bytes), not text", code="bad_encoding")
    for encoding in ("utf-8", "gb18030"):
        if _decodes(sample, encoding, complete):
            return encoding
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is not None and best.chaos < 0.1:
        return best.encoding
    raise InputError(
        "file is neither UTF-8 nor GBK/GB18030 and its encoding cannot be detected; save it as UTF-8",
        code="bad_encoding",
    )


def _decodes(sample: bytes, encoding: str, complete: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def file_encoding(path: str | Path) -> str:
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
        complete = len(sample) < SAMPLE_BYTES
    return detect_encoding(sample, complete=complete)
