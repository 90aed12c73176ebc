"""Store rows → response models (PII masked, suggestion apart from the decision).

Every personal field goes through :mod:`triage.text.masking`. ``reveal_contact`` is where an audited
"reveal contact" action would show the reporter's name and contact as typed; nothing passes it yet.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse

from api.schemas import (
    AuditEventOut,
    CaseDetail,
    CaseOut,
    DuplicateCandidateOut,
    FeedbackOut,
    LeaseOut,
    SuggestionOut,
)
from triage.result import RouteOption, TriageResult
from triage.store.lifecycle import ACTIVE_STATUSES, allowed_targets
from triage.store.models import AuditEvent, Case, Feedback
from triage.store.suggestion import stored_suggestion
from triage.text.masking import mask_contact, mask_name, mask_record, mask_strings, mask_terms, mask_text


def is_overdue(case: Case, now: datetime) -> bool:
    return case.status in ACTIVE_STATUSES and case.deadline < now


def suggestion_of(case: Case) -> SuggestionOut:
    s = stored_suggestion(case)
    s.update(
        top_k=s["top_k"] or [],
        explanation=mask_terms(s["explanation"]),  # rows triaged before terms were masked at the source
        route_reason=mask_strings(s["route_reason"] or {}),
        route_alternatives=mask_strings(s["route_alternatives"] or []),
    )
    return SuggestionOut(**s)


def case_fields(case: Case, now: datetime, *, reveal_contact: bool = False) -> dict[str, object]:
    live_lease = case.lease_expires_at is not None and case.lease_expires_at > now
    return dict(
        case_no=case.case_no,
        title=mask_text(case.title) or None,
        text=mask_text(case.text_masked),
        source=case.source,
        reporter_name=case.reporter_name if reveal_contact else mask_name(case.reporter_name),
        reporter_contact=(case.reporter_contact if reveal_contact else mask_contact(case.reporter_contact))
        or None,
        grid_code=case.grid_code,
        community=case.community,
        street=case.street,
        address=mask_text(case.address),
        created_at=case.created_at,
        updated_at=case.updated_at,
        status=case.status,
        category=case.category,
        subcategory=case.subcategory,
        department_code=case.department_code,
        department=case.department,
        level=case.level,
        priority=case.priority,
        deadline_hours=case.deadline_hours,
        deadline=case.deadline,
        overdue=is_overdue(case, now),
        requirement=mask_text(case.requirement),
        result=mask_text(case.result),
        satisfaction=case.satisfaction,
        duplicate_of=case.duplicate_of,
        possible_duplicate_of=case.possible_duplicate_of,
        citizens=case.citizens,
        duplicate_candidates=[DuplicateCandidateOut(**d) for d in case.duplicate_candidates or []],
        suggestion=suggestion_of(case),
        reviewed_by=case.reviewed_by,
        reviewed_at=case.reviewed_at,
        corrected=case.corrected,
        dispatched_at=case.dispatched_at,
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        reject_reason=mask_text(case.reject_reason),
        return_reason=mask_text(case.return_reason),
        returned_count=case.returned_count,
        lease=LeaseOut(
            owner=case.lease_owner if live_lease else None,
            expires_at=case.lease_expires_at if live_lease else None,
        ),
        version=case.version,
        allowed_transitions=sorted(allowed_targets(case.status)),
    )


def case_out(case: Case, now: datetime, *, reveal_contact: bool = False) -> CaseOut:
    return CaseOut.model_validate(case_fields(case, now, reveal_contact=reveal_contact))


def event_out(e: AuditEvent, *, reveal_contact: bool = False) -> AuditEventOut:
    """An audit event with its before/after snapshots and note masked like the case."""
    return AuditEventOut(
        at=e.at,
        actor=e.actor,
        action=e.action,
        before=mask_record(e.before, reveal_contact=reveal_contact),
        after=mask_record(e.after, reveal_contact=reveal_contact),
        note=mask_text(e.note),
    )


def case_detail(
    case: Case,
    events: list[AuditEvent],
    feedback: list[Feedback],
    now: datetime,
    *,
    reveal_contact: bool = False,
) -> CaseDetail:
    return CaseDetail.model_validate(
        case_fields(case, now, reveal_contact=reveal_contact)
        | {
            "history": [event_out(e, reveal_contact=reveal_contact) for e in events],
            "feedback": [
                FeedbackOut(
                    satisfaction=f.satisfaction,
                    comment=mask_text(f.comment),
                    created_by=f.created_by,
                    created_at=f.created_at,
                )
                for f in feedback
            ],
        }
    )


def _route_option(o: RouteOption) -> dict[str, Any]:
    return {
        "department_code": o.department_code,
        "department": o.department,
        "level": o.level,
        "deadline_hours": o.deadline_hours,
        "category": o.category,
        "subcategory": o.subcategory,
        "reason": mask_strings(o.reason),
    }


def suggestion_payload(r: TriageResult) -> dict[str, Any]:
    """JSON body of :class:`api.schemas.TriageResponse`, built directly (hot path: no re-validation)."""
    return {
        "category": r.category,
        "subcategory": r.subcategory,
        "confidence": r.confidence,
        "top_k": [{"label": s.label, "probability": s.probability} for s in r.top_k],
        "explanation": mask_terms(r.explanation),
        "needs_review": r.needs_review,
        "model_category": r.model_category,
        "department_code": r.department_code,
        "department": r.department,
        "level": r.level,
        "deadline_hours": r.deadline_hours,
        "priority": r.priority,
        "route_reason": mask_strings(r.route_reason),
        "route_alternatives": [_route_option(o) for o in r.route_alternatives],
        "duplicates": [{"case_id": d.case_id, "score": d.score, "reason": d.reason} for d in r.duplicates],
        "model_version": r.model_version,
        "masked_text": r.masked_text,
    }


def _json_default(value: Any) -> Any:
    """numpy scalars/arrays and other stragglers from the engine (e.g. a probability as float32)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class EngineJSONResponse(JSONResponse):
    """Compact UTF-8 JSON that also accepts numpy values."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=_json_default).encode()
