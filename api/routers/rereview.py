"""Re-review (待复核): reviewed cases a reclassify run now disputes, and the reviewer's answer to each.

The rules and service calls are :mod:`api.actions.rereview`'s: the list is scoped like other case
lists, and the answer is ``dismiss`` (keep the decision) or ``correct`` (the workbench's correction).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.actions import rereview
from api.deps import CurrentUser, ServiceDep
from api.limits import DEPARTMENT_CODE_CHARS, GRID_CHARS, LIST_LIMIT, MAX_LIST_LIMIT
from api.routers.cases import CaseNo
from api.schemas import ERROR_RESPONSES, RereviewPage, RereviewRequest, RereviewResult
from api.views import case_out

router = APIRouter(prefix="/api/v1/rereview", tags=["review"], responses=ERROR_RESPONSES)


@router.get("", response_model=RereviewPage)
def list_rereview(
    service: ServiceDep,
    user: CurrentUser,
    department: Annotated[
        str | None, Query(max_length=DEPARTMENT_CODE_CHARS, description="Decided department code.")
    ] = None,
    grid: Annotated[str | None, Query(max_length=GRID_CHARS)] = None,
    job_id: Annotated[str | None, Query(max_length=40, description="Only this reclassify job.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = LIST_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> RereviewPage:
    """Flagged cases not yet answered, newest flag first: old decision next to the new suggestion."""
    return rereview.open_flags(
        service, user, department=department, grid=grid, job_id=job_id, limit=limit, offset=offset
    )


@router.post("/{case_no}", response_model=RereviewResult)
def answer(case_no: CaseNo, body: RereviewRequest, service: ServiceDep, user: CurrentUser) -> RereviewResult:
    """dismiss (维持原判: keep the decision) · correct (改为新类别: the new suggestion's category, or
    `category`; only while the case is pending review, else 409 naming the allowed actions)."""
    result = rereview.answer(service, user, case_no, body)
    case = case_out(result.case, service.clock())
    return RereviewResult(action=body.action, cleared=result.cleared, case=case)
