"""Text intake: decode, normalise and validate citizen messages; mask PII for display.

Everything that enters the engine passes through :func:`prepare_text`, so the API, the
web form, the CLI and batch jobs reject the same inputs with the same error codes.
"""

from __future__ import annotations

import html
import re
import unicodedata

from triage.errors import InputError

MAX_TEXT_CHARS = 20_000

_TAG_RE = re.compile(r"<[^>]{0,500}>")
_OOXML_ESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACE_RE = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_NEWLINES_RE = re.compile(r"\n{2,}")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# PII patterns. Order matters: the 18-digit ID is masked before phone numbers so its
# digits are not mistaken for a mobile number.
_ID_RE = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")
_MOBILE_RE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE_RE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{7,8})(?!\d)")


def decode_text(data: bytes, *, field: str = "text") -> str:
    """Decode bytes as UTF-8 (BOM allowed) or GB18030; anything else is an error."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"text is not valid UTF-8 or GB18030 (bad byte at offset {exc.start})",
            code="bad_encoding",
            field=field,
        ) from None
    return text


def _ooxml_char(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return "" if 0xD800 <= code <= 0xDFFF else chr(code)  # a lone surrogate could not be encoded later


def normalize_text(text: str) -> str:
    """Canonical form used everywhere: NFKC (full-width → half-width), no tags, tidy spaces."""
    if "<" in text:  # tags first, so escaped "&lt;…&gt;" written by a citizen stays text
        text = _TAG_RE.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if "_x" in text:  # spreadsheet exports keep Excel's OOXML escapes, e.g. "_x000D_" for a line break
        text = _OOXML_ESCAPE_RE.sub(_ooxml_char, text)
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL_RE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACE_RE.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _NEWLINES_RE.sub("\n", text)
    return text.strip()


def prepare_text(text: str | bytes | None, *, field: str = "text", max_chars: int = MAX_TEXT_CHARS) -> str:
    """Decode, normalise and validate; return the normalised text or raise :class:`InputError`."""
    if text is None:
        raise InputError("text is required", code="missing_text", field=field)
    if isinstance(text, bytes | bytearray):
        text = decode_text(bytes(text), field=field)
    if not isinstance(text, str):
        raise InputError(f"text must be a string, got {type(text).__name__}", code="wrong_type", field=field)
    if len(text) > max_chars * 2:  # cheap guard before normalising huge inputs
        raise InputError(
            f"text is too long ({len(text)} characters; the limit is {max_chars})",
            code="text_too_long",
            field=field,
        )
    if "\ufffd" in text:
        raise InputError(
            "text contains undecodable characters (U+FFFD); resend it as UTF-8",
            code="bad_encoding",
            field=field,
        )
    clean = normalize_text(text)
    if not clean:
        raise InputError("text is empty or only whitespace", code="empty_text", field=field)
    if len(clean) > max_chars:
        raise InputError(
            f"text is too long ({len(clean)} characters; the limit is {max_chars})",
            code="text_too_long",
            field=field,
        )
    if not _CJK_RE.search(clean):
        raise InputError("text contains no Chinese characters", code="no_chinese", field=field)
    return clean


_LONG_DIGITS_RE = re.compile(r"\d[\d -]{5,}\d")  # every maskable number has ≥ 7 digits in a row-ish run


def mask_pii(text: str) -> str:
    """Mask ID numbers, mobile and landline numbers for display and logs."""
    if not _LONG_DIGITS_RE.search(text):
        return text  # the common case: nothing to mask, one cheap scan
    text = _ID_RE.sub(lambda m: m.group(1) + "*" * 11 + m.group(3)[-1], text)
    text = _MOBILE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _LANDLINE_RE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-2:]}", text)
    return text
