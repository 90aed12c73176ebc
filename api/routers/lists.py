"""The three lists (三张清单): problems, assignments, completions — scoped like cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.actions import lists
from api.deps import CurrentUser, ServiceDep
from api.limits import DEPARTMENT_CODE_CHARS, GRID_CHARS
from api.schemas import ERROR_RESPONSES, ListKind, ListPage
from api.validation import Day, day_query

router = APIRouter(prefix="/api/v1/lists", tags=["lists"], responses=ERROR_RESPONSES)


@router.get("/{kind}", response_model=ListPage)
def get_list(
    kind: ListKind,
    service: ServiceDep,
    user: CurrentUser,
    grid: Annotated[str | None, Query(max_length=GRID_CHARS)] = None,
    community: Annotated[str | None, Query(max_length=128)] = None,
    street: Annotated[str | None, Query(max_length=128)] = None,
    department: Annotated[
        str | None, Query(max_length=DEPARTMENT_CODE_CHARS, description="Department code.")
    ] = None,
    date_from: Annotated[Day | None, day_query("First local date (inclusive).")] = None,
    date_to: Annotated[Day | None, day_query("Last local date (inclusive).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ListPage:
    """问题清单 / 交办清单 / 办结清单, newest first; departments see their own, grid users their grids."""
    items = lists.rows(
        service, user, kind, grid=grid, community=community, street=street, department=department,
        date_from=date_from, date_to=date_to, limit=limit, offset=offset,
    )  # fmt: skip
    return ListPage(
        kind=kind,
        items=items,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(items) == limit else None,
    )
