"""Cases: submit (idempotent), search, read with history, transitions and feedback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse

from api import access
from api.deps import CurrentUser, MetricsDep, ServiceDep
from api.errors import ApiError
from api.idempotency import HEADER, request_hash, submit_idempotent
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
from triage.store.errors import IllegalTransitionError
from triage.store.lifecycle import allowed_targets
from triage.store.models import Case, CaseStatus
from triage.store.search import CaseFilter
from triage.store.service import CaseService

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], responses=ERROR_RESPONSES)

CaseNo = Annotated[str, Path(max_length=20, description="Public case number, e.g. 2026112200001.")]


def load_visible(service: CaseService, user: Principal, case_no: str) -> Case:
    """The case, or 403 when it lies outside the caller's department/grids."""
    case = service.get(case_no)
    if not access.can_see(user, case):
        raise access.forbidden(f"case {case_no} is outside your scope")
    return case


def hide_out_of_scope(service: CaseService, user: Principal, outs: Sequence[CaseOut]) -> None:
    """Drop the duplicate candidates and possible-duplicate links the caller may not open:
    a case number in a suggestion tells that the case exists (one query per response)."""
    numbers = [d.case_no for o in outs for d in o.duplicate_candidates]
    numbers += [o.possible_duplicate_of for o in outs if o.possible_duplicate_of]
    if not numbers:
        return
    visible = access.scope_filter(service.db, user, numbers)
    for o in outs:
        o.duplicate_candidates = [d for d in o.duplicate_candidates if visible(d.case_no)]
        if not visible(o.possible_duplicate_of):
            o.possible_duplicate_of = None


def submit_fields(user: Principal, body: CaseCreate, source: str | None = None) -> dict[str, object]:
    """The keyword arguments of ``CaseService.submit`` for this caller and body.

    ``source`` is set by a channel endpoint (Open311); otherwise the body's source must be one
    the role may claim, and the grid one it may submit into (:mod:`api.access`, as the web form).
    """
    access.require(user, access.SUBMIT, "submit cases")
    return dict(
        text=body.text,
        title=body.title,
        source=source or access.submit_source(user, body.source.value if body.source else None),
        reporter_name=body.reporter_name,
        reporter_contact=body.reporter_phone,
        grid_code=access.submit_grid(user, body.grid),
        address=body.address,
        actor=user.username,
    )


def submit_case(
    service: CaseService,
    user: Principal,
    body: CaseCreate,
    source: str | None = None,
    *,
    possible_duplicate_of: str | None = None,
) -> Case:
    """Store a case for ``user``; ``possible_duplicate_of`` must be a case the user may open."""
    fields = submit_fields(user, body, source)
    return service.submit(**fields, possible_duplicate_of=possible_duplicate_of)  # type: ignore[arg-type]


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
    fields = submit_fields(user, body)

    def render(case: Case) -> object:
        out = case_out(case, service.clock())
        hide_out_of_scope(service, user, [out])
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
    category: Annotated[str | None, Query(max_length=64)] = None,
    department: Annotated[str | None, Query(max_length=64, description="Department code.")] = None,
    grid: Annotated[str | None, Query(max_length=64)] = None,
    date_from: Annotated[Day | None, day_query("Created on or after (local date).")] = None,
    date_to: Annotated[Day | None, day_query("Created on or before (local date).")] = None,
    overdue: Annotated[bool | None, Query(description="Only (true) or no (false) overdue cases.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CasePage:
    """Cases in the caller's scope, newest first."""
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
        limit=limit,
        offset=offset,
    )
    now = service.clock()
    rows = service.search(f, access.scope_of(user), now=now)
    items = [case_out(c, now) for c in rows]
    hide_out_of_scope(service, user, items)
    return CasePage(
        items=items,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) == limit else None,
    )


@router.get("/{case_no}", response_model=CaseDetail)
def get_case(case_no: CaseNo, service: ServiceDep, user: CurrentUser) -> CaseDetail:
    """One case with its audit history and feedback."""
    case = load_visible(service, user, case_no)
    out = case_detail(case, service.audit_trail(case_no), service.feedbacks(case_no), service.clock())
    hide_out_of_scope(service, user, [out])
    return out


def _check_transition_details(case: Case, body: TransitionRequest) -> None:
    """The details each target needs, named by their API field (the store names its own)."""
    to = body.to
    if to not in allowed_targets(case.status):  # 409 before asking for details the move cannot use
        raise IllegalTransitionError(case.case_no, case.status, to.value, allowed_targets(case.status))
    if to == CaseStatus.CLOSED and body.satisfaction is None:
        raise ApiError(
            422, "satisfaction_required", "closing a case needs satisfaction (1-5)", field="satisfaction"
        )
    if to == CaseStatus.MERGED and not body.into:
        raise ApiError(
            422, "into_required", "merging needs `into`: the case number to merge into", field="into"
        )
    reopening = to == CaseStatus.IN_PROGRESS and case.status == CaseStatus.RESOLVED
    if (to in (CaseStatus.REJECTED, CaseStatus.PENDING_REVIEW) or reopening) and not (
        body.note or ""
    ).strip():
        raise ApiError(
            422, "reason_required", f"moving a case to {to.value} needs a reason in `note`", field="note"
        )
    if to == CaseStatus.RESOLVED and not (body.result or "").strip():
        raise ApiError(422, "result_required", "resolving a case needs the handling `result`", field="result")


@router.post("/{case_no}/transition", response_model=CaseOut)
def transition(case_no: CaseNo, body: TransitionRequest, service: ServiceDep, user: CurrentUser) -> CaseOut:
    """Move a case along its lifecycle (start, resolve, return, reopen, close …)."""
    case = load_visible(service, user, case_no)
    access.check_transition(user, case, body.to.value)
    details: dict[str, object] = {"version": body.version}
    if body.note:
        details["reason"] = body.note
    for name in ("result", "requirement", "into", "satisfaction", "comment"):
        value = getattr(body, name)
        if value is not None:
            details[name] = value
    _check_transition_details(case, body)
    updated = service.transition(case_no, body.to.value, user.username, **details)
    out = case_out(updated, service.clock())
    hide_out_of_scope(service, user, [out])
    return out


@router.post("/{case_no}/feedback", response_model=CaseOut)
def feedback(case_no: CaseNo, body: FeedbackRequest, service: ServiceDep, user: CurrentUser) -> CaseOut:
    """回访: the citizen's satisfaction (1-5); closes the resolved case."""
    access.require(user, access.FEEDBACK, "record feedback")
    load_visible(service, user, case_no)
    updated = service.feedback(case_no, user.username, body.satisfaction, body.comment, version=body.version)
    out = case_out(updated, service.clock())
    hide_out_of_scope(service, user, [out])
    return out
