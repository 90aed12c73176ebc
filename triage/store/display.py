"""Display copies of a case: reporter name and contact masked, text PII-masked (for pages, exports, logs)."""

from __future__ import annotations

from typing import Any

from triage.intake import mask_pii
from triage.store.models import Case


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


def case_dict(case: Case, *, reveal: bool = False) -> dict[str, Any]:
    """All columns as a JSON-ready dict; unless ``reveal``, PII is masked and the raw text dropped."""
    out = case.model_dump(mode="json")
    out["citizens"] = case.citizens
    if not reveal:
        out["text"] = case.text_masked
        out["title"] = mask_pii(case.title) if case.title else case.title
        out["reporter_name"] = mask_name(case.reporter_name)
        out["reporter_contact"] = mask_contact(case.reporter_contact)
    out.pop("text_masked", None)
    return out
