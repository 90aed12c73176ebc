"""Display copies of a case: every personal field masked (triage.text.masking) for pages, exports, logs."""

from __future__ import annotations

from typing import Any

from triage.store.models import Case
from triage.text.masking import mask_contact, mask_name, mask_record, mask_terms, mask_text

__all__ = ["STATUS_LABELS", "case_dict", "mask_contact", "mask_name"]

# Case statuses as the people at the screens (and the reports they open) call them.
STATUS_LABELS = {
    "pending_review": "待审核",
    "dispatched": "已交办",
    "in_progress": "办理中",
    "resolved": "已办结",
    "closed": "已回访",
    "merged": "已合并",
    "rejected": "不予受理",
}


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
