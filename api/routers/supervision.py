"""督办, 吹哨报到 and 回访 as JSON (:mod:`api.actions.supervision`, the case page's path too).

``POST /api/v1/cases/{case_no}/supervise`` {requirement, due}; ``POST …/escalate`` {to_level or
to_department, reason}; ``POST …/report-in`` (the receiving department acknowledges);
``GET …/supervision`` (the thread); ``GET /api/v1/supervisions`` and ``GET /api/v1/whistles``
(scoped lists: a deputy's overdue supervisions, a department's unacknowledged whistles);
``POST …/followup`` {rating, comment} and ``GET /api/v1/followups`` (回访 calls and the task list).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.actions import supervision
from api.deps import CurrentUser, ServiceDep
from api.limits import CASE_NO_CHARS, LIST_LIMIT, MAX_LIST_LIMIT
from api.schemas import ERROR_RESPONSES
from api.schemas_deputies import (
    EscalateRequest,
    EscalationOut,
    FollowUpOut,
    FollowUpRequest,
    FollowUpTaskOut,
    SuperviseRequest,
    SupervisionOut,
    SupervisionThreadOut,
)

router = APIRouter(prefix="/api/v1", tags=["supervision"], responses=ERROR_RESPONSES)

CaseNo = Annotated[str, Path(max_length=CASE_NO_CHARS, description="Public case number.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)]


@router.post("/cases/{case_no}/supervise", response_model=SupervisionOut, status_code=201)
def supervise(
    case_no: CaseNo, body: SuperviseRequest, service: ServiceDep, user: CurrentUser
) -> SupervisionOut:
    """督办: a deputy (own grids) or admin sets a requirement and a due date; audited."""
    return supervision.supervise(service, user, case_no, body.requirement, body.due)


@router.post("/cases/{case_no}/escalate", response_model=EscalationOut, status_code=201)
def escalate(case_no: CaseNo, body: EscalateRequest, service: ServiceDep, user: CurrentUser) -> EscalationOut:
    """吹哨: a grid worker or deputy (own grids) or admin moves the case up a level or to a named
    department, which must report in within ``report_in_hours``; audited."""
    return supervision.escalate(
        service, user, case_no, body.reason, to_level=body.to_level, to_department=body.to_department
    )


@router.post("/cases/{case_no}/report-in", response_model=EscalationOut)
def report_in(case_no: CaseNo, service: ServiceDep, user: CurrentUser) -> EscalationOut:
    """报到: the receiving department acknowledges the whistle (409 when none is waiting)."""
    return supervision.report_in(service, user, case_no)


@router.get("/cases/{case_no}/supervision", response_model=SupervisionThreadOut)
def thread(case_no: CaseNo, service: ServiceDep, user: CurrentUser) -> SupervisionThreadOut:
    """The case's supervisions and escalations, oldest first."""
    return supervision.thread(service, user, case_no)


@router.get("/supervisions", response_model=list[SupervisionOut])
def supervisions(
    service: ServiceDep,
    user: CurrentUser,
    state: Literal["open", "met", "overdue"] | None = None,
    mine: bool = False,
    limit: Limit = LIST_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[SupervisionOut]:
    """Supervisions on the cases the caller can see, earliest due first (``mine``: set by the caller)."""
    return supervision.supervisions(service, user, state=state, mine=mine, limit=limit, offset=offset)


@router.get("/whistles", response_model=list[EscalationOut])
def whistles(
    service: ServiceDep, user: CurrentUser, overdue: bool = False, limit: Limit = LIST_LIMIT
) -> list[EscalationOut]:
    """Whistles waiting for a report-in (a department: its own), the longest-waiting first."""
    return supervision.open_whistles(service, user, overdue_only=overdue, limit=limit)


@router.post("/cases/{case_no}/followup", response_model=FollowUpOut, status_code=201)
def followup(case_no: CaseNo, body: FollowUpRequest, service: ServiceDep, user: CurrentUser) -> FollowUpOut:
    """回访: rate a resolved case (satisfied / basically_satisfied close it, unsatisfied sends it back for
    重办, unreachable is tried again until ``followup_max_attempts``, then closes as 未回访); audited."""
    return supervision.followup(service, user, case_no, body.rating, body.comment)


@router.get("/followups", response_model=list[FollowUpTaskOut])
def followups(
    service: ServiceDep,
    user: CurrentUser,
    limit: Limit = LIST_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[FollowUpTaskOut]:
    """Resolved cases waiting for a 回访 call in the caller's scope, the longest-waiting first."""
    return supervision.followup_tasks(service, user, limit=limit, offset=offset)
