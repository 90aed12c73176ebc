"""The engine's suggestion as a case stores it, and back: the one mapping of the ``suggested_*`` columns.

A :class:`~triage.result.TriageResult` becomes the suggestion columns of a :class:`Case` at submit
(:func:`suggestion_columns`) and when a batch job re-suggests stored cases (:func:`row_columns`,
from the plain rows batch workers send back); the review path reads the stored suggestion as a
decision (:func:`suggested_decision`) and the API shows it (:func:`stored_suggestion`).
"""

from __future__ import annotations

from typing import Any

from triage.classify.dispatch import department_confidence
from triage.result import TriageResult, plain
from triage.store.models import Case

# Case column → key of a batch worker's suggestion row (triage.batch.worker.suggest_chunk).
ROW_FIELDS: dict[str, str] = {
    "suggested_category": "category",
    "suggested_subcategory": "subcategory",
    "suggested_department_code": "department_code",
    "suggested_department": "department",
    "suggested_level": "level",
    "suggested_priority": "priority",
    "suggested_deadline_hours": "deadline_hours",
    "model_category": "model_category",
    "model_version": "model_version",
    "confidence": "confidence",
    "needs_review": "needs_review",
    "top_k": "top_k_dicts",
    "explanation": "explanation",
    "route_reason": "route_reason",
    "route_alternatives": "route_alternatives",
}
# Stored suggestion as the API names it (SuggestionOut) → Case column.
SHOWN_FIELDS: dict[str, str] = {
    "category": "suggested_category",
    "subcategory": "suggested_subcategory",
    "department_code": "suggested_department_code",
    "department": "suggested_department",
    "level": "suggested_level",
    "priority": "suggested_priority",
    "deadline_hours": "suggested_deadline_hours",
    "model_category": "model_category",
    "model_version": "model_version",
    "confidence": "confidence",
    "department_confidence": "department_confidence",
    "needs_review": "needs_review",
    "top_k": "top_k",
    "explanation": "explanation",
    "route_reason": "route_reason",
    "route_alternatives": "route_alternatives",
}
# The decision fields a reviewer's accept (or an automatic dispatch) takes from the suggestion.
DECISION_FIELDS = ("category", "subcategory", "department_code", "department", "level")

__all__ = [
    "DECISION_FIELDS",
    "ROW_FIELDS",
    "SHOWN_FIELDS",
    "row_columns",
    "stored_suggestion",
    "suggested_decision",
    "suggestion_columns",
]


def suggestion_columns(r: TriageResult, *, priority: str, deadline_hours: int) -> dict[str, Any]:
    """The Case columns of a new case's suggestion; ``priority`` and ``deadline_hours`` as the store
    settled them (a known priority, the catalog's deadline when the engine gave none)."""
    return {
        "suggested_category": r.category or None,
        "suggested_subcategory": r.subcategory,
        "suggested_department_code": r.department_code or None,
        "suggested_department": r.department or None,
        "suggested_level": r.level or None,
        "suggested_priority": priority,
        "suggested_deadline_hours": deadline_hours,
        "model_category": r.model_category or None,
        "model_version": r.model_version or None,
        "confidence": float(r.confidence),
        "department_confidence": department_confidence(r),
        "needs_review": bool(r.needs_review),
        "top_k": plain(r.top_k),
        "explanation": list(r.explanation),
        "route_reason": plain(r.route_reason),
        "route_alternatives": plain(r.route_alternatives),
    }


def row_columns(row: dict[str, Any]) -> dict[str, Any]:
    """The Case columns of a batch worker's suggestion row (reclassify, import).

    Values as the worker sends them (empty strings rather than None, confidence rounded to 4
    places); ``department_confidence`` is not part of the row, so a reclassify keeps the old one.
    """
    return {column: row[key] for column, key in ROW_FIELDS.items()}


def suggested_decision(case: Case) -> dict[str, Any]:
    """The stored suggestion as the decision fields of :data:`DECISION_FIELDS` (accept, auto-dispatch)."""
    return {name: getattr(case, f"suggested_{name}") for name in DECISION_FIELDS}


def stored_suggestion(case: Case) -> dict[str, Any]:
    """The stored suggestion under the API's names (category, department_code …, top_k, route_reason)."""
    return {name: getattr(case, column) for name, column in SHOWN_FIELDS.items()}
