"""The human review queue: list, claim (lease), and accept / correct / merge / reject
(:mod:`api.actions.review`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.actions import review as actions
from api.deps import CurrentUser, ServiceDep
from api.errors import ApiError
from api.limits import CATEGORY_CHARS, DEPARTMENT_CODE_CHARS, GRID_CHARS, LIST_LIMIT, MAX_LIST_LIMIT
from api.routers.cases import CaseNo, Priority
from api.schemas import ERROR_RESPONSES, CaseOut, QueuePage, ReviewRequest
from api.schemas_review import BulkReviewRequest, BulkReviewResult
from api.validation import check_category, check_department
from api.views import case_out
from triage.store.models import Source
from triage.store.queue import OVERDUE, QueueCursor

router = APIRouter(prefix="/api/v1", tags=["review"], responses=ERROR_RESPONSES)


@router.get("/review-queue", response_model=QueuePage)
def review_queue(
    service: ServiceDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = LIST_LIMIT,
    after: Annotated[
        str | None, Query(max_length=100, description="`next_cursor` of the previous page.")
    ] = None,
    include_claimed: Annotated[bool, Query(description="Also list cases leased to reviewers.")] = False,
    category: Annotated[str | None, Query(max_length=CATEGORY_CHARS, description="Suggested or decided.")] = (
        None
    ),
    department: Annotated[
        str | None, Query(max_length=DEPARTMENT_CODE_CHARS, description="Suggested department code.")
    ] = None,
    grid: Annotated[str | None, Query(max_length=GRID_CHARS)] = None,
    priority: Annotated[Priority | None, Query(description="urgent, high or normal.")] = None,
    source: Annotated[Source | None, Query(description="How the case came in.")] = None,
    overdue: Annotated[bool, Query(description="Only cases past their deadline.")] = False,
) -> QueuePage:
    """Pending cases by priority, then deadline, then lowest confidence (narrowed by the filters)."""
    if category:
        check_category(service, category)
    if department:
        check_department(service, department, field="department")
    filters = {
        "category": category,
        "department_code": department,
        "grid_code": grid,
        "priority": priority,
        "source": source.value if source else None,
        OVERDUE: "1" if overdue else None,
    }
    only = {k: v for k, v in filters.items() if v is not None}
    try:
        rows = actions.queue(
            service, user, limit=limit, after=after, include_claimed=include_claimed, filters=only
        )
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
    case = actions.claim_next(service, user)
    if case is None:
        return Response(status_code=204)
    return case_out(case, service.clock())


@router.post("/cases/{case_no}/claim", response_model=CaseOut)
def claim(case_no: CaseNo, service: ServiceDep, user: CurrentUser) -> CaseOut:
    """Lease this case for review (default 10 minutes; renewing one's own lease is allowed)."""
    return case_out(actions.claim(service, user, case_no), service.clock())


@router.delete("/cases/{case_no}/claim", response_model=CaseOut)
def release(case_no: CaseNo, service: ServiceDep, user: CurrentUser) -> CaseOut:
    """Give the lease back so another reviewer can take the case."""
    return case_out(actions.release(service, user, case_no), service.clock())


@router.post("/cases/{case_no}/review", response_model=CaseOut)
def review(case_no: CaseNo, body: ReviewRequest, service: ServiceDep, user: CurrentUser) -> CaseOut:
    """accept (suggestion becomes the decision) · correct (your category/department/level) ·
    merge (into an existing case) · reject (with a reason). Accept and correct dispatch the case."""
    return case_out(actions.decide(service, user, case_no, body), service.clock())


@router.post("/review-queue/bulk", response_model=BulkReviewResult)
def bulk_review(body: BulkReviewRequest, service: ServiceDep, user: CurrentUser) -> BulkReviewResult:
    """Accept the selected confident suggestions, or dispatch the selected cases to one department.
    Each case is decided on its own: the answer lists those done and, with the reason, those not."""
    done, failed = actions.bulk(service, user, body)
    now = service.clock()
    return BulkReviewResult(done=[case_out(c, now) for c in done], failed=failed)
