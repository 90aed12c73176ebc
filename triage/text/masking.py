"""Display masking of personal data: the one rule for everything a person or a log reads.

Stored text stays exactly as typed. What is shown — API responses, pages, exports, reports,
the model's explanation terms, log lines — passes through these functions, so a mobile
number, a landline or an 18-digit ID number never appears in full outside the database, and
the reporter's name appears as ``张**``:

* :func:`mask_pii` for free text (every field a person typed);
* :func:`mask_name` / :func:`mask_contact` for the reporter's name and contact fields;
* :func:`mask_record` for a row (a list row, an audit snapshot) keyed by column names.

``reveal_contact=True`` is the hook for an audited "reveal contact" action for some roles
(a later issue); nothing in the project passes it yet, and free text stays masked even then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Order matters: the 18-digit ID is masked before phone numbers so its digits are not
# mistaken for a mobile number.
_ID_RE = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")
_MOBILE_RE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE_RE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{7,8})(?!\d)")
_LONG_DIGITS_RE = re.compile(r"\d[\d -]{5,}\d")  # every maskable number has ≥ 7 digits in a row-ish run

# Columns (and response fields) holding text a person typed: masked with mask_pii wherever shown.
TEXT_FIELDS = frozenset(
    {
        "title", "text", "text_masked", "description", "summary", "address", "requirement", "result",
        "reject_reason", "return_reason", "reason", "note", "comment", "feedback", "status_notes",
    }
)  # fmt: skip
NAME_FIELDS = frozenset({"reporter_name"})
CONTACT_FIELDS = frozenset({"reporter_contact", "reporter_phone"})


def mask_pii(text: str) -> str:
    """Mask ID numbers, mobile and landline numbers (``139****5678``) for display and logs."""
    if not _LONG_DIGITS_RE.search(text):
        return text  # the common case: nothing to mask, one cheap scan
    text = _ID_RE.sub(lambda m: m.group(1) + "*" * 11 + m.group(3)[-1], text)
    text = _MOBILE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _LANDLINE_RE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-2:]}", text)
    return text


def mask_text(value: str | None) -> str | None:
    """:func:`mask_pii` that passes None and empty strings through (optional fields)."""
    return mask_pii(value) if value else value


def mask_name(name: str | None) -> str | None:
    """Keep the surname: 张三 → 张*, 欧阳娜娜 → 欧***."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_contact(contact: str | None) -> str | None:
    """Phone and ID numbers as :func:`mask_pii` does; anything else keeps its first 3 and last 2 chars."""
    if not contact:
        return contact
    masked = mask_pii(contact)
    if masked != contact:
        return masked
    if len(contact) <= 5:
        return "*" * len(contact)
    return contact[:3] + "*" * (len(contact) - 5) + contact[-2:]


def mask_terms(terms: list[str] | None) -> list[str]:
    """The model's explanation terms as shown: a term cut from a number is masked like the text."""
    return [mask_pii(str(t)) for t in terms or []]


def mask_value(key: str, value: Any, *, reveal_contact: bool = False) -> Any:
    """One field by its name: free text, the reporter's name or contact; other values unchanged."""
    if not isinstance(value, str) or not value:
        return value
    if key in TEXT_FIELDS:
        return mask_pii(value)
    if key in NAME_FIELDS:
        return value if reveal_contact else mask_name(value)
    if key in CONTACT_FIELDS:
        return value if reveal_contact else mask_contact(value)
    return value


def mask_record(row: Mapping[str, Any] | None, *, reveal_contact: bool = False) -> dict[str, Any] | None:
    """A copy of ``row`` with every personal field masked (list rows, audit before/after)."""
    if row is None:
        return None
    return {k: mask_value(k, v, reveal_contact=reveal_contact) for k, v in row.items()}


def mask_strings(value: Any) -> Any:
    """Every string inside a JSON-like value masked (routing reasons, which quote the text)."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, Mapping):
        return {k: mask_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_strings(v) for v in value]
    return value
