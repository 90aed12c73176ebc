"""待复核 (reviewers and admins): reviewed cases a reclassify run now disputes, and the answer to
each — ``dismiss`` (keep the decision) or ``correct`` (through the review workbench's correction).

Thin over :mod:`triage.store.rereview`: the list is scoped like other case lists.
"""

from __future__ import annotations

from api import access
from api.errors import ApiError
from api.schemas import RereviewAction, RereviewItemOut, RereviewPage, RereviewRequest
from api.security import Principal
from api.validation import check_category, check_department
from triage.store import rereview as rr
from triage.store.service import CaseService


def open_flags(
    service: CaseService,
    user: Principal,
    *,
    department: str | None = None,
    grid: str | None = None,
    job_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> RereviewPage:
    """Flagged cases not yet answered, newest flag first: old decision next to the new suggestion."""
    access.require(user, access.REVIEW, "see the re-review list")
    if department:
        check_department(service, department, field="department")
    scope = access.scope_of(user)
    filters = dict(job_id=job_id, department_code=department, grid_code=grid)
    items = rr.open_flags(service.db, scope=scope, limit=limit, offset=offset, **filters)
    total = rr.count_open_flags(service.db, scope=scope, **filters)
    return RereviewPage(
        items=[RereviewItemOut.model_validate(i, from_attributes=True) for i in items],
        total=total,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if offset + len(items) < total else None,
    )


def answer(service: CaseService, user: Principal, case_no: str, body: RereviewRequest) -> rr.ClearResult:
    """dismiss (维持原判) · correct (改为新类别: the new suggestion's category, or ``category``;
    only while the case is pending review, else 409 naming the allowed actions)."""
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
    return service.rereview.clear(case_no, user.username, body.action.value, **details)
