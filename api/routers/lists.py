"""The three lists (三张清单): problems, assignments, completions — scoped like cases."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api import access
from api.deps import CurrentUser, ServiceDep
from api.schemas import ERROR_RESPONSES
from api.validation import Day, check_date_range, check_department, day_query
from triage.text.masking import mask_record

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
    date_from: Annotated[Day | None, day_query("First local date (inclusive).")] = None,
    date_to: Annotated[Day | None, day_query("Last local date (inclusive).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ListPage:
    """问题清单 / 交办清单 / 办结清单, newest first; departments see their own, grid users their grids."""
    if department:
        check_department(service, department, field="department")
    check_date_range(date_from, date_to)
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
    common["scope"] = scope  # the detail page's rule: never list a case the caller cannot open
    if len(grids) == 1:
        rows = fetch(grid_code=grids[0], limit=limit, offset=offset, **common)
    else:  # several grids: merge their newest rows, then page
        rows = [r for g in grids for r in fetch(grid_code=g, limit=limit + offset, offset=0, **common)]
        key = _DATE_KEY[kind]
        rows.sort(key=lambda r: (r.get(key) is not None, r.get(key), r.get("case_no")), reverse=True)
        rows = rows[offset : offset + limit]
    return ListPage(
        kind=kind,
        items=[mask_record(row) for row in rows],  # title, text, address, requirement, result, feedback
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) == limit else None,
    )
