"""Store rows → response models (PII masked, suggestion apart from the decision).

Every personal field goes through :mod:`triage.text.masking`; the reporter's contact is shown as
typed only by the audited reveal action (:mod:`api.actions.contact`). :func:`model_view` is the one
reading of what the model thought beside what was decided (pages: suggestion, workbench, case).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
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
from triage.result import CategoryScore, RouteOption, TriageResult, probability_of
from triage.route.explain import rule_label
from triage.store.lifecycle import ACTIVE_STATUSES, allowed_targets
from triage.store.models import AuditEvent, Case, Feedback
from triage.store.names import Names, load_names
from triage.store.service import CaseService
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
        category_probability=model_view(case)["probability"],
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
        "category_probability": r.category_probability,
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


# -- what the model thinks, beside what was decided (issue #13 item 2) -------------------------------
def model_view(subject: TriageResult | Case, rule_names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The decided category with the model's own probability of it, the rule that decided (by its
    Chinese name) and the model's top choices, for a live suggestion or a stored case.

    ``confidence`` is the model's top-1 probability: shown next to a category a keyword rule chose
    it would belong to another category. The rule's reason carries the model's probability of the
    rule's category (since rules have names); older stored reasons fall back to ``top_k``, and to
    None ("not among the model's top choices") when the category is not there.
    """
    top_k: Sequence[CategoryScore | Mapping[str, Any]]
    if isinstance(subject, Case):
        category, model_category = subject.suggested_category or "", subject.model_category or ""
        confidence, top_k, reason = subject.confidence, subject.top_k or [], subject.route_reason or {}
    else:
        category, model_category = subject.category, subject.model_category
        confidence, top_k, reason = subject.confidence, subject.top_k, subject.route_reason or {}
    top = [
        {"label": s.label, "probability": s.probability}
        if isinstance(s, CategoryScore)
        else {"label": s.get("label"), "probability": s.get("probability")}
        for s in top_k
    ]
    by_rule = reason.get("source") == "rule"
    if "category_probability" in reason:
        probability = reason.get("category_probability")
    elif category and category == model_category:
        probability = confidence
    else:
        probability = probability_of(category, top) if category else None
    overridden = by_rule and bool(category) and category != model_category
    probability = None if probability is None else float(probability)
    shown = "—" if not top else f"未列入模型前 {len(top)} 位"  # an older reason, category not in top_k
    if probability is not None:
        shown = f"{probability:.0%}"
    return {
        "category": category,
        "probability": probability,
        "probability_text": shown,
        # next to the category: 置信度 when the model chose it, else the model's figure for that category
        "probability_label": f"模型对“{category}”的置信度" if overridden else "置信度",
        "overridden": overridden,
        "rule": rule_label(reason, rule_names) if by_rule else None,
        "terms": mask_terms([str(t) for t in reason.get("matched_terms") or []]) if by_rule else [],
        "model_category": model_category,
        "confidence": float(confidence or 0.0),
        "top": top,
    }


def display_names(service: CaseService, grid_codes: Iterable[str | None] | None = None) -> Names:
    """Department and grid names for a page (codes stay in URLs and API fields): departments from
    the service's catalog (in memory), grids from the registry (one query for ``grid_codes``)."""
    departments = {d.code: d.name for d in service.catalog.departments()}
    return load_names(service.db, grid_codes, departments=departments)
