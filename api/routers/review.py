"""The human review queue: list, claim (lease), and accept / correct / merge / reject."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api import access
from api.deps import CurrentUser, ServiceDep
from api.errors import ApiError
from api.routers.cases import CaseNo
from api.schemas import ERROR_RESPONSES, CaseOut, QueuePage, ReviewAction, ReviewRequest
from api.validation import check_category, check_department, check_level, check_priority, check_subcategory
from api.views import case_out
from triage.store.queue import QueueCursor

router = APIRouter(prefix="/api/v1", tags=["review"], responses=ERROR_RESPONSES)


@router.get("/review-queue", response_model=QueuePage)
def review_queue(
    service: ServiceDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[
        str | None, Query(max_length=100, description="`next_cursor` of the previous page.")
    ] = None,
    include_claimed: Annotated[bool, Query(description="Also list cases leased to reviewers.")] = False,
) -> QueuePage:
    """Pending cases by priority, then deadline, then lowest confidence."""
    access.require(user, access.REVIEW, "see the review queue")
    try:
        rows = service.queue(limit=limit, after=after, include_claimed=include_claimed)
    except (ValueError, TypeError):
        raise ApiError(
            422, "invalid_cursor", "`after` is not a cursor returned by this API", field="after"
        ) from None
    now = service.clock()
    cursor = QueueCursor.after(rows[-1]).encode() if len(rows) == limit else None
    return QueuePage(items=[case_out(c, now) for c in rows], limit=limit, next_cursor=cursor)


@router.post("/review-queue/claim", response_model=CaseOut, responses={204: {"description": "Queue empty"}})
def claim_next(service: ServiceDep, user: CurrentUser) -> CaseOut | Response:
    """Lease the next free case in queue order (204 when nothing is waiting)."""
    access.require(user, access.REVIEW, "claim cases")
    case = service.claim_next(user.username)
    if case is None:
        return Response(status_code=204)
    return case_out(case, service.clock())


@router.post("/cases/{case_no}/claim", response_model=CaseOut)
def claim(case_no: CaseNo, service: ServiceDep, user: CurrentUser) -> CaseOut:
    """Lease this case for review (default 10 minutes; renewing one's own lease is allowed)."""
    access.require(user, access.REVIEW, "claim cases")
    return case_out(service.claim(case_no, user.username), service.clock())


@router.delete("/cases/{case_no}/claim", response_model=CaseOut)
def release(case_no: CaseNo, service: ServiceDep, user: CurrentUser) -> CaseOut:
    """Give the lease back so another reviewer can take the case."""
    access.require(user, access.REVIEW, "release cases")
    return case_out(service.release(case_no, user.username), service.clock())


@router.post("/cases/{case_no}/review", response_model=CaseOut)
def review(case_no: CaseNo, body: ReviewRequest, service: ServiceDep, user: CurrentUser) -> CaseOut:
    """accept (suggestion becomes the decision) · correct (your category/department/level) ·
    merge (into an existing case) · reject (with a reason). Accept and correct dispatch the case."""
    access.require(user, access.REVIEW, "review cases")
    actor = user.username
    if body.action == ReviewAction.ACCEPT:
        case = service.accept(case_no, actor, requirement=body.requirement, version=body.version)
    elif body.action == ReviewAction.CORRECT:
        if not any((body.category, body.subcategory, body.department_code, body.level, body.priority)):
            raise ApiError(
                422,
                "correction_required",
                "correct needs category, department_code, level or priority",
                field="category",
            )
        if body.category:
            check_category(service, body.category)
        if body.subcategory:
            check_subcategory(
                service, body.category or service.get(case_no).suggested_category or "", body.subcategory
            )
        if body.department_code:
            check_department(service, body.department_code)
        if body.level:
            check_level(body.level)
        if body.priority:
            check_priority(body.priority)
        case = service.correct(
            case_no, actor, category=body.category, subcategory=body.subcategory,
            department_code=body.department_code, level=body.level, priority=body.priority,
            requirement=body.requirement, note=body.note, version=body.version,
        )  # fmt: skip
    elif body.action == ReviewAction.MERGE:
        if not body.into:
            raise ApiError(
                422, "into_required", "merge needs `into`: the case number to merge into", field="into"
            )
        case = service.merge(case_no, body.into, actor, version=body.version, note=body.note)
    else:
        reason = body.reason or body.note
        if not reason:
            raise ApiError(422, "reason_required", "reject needs a reason", field="reason")
        case = service.reject(case_no, actor, reason, version=body.version)
    return case_out(case, service.clock())
