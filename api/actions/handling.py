"""Handling after review: start, resolve, return to review, reopen, close with feedback (回访),
and the department desk.

Who may move a case where is :func:`api.access.check_transition` (departments only their own
cases, and only to in progress, resolved or back to review); the lifecycle itself is the store's.
"""

from __future__ import annotations

from api import access
from api.actions.cases import load_visible, search
from api.errors import ApiError
from api.schemas import FeedbackRequest, TransitionRequest
from api.security import Principal
from triage.store.deadlines import urgent_cases
from triage.store.errors import IllegalTransitionError
from triage.store.lifecycle import allowed_targets
from triage.store.models import ACTIVE_STATUS_LIST, Case, CaseStatus, Role
from triage.store.queue import OVERDUE
from triage.store.search import CaseFilter
from triage.store.service import CaseService

S = CaseStatus


def _check_details(case: Case, body: TransitionRequest) -> None:
    """The details each target needs, named by their API field (the store names its own)."""
    to = body.to
    if to not in allowed_targets(case.status):  # 409 before asking for details the move cannot use
        raise IllegalTransitionError(case.case_no, case.status, to.value, allowed_targets(case.status))
    if to == S.CLOSED and body.satisfaction is None:
        raise ApiError(
            422, "satisfaction_required", "closing a case needs satisfaction (1-5)", field="satisfaction"
        )
    if to == S.MERGED and not body.into:
        raise ApiError(
            422, "into_required", "merging needs `into`: the case number to merge into", field="into"
        )
    reopening = to == S.IN_PROGRESS and case.status == S.RESOLVED
    if (to in (S.REJECTED, S.PENDING_REVIEW) or reopening) and not (body.note or "").strip():
        raise ApiError(
            422, "reason_required", f"moving a case to {to.value} needs a reason in `note`", field="note"
        )
    if to == S.RESOLVED and not (body.result or "").strip():
        raise ApiError(422, "result_required", "resolving a case needs the handling `result`", field="result")


def transition(service: CaseService, user: Principal, case_no: str, body: TransitionRequest) -> Case:
    """Move a case along its lifecycle, if the role may move this case there."""
    case = load_visible(service, user, case_no)
    access.check_transition(user, case, body.to.value)
    details: dict[str, object] = {"version": body.version}
    if body.note:
        details["reason"] = body.note
    for name in ("result", "requirement", "into", "satisfaction", "comment"):
        value = getattr(body, name)
        if value is not None:
            details[name] = value
    _check_details(case, body)
    return service.transition(case_no, body.to.value, user.username, **details)


def feedback(service: CaseService, user: Principal, case_no: str, body: FeedbackRequest) -> Case:
    """回访: the citizen's satisfaction (1-5); closes the resolved case."""
    access.require(user, access.FEEDBACK, "record feedback")
    load_visible(service, user, case_no)
    return service.feedback(case_no, user.username, body.satisfaction, body.comment, version=body.version)


def desk_department(user: Principal, requested: str | None, known: set[str]) -> str | None:
    """The desk's department: a department user's own; an admin's choice among the known ones."""
    dept = user.department_code if user.role == Role.DEPARTMENT else (requested or None)
    return dept if dept and dept in known else None


DESK_SEARCH_FIELDS = ("category", "grid_code", "priority", "source")  # CaseFilter fields of the desk filters


def desk(
    service: CaseService,
    user: Principal,
    statuses: list[str] | None,
    *,
    overdue: bool,
    department: str | None,
    limit: int,
    offset: int,
    filters: dict[str, str] | None = None,
) -> list[Case]:
    """The department desk's rows: the given statuses, or the overdue cases (a department never
    sees its returned cases there: they are the reviewers' again). Open work comes by urgency
    (overdue first, then least time left, priority on ties); finished work newest first.
    ``filters``: :func:`triage.store.queue.filter_conditions` names (category, grid_code, …)."""
    access.require(user, access.DESK, "open the department desk")
    only: dict[str, str | None] = dict(filters or {})
    if overdue:
        only[OVERDUE] = "1"
        returned = S.PENDING_REVIEW if user.role == Role.DEPARTMENT else None
        statuses = [s for s in ACTIVE_STATUS_LIST if s != returned]
    if statuses and set(statuses) <= set(ACTIVE_STATUS_LIST):  # work to do: the most urgent first
        return urgent_cases(
            service.db,
            access.scope_of(user),
            statuses,
            department_code=department,
            filters=only,
            now=service.clock(),
            limit=limit,
            offset=offset,
        )
    found = CaseFilter(status=statuses, department_code=department, limit=limit, offset=offset)
    for name in DESK_SEARCH_FIELDS:
        setattr(found, name, only.get(name) or None)
    return search(service, user, found)
