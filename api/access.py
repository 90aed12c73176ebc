"""Who may see and do what: roles and scopes (department, grids) in one place.

* operator (hotline): suggest, submit, read every case, record feedback (回访 calls);
* grid_worker: suggest, submit, see the cases of their grids and those they submitted, feedback;
* reviewer: the review queue, claim, accept/correct/merge/reject, any transition, read all;
* department: only its own department's cases: start, resolve, return to review;
* deputy: read and supervise (feedback) the cases of their grids, submit constituents' matters;
* admin: everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.errors import ApiError
from api.security import Principal
from triage.store.models import Case, CaseStatus, Role

R = Role
S = CaseStatus

READ_ALL = frozenset({R.ADMIN, R.REVIEWER, R.OPERATOR})
SUBMIT = frozenset({R.ADMIN, R.REVIEWER, R.OPERATOR, R.GRID_WORKER, R.DEPUTY})
REVIEW = frozenset({R.ADMIN, R.REVIEWER})
FEEDBACK = frozenset({R.ADMIN, R.REVIEWER, R.OPERATOR, R.GRID_WORKER, R.DEPUTY})
DEPARTMENT_TARGETS = frozenset({S.IN_PROGRESS, S.RESOLVED, S.PENDING_REVIEW})
DEFAULT_SOURCE = {R.OPERATOR: "hotline", R.GRID_WORKER: "grid", R.DEPUTY: "deputy"}


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def require(user: Principal, roles: frozenset[Role], what: str) -> None:
    if user.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise forbidden(f"role {user.role} may not {what}; allowed roles: {allowed}")


@dataclass(frozen=True, slots=True)
class Scope:
    """Row restrictions for list queries; all None means every case."""

    department_code: str | None = None
    grids: tuple[str, ...] | None = None
    submitted_by: str | None = None  # with ``grids``: either condition admits a case


def scope_of(user: Principal) -> Scope:
    if user.role in READ_ALL:
        return Scope()
    if user.role == R.DEPARTMENT:
        return Scope(department_code=user.department_code or "\x00")  # no department: sees nothing
    if user.role == R.GRID_WORKER:
        return Scope(grids=user.grids, submitted_by=user.username)
    return Scope(grids=user.grids)  # deputy


def can_see(user: Principal, case: Case, submitted_by: str | None) -> bool:
    scope = scope_of(user)
    if scope.department_code is not None:
        return case.department_code == scope.department_code
    if scope.grids is not None:
        return case.grid_code in scope.grids or (
            scope.submitted_by is not None and submitted_by == scope.submitted_by
        )
    return True


def check_transition(user: Principal, case: Case, to: str) -> None:
    """403 unless the role may move this case to ``to`` (the lifecycle itself is checked by the store)."""
    if user.role in REVIEW:
        return
    if user.role == R.DEPARTMENT:
        if to in DEPARTMENT_TARGETS:
            return
        raise forbidden(f"a department may only move its cases to {', '.join(sorted(DEPARTMENT_TARGETS))}")
    if to == S.CLOSED and user.role in FEEDBACK:
        return
    raise forbidden(f"role {user.role} may not move cases to {to}")
