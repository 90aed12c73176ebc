"""Who may see and do what: roles and scopes (department, grids) in one place.

* operator (hotline): suggest, submit, read every case, record feedback (回访 calls);
* grid_worker: suggest, submit, see the cases of their grids and those they submitted, feedback;
* reviewer: the review queue, claim, accept/correct/merge/reject, 回访, read all (not the department's steps);
* department: only its own department's cases: start, resolve, return to review;
* deputy: read and supervise (督办, 吹哨, feedback) the cases of their grids, submit constituents' matters;
* admin: everything.

Reporters' contacts are masked for every role; :data:`REVEAL_CONTACT` roles may reveal one case's
contact with an explicit, audited action (the handling department, operators, admins).

This module is the one rule set of the JSON API and the web pages: who may see which case
(lists, detail, duplicate suggestions), who may merge (only reviewers; everyone else's
"this is a duplicate" becomes a possible-duplicate link for the reviewer to decide), and
which sources and grids each role may submit as and into.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col

from api.errors import ApiError
from api.security import Principal
from triage.store.db import Database
from triage.store.models import Case, CaseStatus, Role, Source
from triage.store.search import scope_conditions

R = Role
S = CaseStatus

ALL_ROLES = frozenset(Role)
ADMIN = frozenset({R.ADMIN})  # accounts and batch jobs
READ_ALL = frozenset({R.ADMIN, R.REVIEWER, R.OPERATOR})
SUBMIT = frozenset({R.ADMIN, R.REVIEWER, R.OPERATOR, R.GRID_WORKER, R.DEPUTY})
REVIEW = frozenset({R.ADMIN, R.REVIEWER})
FEEDBACK = frozenset({R.ADMIN, R.REVIEWER, R.OPERATOR, R.GRID_WORKER, R.DEPUTY})
DESK = frozenset({R.ADMIN, R.DEPARTMENT})
MERGE = REVIEW  # that a case duplicates another is a review decision, at intake as in the queue
# The deputies' loop (issue #15): deputies supervise (督办) the cases of their grids; grid workers and
# deputies blow the whistle (吹哨) on them; the receiving department reports in (报到).
SUPERVISE = frozenset({R.ADMIN, R.DEPUTY})
ESCALATE = frozenset({R.ADMIN, R.DEPUTY, R.GRID_WORKER})
REPORT_IN = DESK
# 回访 calls on resolved cases: operators, and grid workers and deputies for their grids' residents.
FOLLOWUP = frozenset({R.ADMIN, R.OPERATOR, R.GRID_WORKER, R.DEPUTY})
# 代表建议: deputies write them (and rate the answers to their own), the target department answers.
PROPOSE = frozenset({R.ADMIN, R.DEPUTY})
ANSWER_PROPOSAL = DESK
PROPOSALS_READ = PROPOSE | DESK | READ_ALL
# 台账 and 矛盾纠纷: grids and deputies record disputes; ledgers are read within each role's scope
# (grid-bound roles: their grids; a department: its own row of the departments ledger).
DISPUTES = frozenset({R.ADMIN, R.GRID_WORKER, R.DEPUTY})
LEDGER_KINDS_BY_ROLE: dict[str, frozenset[str]] = {
    R.DEPARTMENT: frozenset({"requests", "departments"}),
    R.GRID_WORKER: frozenset({"requests", "disputes", "deputies"}),
}
# Who may reveal a reporter's contact (audited, one case at a time) to call the citizen back: the
# department handling the case (its scope: only cases decided for it), operators (回访) and admins.
REVEAL_CONTACT = frozenset({R.ADMIN, R.OPERATOR, R.DEPARTMENT})
DEPARTMENT_TARGETS = frozenset({S.IN_PROGRESS, S.RESOLVED, S.PENDING_REVIEW})
REVIEWER_TARGETS = frozenset({S.DISPATCHED, S.MERGED, S.REJECTED, S.CLOSED})
DEFAULT_SOURCE: dict[str, str] = {R.OPERATOR: "hotline", R.GRID_WORKER: "grid", R.DEPUTY: "deputy"}
# Channels a person records a matter from; ``open311`` and ``batch`` are set by those channels only.
RECORDED_SOURCES = (Source.HOTLINE.value, Source.GRID.value, Source.DEPUTY.value, Source.WEB.value)
SUBMIT_SOURCES: dict[str, tuple[str, ...]] = {
    R.ADMIN: RECORDED_SOURCES,
    R.REVIEWER: RECORDED_SOURCES,
    R.OPERATOR: (Source.HOTLINE.value,),
    R.GRID_WORKER: (Source.GRID.value,),
    R.DEPUTY: (Source.DEPUTY.value,),
}
GRID_BOUND = frozenset({R.GRID_WORKER, R.DEPUTY})  # submit only into their own grids


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
        # No department: sees nothing ("" is no department's code; NUL would fail on PostgreSQL).
        return Scope(department_code=user.department_code or "")
    if user.role == R.GRID_WORKER:
        return Scope(grids=user.grids, submitted_by=user.username)
    return Scope(grids=user.grids)  # deputy


def unrestricted(user: Principal) -> bool:
    """Whether the caller may see every case (no row scope)."""
    return scope_of(user) == Scope()


def can_see(user: Principal, case: Case, submitted_by: str | None = None) -> bool:
    """The rule of :func:`scope_of` for one loaded case (the SQL form is ``scope_conditions``).

    A department sees the cases decided for it (``department_code``), never those only
    suggested for it: lists and detail apply this same rule.
    """
    scope = scope_of(user)
    if scope.department_code is not None:
        return case.department_code == scope.department_code
    if scope.grids is not None:
        owner = submitted_by if submitted_by is not None else case.submitted_by
        mine = scope.submitted_by is not None and owner == scope.submitted_by
        return case.grid_code in scope.grids or mine
    return True


def visible_case_nos(db: Database, user: Principal, case_nos: Iterable[str]) -> set[str]:
    """Which of ``case_nos`` exist and lie in the caller's scope (one indexed query)."""
    wanted = {n for n in case_nos if n}
    if not wanted:
        return set()
    number = col(Case.case_no)
    stmt = sa.select(number).where(number.in_(wanted), *scope_conditions(scope_of(user)))
    with db.session() as session:
        return set(session.execute(stmt).scalars())


