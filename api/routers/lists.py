"""The three lists (三张清单): problems, assignments, completions — scoped like cases."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api import access
from api.deps import CurrentUser, ServiceDep
from api.errors import ApiError
from api.schemas import ERROR_RESPONSES
from api.validation import check_department
from triage.intake import mask_pii

router = APIRouter(prefix="/api/v1/lists", tags=["lists"], responses=ERROR_RESPONSES)


class ListKind(StrEnum):
    PROBLEMS = "problems"  # 问题清单
    ASSIGNMENTS = "assignments"  # 交办清单
    COMPLETIONS = "completions"  # 办结清单


class ListPage(BaseModel):
    kind: ListKind
    items: list[dict[str, Any]]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page, or null on the last page.")


_DATE_KEY = {
    ListKind.PROBLEMS: "created_at",
    ListKind.ASSIGNMENTS: "dispatched_at",
    ListKind.COMPLETIONS: "resolved_at",
}


@router.get("/{kind}", response_model=ListPage)
def get_list(
    kind: ListKind,
    service: ServiceDep,
    user: CurrentUser,
    grid: Annotated[str | None, Query(max_length=64)] = None,
    community: Annotated[str | None, Query(max_length=128)] = None,
    street: Annotated[str | None, Query(max_length=128)] = None,
    department: Annotated[str | None, Query(max_length=64, description="Department code.")] = None,
    date_from: Annotated[date | None, Query(description="First local date (inclusive).")] = None,
    date_to: Annotated[date | None, Query(description="Last local date (inclusive).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ListPage:
    """问题清单 / 交办清单 / 办结清单, newest first; departments see their own, grid users their grids."""
    if department:
        check_department(service, department, field="department")
    if date_from and date_to and date_from > date_to:
        raise ApiError(422, "invalid_date_range", "date_from is after date_to", field="date_from")
    scope = access.scope_of(user)
    if scope.department_code is not None:
        if department and department != scope.department_code:
            raise access.forbidden(f"you may only list department {scope.department_code}")
        department = scope.department_code
    grids: list[str | None] = [grid]
    if scope.grids is not None:
        if grid and grid not in scope.grids:
            raise access.forbidden(f"grid {grid} is not one of yours ({', '.join(scope.grids) or 'none'})")
        grids = [grid] if grid else list(scope.grids)
    fetch = {
        ListKind.PROBLEMS: service.problem_list,
        ListKind.ASSIGNMENTS: service.assignment_list,
        ListKind.COMPLETIONS: service.completion_list,
    }[kind]
    common = dict(
        community=community, street=street, department_code=department, date_from=date_from, date_to=date_to
    )
    if len(grids) == 1:
        rows = fetch(grid_code=grids[0], limit=limit, offset=offset, **common)
    else:  # several grids: merge their newest rows, then page
        rows = [r for g in grids for r in fetch(grid_code=g, limit=limit + offset, offset=0, **common)]
        key = _DATE_KEY[kind]
        rows.sort(key=lambda r: (r.get(key) is not None, r.get(key), r.get("case_no")), reverse=True)
        rows = rows[offset : offset + limit]
    for row in rows:
        if row.get("title"):
            row["title"] = mask_pii(row["title"])
    return ListPage(
        kind=kind,
        items=rows,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) == limit else None,
    )
