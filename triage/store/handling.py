"""Department-side steps of the lifecycle (办事 → 办结 → 回访) and the generic ``transition``.

Every method is one committed transaction (through :class:`~triage.store.transaction.CaseTransaction`)
with its audit event. ``transition`` hands the review targets (dispatched, merged, rejected) to
the :class:`~triage.store.review.ReviewService` it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from triage.store.dupindex import DuplicateIndexSync
from triage.store.errors import IllegalTransitionError, ValidationError, unknown_value
from triage.store.lifecycle import allowed_targets, change, check_transition, is_active, record
from triage.store.models import Case, CaseStatus, Feedback
from triage.store.review import ReviewService
from triage.store.transaction import CaseStep, CaseTransaction
from triage.text.intake import clean_text

__all__ = ["HandlingService"]

S = CaseStatus
_DECISION = ("category", "subcategory", "department_code", "level", "priority")


def _text(value: str | None, field: str) -> str:
    value = clean_text(value or "")
    if not value:
        raise ValidationError(f"a {field} is required", code=f"{field}_required", field=field)
    return value


class HandlingService:
    """start / resolve / return / close (feedback) / reopen / transition / overdue / reveal_contact."""

    def __init__(self, tx: CaseTransaction, index: DuplicateIndexSync, review: ReviewService) -> None:
        self.tx = tx
        self.index = index
        self.review = review

    def _step(
        self, case_no: str, actor: str, version: int | None, to: str, action: str, **fields: Any
    ) -> Case:
        def step(s: Session, case: Case, now: datetime) -> None:
            resolved = {k: (v(now) if callable(v) else v) for k, v in fields.items()}
            note = resolved.pop("note", None)
            change(s, case, actor=actor, action=action, at=now, to_status=to, note=note, **resolved)

        return self.tx.on_case(case_no, version, step)

    def start(self, case_no: str, actor: str, *, version: int | None = None) -> Case:
        """The department starts handling a dispatched case."""
        return self._step(case_no, actor, version, S.IN_PROGRESS, "start", started_at=lambda now: now)

    def resolve(self, case_no: str, actor: str, result: str, *, version: int | None = None) -> Case:
        """办结: the department reports the handling result."""
        result = _text(result, "result")
        return self._step(
            case_no,
            actor,
            version,
            S.RESOLVED,
            "resolve",
            result=result,
            resolved_by=actor,
            resolved_at=lambda now: now,
        )

    def return_case(self, case_no: str, actor: str, reason: str, *, version: int | None = None) -> Case:
        """The department sends the case back to review (wrong department, not its remit …)."""
        reason = _text(reason, "reason")

        def send_back(s: Session, case: Case, now: datetime) -> None:
            change(
                s,
                case,
                actor=actor,
                action="return",
                at=now,
                to_status=S.PENDING_REVIEW,
                note=reason,
                return_reason=reason,
                returned_count=case.returned_count + 1,
                reviewed_by=None,
                reviewed_at=None,
                dispatched_by=None,
                dispatched_at=None,
                started_at=None,
            )

        return self.tx.on_case(case_no, version, send_back)

    def feedback(
        self,
        case_no: str,
        actor: str,
        satisfaction: int,
        comment: str | None = None,
        *,
        version: int | None = None,
        also: CaseStep | None = None,
    ) -> Case:
        """回访: record the citizen's satisfaction (1–5) and close the resolved case.

        ``also(session, case, now)`` runs in the same transaction after the close (the 回访 call's
        own row, :mod:`triage.store.followup`)."""
        if not isinstance(satisfaction, int) or isinstance(satisfaction, bool) or not 1 <= satisfaction <= 5:
            raise ValidationError(
                f"satisfaction must be an integer from 1 to 5, got {satisfaction!r}",
                code="invalid_satisfaction",
                field="satisfaction",
            )
        comment = clean_text(comment) or None if comment else None

        def close_case(s: Session, case: Case, now: datetime) -> None:
            check_transition(case, S.CLOSED)
            assert case.id is not None  # a stored case
            s.add(
                Feedback(
                    case_id=case.id,
                    satisfaction=satisfaction,
                    comment=comment,
                    created_by=actor,
                    created_at=now,
                )
            )
            change(
                s,
                case,
                actor=actor,
                action="close",
                at=now,
                to_status=S.CLOSED,
                note=comment,
                satisfaction=satisfaction,
                closed_at=now,
            )
            if also is not None:
                also(s, case, now)

        case = self.tx.on_case(case_no, version, close_case)
        self.index.remove(case.case_no)
        return case

    close = feedback

    def reopen(self, case_no: str, actor: str, reason: str, *, version: int | None = None) -> Case:
        """A resolved case goes back to the department (e.g. the citizen is not satisfied)."""
        reason = _text(reason, "reason")
        return self._step(case_no, actor, version, S.IN_PROGRESS, "reopen", note=reason, resolved_at=None)

    def transition(self, case_no: str, to_status: str, actor: str, **details: Any) -> Case:
        """Move a case to ``to_status`` by the matching operation (for generic callers such as the API).

        ``details`` are that operation's arguments: requirement / category … for dispatched,
        result for resolved, satisfaction and comment for closed, into for merged, reason
        for rejected, pending_review (return) and in_progress from resolved (reopen).
        """
        if to_status not in {s.value for s in S}:
            raise unknown_value("status", to_status, [s.value for s in S], code="unknown_status")
        version = details.pop("version", None)
        review = self.review
        case = self.tx.read(case_no)
        if to_status not in allowed_targets(case.status):
            raise IllegalTransitionError(case_no, case.status, to_status, allowed_targets(case.status))
        if to_status == S.DISPATCHED:
            decision = {k: details.get(k) for k in _DECISION if details.get(k)}
            if decision:
                return review.correct(
                    case_no,
                    actor,
                    version=version,
                    requirement=details.get("requirement"),
                    note=details.get("note"),
                    **decision,
                )
            return review.accept(case_no, actor, version=version, requirement=details.get("requirement"))
        if to_status == S.IN_PROGRESS:
            if case.status == S.RESOLVED:
                return self.reopen(case_no, actor, details.get("reason", ""), version=version)
            return self.start(case_no, actor, version=version)
        satisfaction: int = details.get("satisfaction")  # type: ignore[assignment]  # feedback checks it
        ops: dict[S, Callable[[], Case]] = {
            S.RESOLVED: lambda: self.resolve(case_no, actor, details.get("result", ""), version=version),
            S.CLOSED: lambda: self.feedback(
                case_no, actor, satisfaction, details.get("comment"), version=version
            ),
            S.MERGED: lambda: review.merge(
                case_no, details.get("into", ""), actor, version=version, note=details.get("note")
            ),
            S.REJECTED: lambda: review.reject(case_no, actor, details.get("reason", ""), version=version),
            S.PENDING_REVIEW: lambda: self.return_case(
                case_no, actor, details.get("reason", ""), version=version
            ),
        }
        return ops[S(to_status)]()

    def reveal_contact(self, case_no: str, actor: str, *, reason: str | None = None) -> Case:
        """The case with the reporter's contact as stored, for a call back (回访, 核实): one audited read.

        Contacts are masked everywhere else; who looked at whose number, and when, is the audit
        event ``reveal_contact`` (the number itself is not copied into the log). The case is not
        changed, so its version stays and nobody's open form goes stale.
        """
        note = clean_text(reason) or None if reason else None

        def reveal(s: Session) -> Case:
            case = self.tx.load(s, case_no, lock=False)
            record(s, case, actor=actor, action="reveal_contact", at=self.tx.clock(), note=note)
            return case

        return self.tx.write(reveal)

    # -- reading --------------------------------------------------------------------------------
    def overdue(
        self,
        *,
        now: datetime | None = None,
        department_code: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Case]:
        """Open cases past their deadline, most overdue first."""
        now = now or self.tx.clock()
        stmt = select(Case).where(is_active(), col(Case.deadline) < now)
        if department_code:
            stmt = stmt.where(col(Case.department_code) == department_code)
        stmt = stmt.order_by(col(Case.deadline), col(Case.id)).limit(limit).offset(offset)
        with self.tx.db.session() as session:
            return list(session.exec(stmt))

    def overdue_count(self, *, now: datetime | None = None) -> int:
        now = now or self.tx.clock()
        stmt = sa.select(sa.func.count()).select_from(Case)
        stmt = stmt.where(is_active(), col(Case.deadline) < now)
        with self.tx.db.session() as session:
            return int(session.execute(stmt).scalar_one())

    def feedbacks(self, case_no: str) -> list[Feedback]:
        with self.tx.db.session() as session:
            case = self.tx.load(session, case_no, lock=False)
            stmt = select(Feedback).where(col(Feedback.case_id) == case.id).order_by(col(Feedback.id))
            return list(session.exec(stmt))