def scope_filter(db: Database, user: Principal, case_nos: Iterable[str]) -> Callable[[str | None], bool]:
    """A predicate over ``case_nos``: may the caller see that case? For duplicate suggestions,
    where a case number alone tells that the case exists.

    Callers with an unrestricted scope get "yes" without a query (the duplicate index only
    holds existing cases); everyone else one query over the numbers with ``scope_conditions``.
    """
    if unrestricted(user):
        return lambda case_no: bool(case_no)
    seen = visible_case_nos(db, user, case_nos)
    return lambda case_no: case_no in seen


def visible_case(db: Database, user: Principal, case_no: str) -> Case | None:
    """The case if it exists and the caller may see it, else None: callers answer "no such case"
    and "not yours" alike, so nobody learns which case numbers exist outside their scope."""
    with db.session() as session:
        case = session.execute(sa.select(Case).where(col(Case.case_no) == case_no)).scalar_one_or_none()
    return case if case is not None and can_see(user, case) else None


def may_merge(user: Principal) -> bool:
    return user.role in MERGE


def may_reveal_contact(user: Principal, case: Case) -> bool:
    """Whether to offer 显示联系电话 on this case: a role of :data:`REVEAL_CONTACT` that sees the case,
    or a :data:`FOLLOWUP` role calling a resolved case of its scope back (回访, issue #15)."""
    if not can_see(user, case):
        return False
    return user.role in REVEAL_CONTACT or (user.role in FOLLOWUP and case.status == S.RESOLVED)


def require_reveal_contact(user: Principal, case: Case) -> None:
    if not may_reveal_contact(user, case):
        allowed = ", ".join(sorted(r.value for r in REVEAL_CONTACT))
        raise forbidden(
            f"role {user.role} may not reveal this reporter's contact; allowed roles: {allowed}, "
            "and those who make 回访 calls on resolved cases"
        )


def deadline_statuses(user: Principal) -> tuple[str, ...] | None:
    """The statuses whose deadlines a role answers for, inside :func:`scope_of` (None: every status).

    A department its dispatched and in-progress cases (its desk), a reviewer the review queue;
    operators, admins, grid workers and deputies every active case they can see.
    """
    if user.role == R.DEPARTMENT:
        return (S.DISPATCHED.value, S.IN_PROGRESS.value)
    if user.role == R.REVIEWER:
        return (S.PENDING_REVIEW.value,)
    return None


def offers_department_steps(user: Principal) -> bool:
    """Whether pages offer the department's steps (签收, 办结, 退回, 重新办理): not to reviewers,
    who may move any case through the API but whose work is the review, not the handling."""
    return user.role in DESK


# -- what a role may submit ----------------------------------------------------------------------
def default_source(user: Principal) -> str:
    return DEFAULT_SOURCE.get(user.role, Source.WEB.value)


def submit_sources(user: Principal) -> tuple[str, ...]:
    """The sources the caller may record a submission as."""
    return SUBMIT_SOURCES.get(user.role, ())


def submit_source(user: Principal, requested: str | None) -> str:
    """The source a submission is stored with: the role's default, or a requested one it may claim."""
    if not requested:
        return default_source(user)
    allowed = submit_sources(user)
    if requested not in allowed:
        raise ApiError(
            403,
            "forbidden",
            f"role {user.role} may not submit as source {requested}; allowed: {', '.join(allowed)}",
            field="source",
            allowed=allowed,
        )
    return requested


def submit_grid(user: Principal, requested: str | None) -> str | None:
    """The grid a submission goes into: grid workers and deputies only into their own grids."""
    if requested and user.role in GRID_BOUND and requested not in user.grids:
        raise ApiError(
            403,
            "forbidden",
            f"grid {requested} is not one of yours ({', '.join(user.grids) or 'none'})",
            field="grid",
            allowed=user.grids,
        )
    return requested or (user.grids[0] if user.grids else None)


def check_transition(user: Principal, case: Case, to: str) -> None:
    """403 unless the role may move this case to ``to`` (the lifecycle itself is checked by the store)."""
    if user.role == R.ADMIN:
        return
    if user.role == R.REVIEWER:  # the review decisions and 回访; the handling is the department's
        if to in REVIEWER_TARGETS:
            return
        raise forbidden(
            f"a reviewer may only move cases to {', '.join(sorted(REVIEWER_TARGETS))}; "
            "start, resolve, return and reopen are the handling department's steps"
        )
    if user.role == R.DEPARTMENT:
        if to in DEPARTMENT_TARGETS:
            return
        raise forbidden(f"a department may only move its cases to {', '.join(sorted(DEPARTMENT_TARGETS))}")
    if to == S.CLOSED and user.role in FEEDBACK:
        return
    raise forbidden(f"role {user.role} may not move cases to {to}")
