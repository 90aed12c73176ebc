"""The re-review list: reviewed cases whose decision a reclassify run now disputes, and their answers.

``triage batch reclassify`` (:mod:`triage.batch.reclassify`) flags a ``case_suggestions`` row when
a reviewed case's category disagrees with the new model; it never changes the decision itself. The
flag stays open until a reviewer answers it (:class:`RereviewService`):

* ``dismiss`` — keep the human decision (the case row is not touched);
* ``correct`` — take a new category (by default the new suggestion's) through
  :meth:`ReviewService.correct <triage.store.review.ReviewService.correct>`, the same path as the
  review workbench. That path dispatches a pending case, so it is open only while the case is
  pending review (e.g. returned by its department); other statuses raise
  :class:`RereviewActionError`, which names the allowed actions.

Either answer clears every open flag of the case and writes one audit event (``rereview_dismiss``
/ ``rereview_correct``) in the same transaction as the change. A case flagged by several runs is
listed once, with its newest open flag. A later run does not flag a case again for a suggestion
(same category and model version) that a reviewer already dismissed for the same decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from triage.errors import InputError
from triage.store.catalog import Catalog
from triage.store.db import Database
from triage.store.errors import StoreError, ValidationError, unknown_value
from triage.store.lifecycle import record
from triage.store.models import BatchJob, Case, CaseStatus, CaseSuggestion
from triage.store.review import ReviewService, require_catalog
from triage.store.search import ScopeLike, scope_conditions
from triage.store.transaction import CaseTransaction
from triage.text.masking import mask_pii

CS = CaseSuggestion
DISMISS, CORRECT = "dismiss", "correct"
ACTIONS = (DISMISS, CORRECT)
CORRECTABLE = frozenset({CaseStatus.PENDING_REVIEW.value})  # statuses ReviewService.correct accepts
SUMMARY_CHARS = 120


def is_open() -> sa.ColumnElement[bool]:
    """Flagged and not yet answered."""
    return sa.and_(col(CS.flagged).is_(True), col(CS.cleared_at).is_(None))


class NotFlaggedError(StoreError):
    """The case has no open re-review flag (never flagged, or already cleared)."""

    code = "not_flagged"
    status_code = 409


class RereviewActionError(ValidationError):
    """The requested answer is not possible in the case's status; ``allowed`` lists what is."""

    code = "action_not_allowed"
    status_code = 409


@dataclass(slots=True)
class RereviewItem:
    """One flagged case with what a reviewer needs to answer the flag."""

    case_no: str
    title: str | None
    summary: str
    status: str
    grid_code: str | None
    version: int
    decision_category: str | None
    decision_department_code: str | None
    decision_department: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    suggested_category: str | None
    suggested_subcategory: str | None
    suggested_department_code: str | None
    suggested_department: str | None
    confidence: float
    model_version: str
    previous_category: str | None
    previous_model_version: str | None
    job_id: str
    flagged_at: datetime
    open_flags: int  # several reclassify runs may have flagged the case
    actions: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ClearResult:
    case: Case
    action: str
    cleared: int  # open flags of the case that this answer cleared


def allowed_actions(status: str) -> list[str]:
    return [DISMISS, CORRECT] if status in CORRECTABLE else [DISMISS]


def _statement(
    scope: ScopeLike | None, job_id: str | None, department_code: str | None, grid_code: str | None
) -> sa.Select:
    """(newest open flag, its case, open flags of the case) per case inside ``scope``."""
    newest = (
        sa.select(sa.func.max(col(CS.id)).label("id"), sa.func.count().label("n"))
        .where(is_open(), *([col(CS.job_id) == job_id] if job_id else []))
        .group_by(col(CS.case_id))
        .subquery()
    )
    stmt = (
        sa.select(CS, Case, newest.c.n)
        .join(newest, col(CS.id) == newest.c.id)
        .join(Case, col(Case.id) == col(CS.case_id))
        .where(*scope_conditions(scope))
    )
    if department_code:
        stmt = stmt.where(col(Case.department_code) == department_code)
    if grid_code:
        stmt = stmt.where(col(Case.grid_code) == grid_code)
    return stmt


