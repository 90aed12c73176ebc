"""Display copies of a case: every personal field masked (triage.text.masking) for pages, exports, logs."""

from __future__ import annotations

from typing import Any

from triage.store.models import Case
from triage.text.masking import mask_contact, mask_name, mask_record, mask_terms, mask_text

__all__ = ["case_dict", "mask_contact", "mask_name"]


def case_dict(case: Case, *, reveal: bool = False) -> dict[str, Any]:
    """All columns as a JSON-ready dict; unless ``reveal``, PII is masked and the raw text dropped."""
    out = case.model_dump(mode="json")
    out["citizens"] = case.citizens
    if not reveal:
        out = mask_record(out) or {}
        out["text"] = mask_text(case.text_masked)
        out["explanation"] = mask_terms(case.explanation)
    out.pop("text_masked", None)
    return out
