"""回访: every resolved case is a follow-up task until a call rates it.

满意 / 基本满意 close the case (with a 回访 feedback score, as the 1–5 scale names them); 不满意
sends it back to the department (重办, counted against that department); 未接通 is tried again and,
after ``Settings.followup_max_attempts`` calls, closes the case as 未回访 with the reason. Each call
is a :class:`~triage.store.models.FollowUp` row written in the same transaction as the case change
and its audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from triage.config import NOTE_MAX_CHARS, Settings
from triage.store.dupindex import DuplicateIndexSync
from triage.store.errors import CaseStateError, ValidationError, unknown_value
from triage.store.handling import HandlingService
from triage.store.lifecycle import change
from triage.store.models import Case, CaseStatus, Feedback, FollowUp, FollowUpOutcome, FollowUpRating
from triage.store.search import ScopeLike, scope_conditions
from triage.store.transaction import CaseTransaction
from triage.text.intake import clean_text

__all__ = ["RATING_SCORES", "FollowUpService", "FollowUpTask"]

R, OUT = FollowUpRating, FollowUpOutcome
# The 回访 score each spoken rating is stored as (the 1–5 scale's own words: 满意 4, 基本满意 3, 不满意 2).
RATING_SCORES: dict[str, int] = {R.SATISFIED: 4, R.BASICALLY_SATISFIED: 3, R.UNSATISFIED: 2}
UNREACHED_NOTE = "未回访：{n} 次电话均未接通"


@dataclass(frozen=True, slots=True)
class FollowUpTask:
    """A resolved case waiting for its 回访 call, with the calls tried so far."""

    case: Case
    attempts: int


class FollowUpService:
    """followup (one call) and the task list; closing goes through :class:`HandlingService`."""

    def __init__(
        self, tx: CaseTransaction, index: DuplicateIndexSync, handling: HandlingService, settings: Settings
    ) -> None:
        self.tx = tx
        self.index = index
        self.handling = handling
        self.settings = settings

    def followup(self, case_no: str, actor: str, rating: str, comment: str | None = None) -> FollowUp:
        """Record one 回访 call on a resolved case and do what its rating asks."""
        if rating not in {r.value for r in R}:
            raise unknown_value("rating", rating, [r.value for r in R], code="unknown_rating")
        note = clean_text(comment or "") or None
        if note is not None and len(note) > NOTE_MAX_CHARS:
            raise ValidationError(
                f"comment is over {NOTE_MAX_CHARS} characters", code="too_long", field="comment"
            )
        self._require_resolved(self.tx.read(case_no))
        made: list[FollowUp] = []

        def add_row(s: Session, case: Case, now: datetime, outcome: str, attempt: int) -> None:
            assert case.id is not None
            row = FollowUp(
                case_id=case.id,
                case_no=case.case_no,
                rating=rating,
                outcome=outcome,
                attempt=attempt,
                comment=note,
                department_code=case.department_code,
                created_by=actor,
                created_at=now,
            )
            s.add(row)
            s.flush()
            made.append(row)

        if rating in (R.SATISFIED, R.BASICALLY_SATISFIED):

            def closed(s: Session, case: Case, now: datetime) -> None:
                add_row(s, case, now, OUT.CLOSED, self._attempts(s, case) + 1)

            self.handling.feedback(case_no, actor, RATING_SCORES[rating], note, also=closed)
            return made[0]

        def call(s: Session, case: Case, now: datetime) -> None:
            self._require_resolved(case)
            attempt = self._attempts(s, case) + 1
            if rating == R.UNSATISFIED:
                assert case.id is not None
                s.add(
                    Feedback(
                        case_id=case.id,
                        satisfaction=RATING_SCORES[rating],
                        comment=note,
                        created_by=actor,
                        created_at=now,
                    )
                )
                change(
                    s,
                    case,
                    actor=actor,
                    action="rehandle",
                    at=now,
                    to_status=CaseStatus.IN_PROGRESS,
                    note=note or "回访不满意，重新办理",
                    resolved_at=None,
                    resolved_by=None,
                )
                add_row(s, case, now, OUT.REHANDLE, attempt)
            elif attempt >= self.settings.followup_max_attempts:
                reason = UNREACHED_NOTE.format(n=attempt)
                closed = CaseStatus.CLOSED
                change(
                    s,
                    case,
                    actor=actor,
                    action="close_unreached",
                    at=now,
                    to_status=closed,
                    note=reason,
                    closed_at=now,
                )
                add_row(s, case, now, OUT.UNREACHED, attempt)
            else:
                change(s, case, actor=actor, action="followup_attempt", at=now, note=note or "未接通")
                add_row(s, case, now, OUT.RETRY, attempt)

        case = self.tx.on_case(case_no, None, call)
        if case.status == CaseStatus.CLOSED:
            self.index.remove(case.case_no)
        return made[0]

    def tasks(
        self, scope: ScopeLike | None = None, *, limit: int = 50, offset: int = 0
    ) -> list[FollowUpTask]:
        """Resolved cases waiting for a call inside ``scope``, the longest-waiting first."""
        tried = (
            sa.select(sa.func.count())
            .where(
                col(FollowUp.case_id) == col(Case.id),
                col(FollowUp.outcome) == OUT.RETRY.value,
                col(FollowUp.created_at) >= col(Case.resolved_at),
            )
            .scalar_subquery()
        )
        stmt = (
            sa.select(Case, tried)
            .where(col(Case.status) == CaseStatus.RESOLVED.value, *scope_conditions(scope))
            .order_by(col(Case.resolved_at), col(Case.id))
            .limit(limit)
            .offset(offset)
        )
        with self.tx.db.session() as s:
            return [FollowUpTask(case, int(n or 0)) for case, n in s.execute(stmt).all()]

    def calls(self, case_no: str) -> list[FollowUp]:
        """The 回访 calls on a case, oldest first."""
        with self.tx.db.session() as s:
            case = self.tx.load(s, case_no, lock=False)
            stmt = sa.select(FollowUp).where(col(FollowUp.case_id) == case.id).order_by(col(FollowUp.id))
            return list(s.execute(stmt).scalars())

    @staticmethod
    def _attempts(s: Session, case: Case) -> int:
        """Unanswered calls since the case was (last) resolved."""
        stmt = sa.select(sa.func.count()).where(
            col(FollowUp.case_id) == case.id,
            col(FollowUp.outcome) == OUT.RETRY.value,
            col(FollowUp.created_at) >= case.resolved_at,
        )
        return int(s.execute(stmt).scalar_one())

    @staticmethod
    def _require_resolved(case: Case) -> None:
        if case.status != CaseStatus.RESOLVED:
            message = f"case {case.case_no} is {case.status}; only resolved (办结) cases are followed up"
            raise CaseStateError(message, field="case_no")
