"""Re-review (待复核): reviewed cases a reclassify run now disputes, and the reviewer's answer to each.

Thin over :mod:`triage.batch.rereview`: the list is scoped like other case lists, and the answer
is ``dismiss`` (keep the decision) or ``correct`` (through the review workbench's correction).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api import access
from api.deps import CurrentUser, ServiceDep
from api.errors import ApiError
from api.routers.cases import CaseNo
from api.schemas import ERROR_RESPONSES, CaseOut
from api.validation import check_category, check_department
from api.views import case_out
from triage.batch import rereview as rr

router = APIRouter(prefix="/api/v1/rereview", tags=["review"], responses=ERROR_RESPONSES)


class RereviewAction(StrEnum):
    DISMISS = "dismiss"  # 维持原判
    CORRECT = "correct"  # 改为新类别


class RereviewItemOut(BaseModel):
    case_no: str
    title: str | None = Field(description="PII-masked.")
    summary: str = Field(description="The start of the PII-masked text.")
    status: str
    grid_code: str | None
    version: int = Field(description="The case's version, for `version` when correcting.")
    decision_category: str | None = Field(description="The reviewed (human) category.")
    decision_department_code: str | None
    decision_department: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    suggested_category: str | None = Field(description="The new model's category.")
    suggested_subcategory: str | None
    suggested_department_code: str | None
    suggested_department: str | None
    confidence: float
    model_version: str
    previous_category: str | None = Field(description="The suggestion in force before the run.")
    previous_model_version: str | None
    job_id: str
    flagged_at: datetime
    open_flags: int = Field(description="Open flags of this case (several runs may flag it).")
    actions: list[str] = Field(description="Answers possible in the case's status.")


class RereviewPage(BaseModel):
    items: list[RereviewItemOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page, or null on the last page.")


class RereviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: RereviewAction
    category: str | None = Field(
        default=None, max_length=64, description="correct: the category (default: the new suggestion's)."
    )
    department_code: str | None = Field(
        default=None, max_length=64, description="correct: the department (default follows the category)."
    )
    note: str | None = Field(default=None, max_length=2000)
    version: int | None = Field(default=None, ge=1, description="correct: optimistic lock (item `version`).")


class RereviewResult(BaseModel):
    action: RereviewAction
    cleared: int = Field(description="Open flags of the case that this answer cleared.")
    case: CaseOut


@router.get("", response_model=RereviewPage)
def list_rereview(
    service: ServiceDep,
    user: CurrentUser,
    department: Annotated[str | None, Query(max_length=64, description="Decided department code.")] = None,
    grid: Annotated[str | None, Query(max_length=64)] = None,
    job_id: Annotated[str | None, Query(max_length=40, description="Only this reclassify job.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> RereviewPage:
    """Flagged cases not yet answered, newest flag first: old decision next to the new suggestion."""
    access.require(user, access.REVIEW, "see the re-review list")
    if department:
        check_department(service, department, field="department")
    filters = dict(scope=access.scope_of(user), job_id=job_id, department_code=department, grid_code=grid)
    items = rr.open_flags(service.db, limit=limit, offset=offset, **filters)  # type: ignore[arg-type]
    total = rr.count_open_flags(service.db, **filters)  # type: ignore[arg-type]
    return RereviewPage(
        items=[RereviewItemOut.model_validate(i, from_attributes=True) for i in items],
        total=total,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if offset + len(items) < total else None,
    )


@router.post("/{case_no}", response_model=RereviewResult)
def answer(case_no: CaseNo, body: RereviewRequest, service: ServiceDep, user: CurrentUser) -> RereviewResult:
    """dismiss (维持原判: keep the decision) · correct (改为新类别: the new suggestion's category, or
    `category`; only while the case is pending review, else 409 naming the allowed actions)."""
    access.require(user, access.REVIEW, "answer re-review flags")
    if body.action == RereviewAction.DISMISS:
        for name in ("category", "department_code", "version"):
            if getattr(body, name) is not None:
                raise ApiError(
                    422, "unexpected_field", f"{name} is only used with action correct", field=name
                )
        details = {"note": body.note}
    else:
        if body.category:
            check_category(service, body.category)
        if body.department_code:
            check_department(service, body.department_code)
        details = body.model_dump(exclude={"action"})
    result = rr.clear_flag(service, case_no, user.username, body.action.value, **details)
    case = case_out(result.case, service.clock())
    return RereviewResult(action=body.action, cleared=result.cleared, case=case)
