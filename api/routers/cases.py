"""Cases: submit (idempotent), search, read with history, transitions and feedback.

The endpoints are thin: who may do what, and the service call, are :mod:`api.actions`'s."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse

from api.actions import cases, handling
from api.deps import CurrentUser, MetricsDep, ServiceDep
from api.idempotency import HEADER, request_hash, submit_idempotent
from api.limits import CATEGORY_CHARS, DEPARTMENT_CODE_CHARS, GRID_CHARS, LIST_LIMIT, MAX_LIST_LIMIT
from api.schemas import (
    ERROR_RESPONSES,
    CaseCreate,
    CaseDetail,
    CaseOut,
    CasePage,
    FeedbackRequest,
    TransitionRequest,
)
from api.security import Principal
from api.validation import Day, check_category, check_date_range, check_department, day_query
from api.views import case_detail, case_out
from triage.store.fulltext import MAX_QUERY_CHARS
from triage.store.models import Case, CaseStatus, Source
from triage.store.search import CaseFilter
from triage.store.service import CaseService

Priority = Literal["urgent", "high", "normal"]
router = APIRouter(prefix="/api/v1/cases", tags=["cases"], responses=ERROR_RESPONSES)

CaseNo = Annotated[str, Path(max_length=20, description="Public case number, e.g. 2026112200001.")]


@router.post("", status_code=201, response_model=CaseOut)
def create_case(
    body: CaseCreate,
    service: ServiceDep,
    metrics: MetricsDep,
    user: CurrentUser,
    idempotency_key: Annotated[
        str | None, Header(alias=HEADER, description="Retry-safe key: a retry returns the first response.")
    ] = None,
) -> JSONResponse:
    """Triage and store a case; 201 with the case, its suggestion and duplicate candidates."""
    fields = cases.submit_fields(user, body)

    def render(case: Case) -> object:
        out = case_out(case, service.clock())
        cases.hide_out_of_scope(service, user, [out])
        return out.model_dump(mode="json")

    def created(case: Case) -> None:
        metrics.cases_created.labels(case.source).inc()

    req_hash = request_hash("POST", "/api/v1/cases", body.model_dump(mode="json"))
    return submit_idempotent(service, user, idempotency_key, req_hash, fields, render, on_created=created)


@router.get("", response_model=CasePage)
def list_cases(
    service: ServiceDep,
    user: CurrentUser,
    status: Annotated[list[CaseStatus] | None, Query(description="Repeat for several statuses.")] = None,
    category: Annotated[str | None, Query(max_length=CATEGORY_CHARS)] = None,
    department: Annotated[
        str | None, Query(max_length=DEPARTMENT_CODE_CHARS, description="Department code.")
    ] = None,
    grid: Annotated[str | None, Query(max_length=GRID_CHARS)] = None,
    date_from: Annotated[Day | None, day_query("Created on or after (local date).")] = None,
    date_to: Annotated[Day | None, day_query("Created on or before (local date).")] = None,
    overdue: Annotated[bool | None, Query(description="Only (true) or no (false) overdue cases.")] = None,
    q: Annotated[
        str | None,
        Query(max_length=MAX_QUERY_CHARS, description="Case number (or its first digits), address, words."),
    ] = None,
    phone: Annotated[
        str | None, Query(max_length=64, description="The reporter's phone, exact (separators ignored).")
    ] = None,
    priority: Annotated[Priority | None, Query(description="urgent, high or normal.")] = None,
    source: Annotated[Source | None, Query(description="How the case came in.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = LIST_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CasePage:
    """Cases in the caller's scope, newest first; ``q`` searches numbers, addresses and words (full
    text), ``phone`` the reporter's contact exactly (the results show it masked, as everywhere)."""
    if category:
        check_category(service, category)
    if department:
        check_department(service, department, field="department")
    check_date_range(date_from, date_to)
    f = CaseFilter(
        status=[s.value for s in status] if status else None,
        category=category,
        department_code=department,
        grid_code=grid,
        date_from=date_from,
        date_to=date_to,
        overdue=overdue,
        q=q,
        phone=phone,
        priority=priority,
        source=source.value if source else None,
        limit=limit,
        offset=offset,
    )
    now = service.clock()
    rows = cases.search(service, user, f, now)
    items = [case_out(c, now) for c in rows]
    cases.hide_out_of_scope(service, user, items)
    return CasePage(
        items=items,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) == limit else None,
    )


@router.get("/{case_no}", response_model=CaseDetail)
def get_case(case_no: CaseNo, service: ServiceDep, user: CurrentUser) -> CaseDetail:
    """One case with its audit history and feedback."""
    case, events, feedbacks = cases.history(service, user, case_no)
    out = case_detail(case, events, feedbacks, service.clock())
    cases.hide_out_of_scope(service, user, [out])
    return out


@router.post("/{case_no}/transition", response_model=CaseOut)
def transition(case_no: CaseNo, body: TransitionRequest, service: ServiceDep, user: CurrentUser) -> CaseOut:
    """Move a case along its lifecycle (start, resolve, return, reopen, close …)."""
    return _out(service, user, handling.transition(service, user, case_no, body))


@router.post("/{case_no}/feedback", response_model=CaseOut)
def feedback(case_no: CaseNo, body: FeedbackRequest, service: ServiceDep, user: CurrentUser) -> CaseOut:
    """回访: the citizen's satisfaction (1-5); closes the resolved case."""
    return _out(service, user, handling.feedback(service, user, case_no, body))


def _out(service: CaseService, user: Principal, case: Case) -> CaseOut:
    out = case_out(case, service.clock())
    cases.hide_out_of_scope(service, user, [out])
    return out