def _check_job(session: Session, job_id: str | None) -> None:
    if job_id and session.get(BatchJob, job_id) is None:
        raise InputError(f"no reclassify job {job_id!r}", code="no_job", field="job_id")


def open_flags(
    db: Database,
    *,
    scope: ScopeLike | None = None,
    job_id: str | None = None,
    department_code: str | None = None,
    grid_code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[RereviewItem]:
    """The re-review list: one row per flagged, not yet cleared case, newest flag first."""
    with db.session() as session:
        _check_job(session, job_id)
        stmt = _statement(scope, job_id, department_code, grid_code)
        rows = session.execute(stmt.order_by(col(CS.id).desc()).limit(limit).offset(offset)).all()
        return [_item(s, c, int(n)) for s, c, n in rows]


def count_open_flags(
    db: Database,
    *,
    scope: ScopeLike | None = None,
    job_id: str | None = None,
    department_code: str | None = None,
    grid_code: str | None = None,
) -> int:
    """How many cases :func:`open_flags` lists in all (for the page header and the API's ``total``)."""
    with db.session() as session:
        _check_job(session, job_id)
        stmt = _statement(scope, job_id, department_code, grid_code).with_only_columns(col(CS.id))
        return int(session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one())


def _item(s: CaseSuggestion, c: Case, n: int) -> RereviewItem:
    text = (c.text_masked or "").replace("\n", " ")
    return RereviewItem(
        case_no=c.case_no, title=mask_pii(c.title) if c.title else None,
        summary=text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…",
        status=str(c.status), grid_code=c.grid_code, version=c.version,
        decision_category=c.category, decision_department_code=c.department_code,
        decision_department=c.department, reviewed_by=c.reviewed_by, reviewed_at=c.reviewed_at,
        suggested_category=s.category, suggested_subcategory=s.subcategory,
        suggested_department_code=s.department_code, suggested_department=s.department,
        confidence=s.confidence, model_version=s.model_version, previous_category=s.previous_category,
        previous_model_version=s.previous_model_version, job_id=s.job_id, flagged_at=s.created_at,
        open_flags=n, actions=allowed_actions(str(c.status)),
    )  # fmt: skip


# -- answering a flag -----------------------------------------------------------------------------------
def _open_rows(session: Session, case: Case, *, lock: bool) -> list[CaseSuggestion]:
    stmt = select(CS).where(col(CS.case_id) == case.id, is_open()).order_by(col(CS.id).desc())
    return list(session.exec(stmt.with_for_update() if lock else stmt))


def _not_flagged(session: Session, case: Case) -> NotFlaggedError:
    last = session.exec(
        select(CS)
        .where(col(CS.case_id) == case.id, col(CS.cleared_at).is_not(None))
        .order_by(col(CS.cleared_at).desc())
    ).first()
    if last is None:
        message = f"case {case.case_no} is not flagged for re-review"
    else:
        message = (
            f"case {case.case_no} has no open re-review flag: it was cleared ({last.cleared_action}) "
            f"by {last.cleared_by} at {last.cleared_at.isoformat() if last.cleared_at else '?'}"
        )
    return NotFlaggedError(message, field="case_no")


def _clear(
    session: Session, case: Case, rows: list[CaseSuggestion], actor: str, action: str, now: datetime,
    note: str | None, decision_before: str | None,
) -> None:  # fmt: skip
    for row in rows:
        row.cleared_at, row.cleared_by, row.cleared_action = now, actor, action
        session.add(row)
    newest = rows[0]
    after = {
        "decision_before": decision_before, "decision": case.category, "model": newest.category,
        "model_version": newest.model_version, "jobs": sorted({r.job_id for r in rows}),
    }  # fmt: skip
    default = "kept the reviewed category" if action == DISMISS else "took a new category"
    record(
        session, case, actor=actor, action=f"rereview_{action}", at=now, after=after,
        note=note or f"re-review: {default}",
    )  # fmt: skip


class RereviewService:
    """Answers to re-review flags: dismiss (keep the decision) or correct (through the review path)."""

    def __init__(self, tx: CaseTransaction, catalog: Catalog | None, review: ReviewService) -> None:
        self.tx = tx
        self.catalog = catalog
        self.review = review

    def dismiss(self, case_no: str, actor: str, *, note: str | None = None) -> ClearResult:
        """Keep the human decision: clear the case's open flags; the case row is not changed."""
        cleared: list[int] = []

        def dismiss(session: Session, case: Case, now: datetime) -> None:  # the case row lock serialises
            rows = _open_rows(session, case, lock=True)  # with a concurrent correct
            if not rows:
                raise _not_flagged(session, case)
            _clear(session, case, rows, actor, DISMISS, now, note, case.category)
            cleared.append(len(rows))

        case = self.tx.on_case(case_no, None, dismiss)
        return ClearResult(case, DISMISS, cleared[0])

    def correct(
        self,
        case_no: str,
        actor: str,
        *,
        category: str | None = None,
        department_code: str | None = None,
        note: str | None = None,
        version: int | None = None,
    ) -> ClearResult:
        """Take a new category (default: the newest flag's suggestion) through the correction path.

        Without ``department_code`` the suggestion's department goes with its category; another
        category keeps the decided department. Raises :class:`RereviewActionError` unless the case
        is pending review, :class:`NotFlaggedError` when no flag is open.
        """
        with self.tx.db.session() as session:
            case = self.tx.load(session, case_no, lock=False)
            rows = _open_rows(session, case, lock=False)
            if not rows:
                raise _not_flagged(session, case)
        if case.status not in CORRECTABLE:
            allowed = allowed_actions(case.status)
            err = RereviewActionError(
                f"case {case_no} is {case.status}: its category can only be changed while it is "
                f"pending review (return it to review first); allowed actions now: {', '.join(allowed)}",
                field="action",
            )
            err.allowed = allowed  # type: ignore[attr-defined]
            raise err
        newest = rows[0]
        category = category or newest.category
        if not category:
            raise ValidationError("a category is required", code="category_required", field="category")
        same = category == newest.category
        if not department_code:
            department_code = (newest.department_code if same else None) or case.department_code
        subcategory = newest.subcategory if same else None
        known = require_catalog(self.catalog).subcategory_names(category) if subcategory else None
        if known is not None and subcategory not in known:  # a stale routing table: let correct choose
            subcategory = None
        decision_before = case.category
        cleared: list[int] = []

        def also(session: Session, locked: Case, now: datetime) -> None:
            current = _open_rows(session, locked, lock=True)
            if not current:  # answered by someone else meanwhile: roll the correction back
                raise _not_flagged(session, locked)
            _clear(session, locked, current, actor, CORRECT, now, note, decision_before)
            cleared.append(len(current))

        updated = self.review.correct(
            case_no, actor, category=category, subcategory=subcategory,
            department_code=department_code, level=newest.level if same and newest.level else None,
            note=note, version=version, also=also,
        )  # fmt: skip
        return ClearResult(updated, CORRECT, cleared[0])

    def clear(self, case_no: str, actor: str, action: str, **details: Any) -> ClearResult:
        """Answer a re-review flag: ``dismiss`` or ``correct`` (``category``, ``department_code``,
        ``note``, ``version``)."""
        if action == DISMISS:
            return self.dismiss(case_no, actor, note=details.get("note"))
        if action == CORRECT:
            return self.correct(case_no, actor, **details)
        raise unknown_value("action", action, ACTIONS, code="unknown_action")


def dismissed_pairs(session: Session, case_ids: list[int]) -> set[tuple[int, str | None, str | None, str]]:
    """(case id, decision, model category, model version) a reviewer already kept: not flagged again."""
    rows = session.execute(
        sa.select(col(CS.case_id), col(CS.decision_category), col(CS.category), col(CS.model_version)).where(
            col(CS.case_id).in_(case_ids), col(CS.cleared_action) == DISMISS
        )
    )
    return {tuple(r) for r in rows}  # type: ignore[misc]
