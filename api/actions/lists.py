"""The three lists (三张清单): problems, assignments, completions — scoped like cases.

Departments list only their own cases, grid workers and deputies only their grids (several
grids are merged newest first); rows come PII-masked, ready for the API, the page and the export, with
``department_name`` and ``grid_name`` beside the codes (people read names; codes stay for links and filters).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from api import access
from api.schemas import ListKind
from api.security import Principal
from api.validation import check_date_range, check_department
from triage.store.names import load_names, with_names
from triage.store.service import CaseService
from triage.text.masking import mask_record

_DATE_KEY = {
    ListKind.PROBLEMS: "created_at",
    ListKind.ASSIGNMENTS: "dispatched_at",
    ListKind.COMPLETIONS: "resolved_at",
}


def rows(
    service: CaseService,
    user: Principal,
    kind: ListKind,
    *,
    grid: str | None = None,
    community: str | None = None,
    street: str | None = None,
    department: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """问题清单 / 交办清单 / 办结清单, newest first, within the caller's scope."""
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
    common: dict[str, Any] = dict(
        community=community, street=street, department_code=department, date_from=date_from, date_to=date_to
    )
    common["scope"] = scope  # the detail page's rule: never list a case the caller cannot open
    if len(grids) == 1:
        found = fetch(grid_code=grids[0], limit=limit, offset=offset, **common)
    else:  # several grids: merge their newest rows, then page
        found = [r for g in grids for r in fetch(grid_code=g, limit=limit + offset, offset=0, **common)]
        key = _DATE_KEY[kind]
        found.sort(key=lambda r: (r.get(key) is not None, r.get(key), r.get("case_no")), reverse=True)
        found = found[offset : offset + limit]
    masked = [mask_record(row) or {} for row in found]  # title, text, address, requirement, result, feedback
    # department_name / grid_name beside the codes: what the page and the export show (codes stay for links)
    departments = {d.code: d.name for d in service.catalog.departments()}
    names = load_names(service.db, [row.get("grid_code") for row in masked], departments=departments)
    return with_names(masked, names)
