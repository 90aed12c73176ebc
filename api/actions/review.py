"""The review queue (reviewers and admins): list, claim / release a case, and decide it —
accept (the suggestion becomes the decision), correct, merge into another case, reject.

Merging is a review decision wherever it happens, in the queue or at intake
(:func:`merge_at_intake`): everyone else's "this is a duplicate" stays a possible-duplicate
link for a reviewer to decide.
"""

from __future__ import annotations

from typing import Any

from api import access
from api.errors import ApiError
from api.schemas import ReviewAction, ReviewRequest
from api.schemas_review import BulkAction, BulkReviewRequest, BulkRowError
from api.security import Principal
from api.validation import check_category, check_department, check_level, check_priority, check_subcategory
from triage.errors import TriageError
from triage.store.errors import CaseStateError
from triage.store.models import Case
from triage.store.service import CaseService


def queue(
    service: CaseService,
    user: Principal,
    *,
    limit: int,
    after: str | None = None,
    include_claimed: bool = False,
    filters: dict[str, str] | None = None,
) -> list[Case]:
    """Pending cases by priority, then deadline, then lowest confidence (``after``: a cursor;
    a cursor that is not one raises ValueError or TypeError); ``filters``: queue filter names."""
    access.require(user, access.REVIEW, "see the review queue")
    only: dict[str, Any] = dict(filters or {})  # str values only; typed Any so **only passes mypy
    return service.queue(limit=limit, after=after, include_claimed=include_claimed, **only)


def waiting(service: CaseService, user: Principal) -> int:
    access.require(user, access.REVIEW, "see the review queue")
    return service.queue_count()


def claim_next(service: CaseService, user: Principal) -> Case | None:
    """Lease the next free case in queue order (None when nothing is waiting)."""
    access.require(user, access.REVIEW, "claim cases")
    return service.claim_next(user.username)


def claim(service: CaseService, user: Principal, case_no: str) -> Case:
    """Lease this case for review (renewing one's own lease is allowed)."""
    access.require(user, access.REVIEW, "claim cases")
    return service.claim(case_no, user.username)


def release(service: CaseService, user: Principal, case_no: str) -> Case:
    """Give the lease back so another reviewer can take the case."""
    access.require(user, access.REVIEW, "release cases")
    return service.release(case_no, user.username)


def read(service: CaseService, user: Principal, case_no: str) -> Case:
    """A case as the review workbench shows it (reviewers read every case)."""
    access.require(user, access.REVIEW, "review cases")
    return service.get(case_no)


def decide(service: CaseService, user: Principal, case_no: str, body: ReviewRequest) -> Case:
    """accept · correct (category/department/level/priority) · merge (``into``) · reject (a reason)."""
    access.require(user, access.REVIEW, "review cases")
    actor = user.username
    if body.action == ReviewAction.ACCEPT:
        return service.accept(case_no, actor, requirement=body.requirement, version=body.version)
    if body.action == ReviewAction.CORRECT:
        _check_correction(service, case_no, body)
        return service.correct(
            case_no, actor, category=body.category, subcategory=body.subcategory,
            department_code=body.department_code, level=body.level, priority=body.priority,
            requirement=body.requirement, note=body.note, version=body.version,
        )  # fmt: skip
    if body.action == ReviewAction.MERGE:
        if not body.into:
            raise ApiError(
                422, "into_required", "merge needs `into`: the case number to merge into", field="into"
            )
        return service.merge(case_no, body.into, actor, version=body.version, note=body.note)
    reason = body.reason or body.note
    if not reason:
        raise ApiError(422, "reason_required", "reject needs a reason", field="reason")
    return service.reject(case_no, actor, reason, version=body.version)


def bulk(
    service: CaseService, user: Principal, body: BulkReviewRequest
) -> tuple[list[Case], list[BulkRowError]]:
    """Decide each selected case in turn (one transaction each, so one failure stops nothing):
    accept takes only confident suggestions, dispatch corrects the department of every one."""
    access.require(user, access.REVIEW, "review cases")
    if body.action == BulkAction.DISPATCH:
        if not body.department_code:
            raise ApiError(
                422, "department_required", "dispatch needs `department_code`", field="department_code"
            )
        check_department(service, body.department_code)
    if len(set(body.case_nos)) != len(body.case_nos):
        raise ApiError(422, "duplicate_case_no", "each case may be named once", field="case_nos")
    done: list[Case] = []
    failed: list[BulkRowError] = []
    for case_no in body.case_nos:
        try:
            done.append(_bulk_one(service, user.username, case_no, body))
        except TriageError as err:
            failed.append(BulkRowError(case_no=case_no, code=err.code, message=str(err)))
    return done, failed


def _bulk_one(service: CaseService, actor: str, case_no: str, body: BulkReviewRequest) -> Case:
    if body.action == BulkAction.DISPATCH:
        return service.correct(
            case_no, actor, department_code=body.department_code, requirement=body.requirement,
            note="批量派单",
        )  # fmt: skip
    case = service.get(case_no)
    if case.needs_review:
        raise CaseStateError(
            "this suggestion is not confident enough to accept in bulk: review it alone",
            code="needs_review", field="case_nos",
        )  # fmt: skip
    return service.accept(case_no, actor, requirement=body.requirement, version=case.version)


def _check_correction(service: CaseService, case_no: str, body: ReviewRequest) -> None:
    """A correction names at least one field, each a value the catalog knows."""
    if not any((body.category, body.subcategory, body.department_code, body.level, body.priority)):
        raise ApiError(
            422,
            "correction_required",
            "correct needs category, department_code, level or priority",
            field="category",
        )
    if body.category:
        check_category(service, body.category)
    if body.subcategory:
        category = body.category or service.get(case_no).suggested_category or ""
        check_subcategory(service, category, body.subcategory)
    if body.department_code:
        check_department(service, body.department_code)
    if body.level:
        check_level(body.level)
    if body.priority:
        check_priority(body.priority)


def merge_at_intake(service: CaseService, user: Principal, case_no: str, into: str) -> Case:
    """A reviewer confirms at intake that the case just submitted duplicates ``into``."""
    access.require(user, access.MERGE, "merge cases")
    return service.merge(case_no, into, user.username, note="受理时确认为重复诉求")
