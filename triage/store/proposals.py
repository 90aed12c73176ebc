"""代表建议: create from cases, answer (答复), rate; an unsatisfied rating sends it back (重新办理).

Each step is one committed transaction with its audit event (``proposal_create``,
``proposal_answer``, ``proposal_rate``; ``after.proposal_id`` names the proposal). Who may do
which step is the caller's business (``api.access``); this module checks states and values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from triage.config import NOTE_MAX_CHARS, PROPOSAL_TEXT_MAX_CHARS, Settings
from triage.store.catalog import Catalog
from triage.store.db import Database
from triage.store.errors import CaseStateError, ProposalNotFoundError, ValidationError, unknown_value
from triage.store.lifecycle import record
from triage.store.models import Case, Proposal, ProposalCase, ProposalRating, ProposalStatus
from triage.store.models.base import as_utc
from triage.store.review import require_catalog
from triage.text.intake import clean_text

__all__ = ["MAX_PROPOSAL_CASES", "ProposalNotFoundError", "ProposalScope", "ProposalService"]

P = ProposalStatus
MAX_PROPOSAL_CASES = 200  # cases linked to one proposal
TITLE_MAX_CHARS: int = Proposal.__table__.c["title"].type.length  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ProposalScope:
    """Whose proposals a caller sees: a deputy's own, a department's addressed ones, or all."""

    created_by: str | None = None
    department_code: str | None = None


def _text(value: str | None, field: str, limit: int) -> str:
    text = clean_text(value or "")
    if not text:
        raise ValidationError(f"{field} is required", code=f"{field}_required", field=field)
    if len(text) > limit:
        raise ValidationError(
            f"{field} is {len(text)} characters; at most {limit}", code="too_long", field=field
        )
    return text


class ProposalService:
    def __init__(
        self, db: Database, clock: Callable[[], datetime], catalog: Catalog | None, settings: Settings
    ) -> None:
        self.db = db
        self.clock = clock
        self.catalog = catalog
        self.settings = settings

    # -- writing --------------------------------------------------------------------------------
    def create(
        self,
        actor: str,
        *,
        title: str,
        problem: str,
        suggestion: str,
        department_code: str,
        case_nos: Sequence[str] = (),
        grid_code: str | None = None,
    ) -> Proposal:
        """A proposal assigned to ``department_code``, answer due in ``proposal_answer_days``."""
        title = _text(title, "title", TITLE_MAX_CHARS)
        problem = _text(problem, "problem", PROPOSAL_TEXT_MAX_CHARS)
        suggestion = _text(suggestion, "suggestion", PROPOSAL_TEXT_MAX_CHARS)
        require_catalog(self.catalog).department(department_code, field="department_code")
        wanted = list(dict.fromkeys(n.strip() for n in case_nos if n and n.strip()))
        if len(wanted) > MAX_PROPOSAL_CASES:
            message = f"at most {MAX_PROPOSAL_CASES} cases per proposal, got {len(wanted)}"
            raise ValidationError(message, code="too_many_cases", field="case_nos")

        def add(s: Session) -> Proposal:
            now = self.clock()
            cases = list(s.exec(select(Case).where(col(Case.case_no).in_(wanted)))) if wanted else []
            missing = sorted(set(wanted) - {c.case_no for c in cases})
            if missing:
                raise unknown_value("case_nos", ", ".join(missing[:5]), [], code="case_not_found")
            proposal = Proposal(
                title=title,
                problem=problem,
                suggestion=suggestion,
                department_code=department_code,
                grid_code=grid_code,
                created_by=actor,
                created_at=now,
                answer_due=now + timedelta(days=self.settings.proposal_answer_days),
            )
            s.add(proposal)
            s.flush()
            assert proposal.id is not None
            for case in cases:
                assert case.id is not None
                s.add(ProposalCase(proposal_id=proposal.id, case_id=case.id, case_no=case.case_no))
            after = {"proposal_id": proposal.id, "department_code": department_code, "cases": len(cases)}
            record(s, None, actor=actor, action="proposal_create", at=now, after=after, note=title)
            s.flush()
            s.refresh(proposal)
            return proposal

        with self.db.session(write=True) as s:
            return add(s)

    def answer(self, proposal_id: int, actor: str, answer: str) -> Proposal:
        """答复: the department's answer to an assigned proposal."""
        answer = _text(answer, "answer", PROPOSAL_TEXT_MAX_CHARS)

        def step(s: Session, p: Proposal, now: datetime) -> None:
            self._require(p, P.ASSIGNED, "answered")
            p.answer, p.answered_by, p.answered_at, p.status = answer, actor, now, P.ANSWERED.value
            late = now > as_utc(p.answer_due)
            after = {"proposal_id": p.id, "late": late}
            record(s, None, actor=actor, action="proposal_answer", at=now, after=after, note=answer[:500])

        return self._on(proposal_id, step)

    def rate(self, proposal_id: int, actor: str, rating: str, comment: str | None = None) -> Proposal:
        """The deputy's rating of the answer; 不满意 sends the proposal back with a new due date."""
        if rating not in {r.value for r in ProposalRating}:
            raise unknown_value("rating", rating, [r.value for r in ProposalRating], code="unknown_rating")
        note = clean_text(comment or "") or None
        if note is not None and len(note) > NOTE_MAX_CHARS:
            raise ValidationError(
                f"comment is over {NOTE_MAX_CHARS} characters", code="too_long", field="comment"
            )

        def step(s: Session, p: Proposal, now: datetime) -> None:
            self._require(p, P.ANSWERED, "rated")
            p.rating, p.rating_comment, p.rated_at = rating, note, now
            if rating == ProposalRating.UNSATISFIED:
                p.status = P.ASSIGNED.value
                p.rehandle_count += 1
                p.answer_due = now + timedelta(days=self.settings.proposal_rehandle_days)
            else:
                p.status = P.CLOSED.value
            after = {"proposal_id": p.id, "rating": rating, "status": p.status}
            record(s, None, actor=actor, action="proposal_rate", at=now, after=after, note=note)

        return self._on(proposal_id, step)

    # -- reading --------------------------------------------------------------------------------
    def get(self, proposal_id: int) -> tuple[Proposal, list[Case]]:
        with self.db.session() as s:
            proposal = s.get(Proposal, proposal_id)
            if proposal is None:
                raise ProposalNotFoundError(proposal_id)
            stmt = (
                select(Case)
                .join(ProposalCase, col(ProposalCase.case_id) == col(Case.id))
                .where(col(ProposalCase.proposal_id) == proposal_id)
                .order_by(col(Case.created_at), col(Case.id))
            )
            return proposal, list(s.exec(stmt))

    def list(
        self,
        scope: ProposalScope | None = None,
        *,
        status: str | None = None,
        overdue: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Proposal]:
        """Proposals in ``scope``, newest first (``overdue``: assigned and past the answer date)."""
        if status is not None and status not in {p.value for p in P}:
            raise unknown_value("status", status, [p.value for p in P], code="unknown_status")
        stmt = select(Proposal)
        scope = scope or ProposalScope()
        if scope.created_by is not None:
            stmt = stmt.where(col(Proposal.created_by) == scope.created_by)
        if scope.department_code is not None:
            stmt = stmt.where(col(Proposal.department_code) == scope.department_code)
        if status:
            stmt = stmt.where(col(Proposal.status) == status)
        if overdue:
            stmt = stmt.where(
                col(Proposal.status) == P.ASSIGNED.value, col(Proposal.answer_due) < self.clock()
            )
        stmt = (
            stmt.order_by(col(Proposal.created_at).desc(), col(Proposal.id).desc())
            .limit(limit)
            .offset(offset)
        )
        with self.db.session() as s:
            return list(s.exec(stmt))

    def count(self, scope: ProposalScope | None = None) -> int:
        scope = scope or ProposalScope()
        stmt = sa.select(sa.func.count()).select_from(Proposal)
        if scope.created_by is not None:
            stmt = stmt.where(col(Proposal.created_by) == scope.created_by)
        if scope.department_code is not None:
            stmt = stmt.where(col(Proposal.department_code) == scope.department_code)
        with self.db.session() as s:
            return int(s.execute(stmt).scalar_one())

    # -- helpers --------------------------------------------------------------------------------
    def _on(self, proposal_id: int, step: Callable[[Session, Proposal, datetime], None]) -> Proposal:
        with self.db.session(write=True) as s:
            proposal = s.get(Proposal, proposal_id, with_for_update=True)
            if proposal is None:
                raise ProposalNotFoundError(proposal_id)
            step(s, proposal, self.clock())
            s.add(proposal)
            s.flush()
            s.refresh(proposal)
            return proposal

    @staticmethod
    def _require(p: Proposal, status: ProposalStatus, what: str) -> None:
        if p.status != status:
            raise CaseStateError(
                f"proposal {p.id} is {p.status}; only {status.value} ones can be {what}", field="status"
            )
