"""矛盾纠纷: record a dispute (from a case or directly), its mediation sessions and its outcome.

Each step is one committed transaction with its audit event (``dispute_create``,
``mediation_session``; on the case's trail when the dispute grew from a case).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import col, select

from triage.config import NOTE_MAX_CHARS, PROPOSAL_TEXT_MAX_CHARS
from triage.store.db import Database
from triage.store.errors import (
    CaseNotFoundError,
    CaseStateError,
    DisputeNotFoundError,
    ValidationError,
    unknown_value,
)
from triage.store.lifecycle import record
from triage.store.models import Case, Dispute, DisputeOutcome, MediationSession
from triage.store.models.base import as_utc
from triage.text.intake import clean_text

__all__ = ["DisputeService"]

TITLE_MAX_CHARS: int = Dispute.__table__.c["title"].type.length  # type: ignore[attr-defined]


def _text(value: str | None, field: str, limit: int) -> str:
    text = clean_text(value or "")
    if not text:
        raise ValidationError(f"{field} is required", code=f"{field}_required", field=field)
    if len(text) > limit:
        raise ValidationError(
            f"{field} is {len(text)} characters; at most {limit}", code="too_long", field=field
        )
    return text


class DisputeService:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def create(
        self,
        actor: str,
        *,
        title: str,
        parties: str,
        summary: str,
        case_no: str | None = None,
        grid_code: str | None = None,
        community: str | None = None,
        street: str | None = None,
    ) -> Dispute:
        """A dispute; from ``case_no`` it takes the case's place (grid, community, street)."""
        title = _text(title, "title", TITLE_MAX_CHARS)
        parties = _text(parties, "parties", NOTE_MAX_CHARS)
        summary = _text(summary, "summary", PROPOSAL_TEXT_MAX_CHARS)
        with self.db.session(write=True) as s:
            now, case = self.clock(), None
            if case_no:
                case = s.exec(select(Case).where(col(Case.case_no) == case_no)).first()
                if case is None:
                    raise CaseNotFoundError(case_no)
            dispute = Dispute(
                case_id=case.id if case else None,
                case_no=case.case_no if case else None,
                title=title,
                parties=parties,
                summary=summary,
                grid_code=case.grid_code if case else grid_code,
                community=case.community if case else community,
                street=case.street if case else street,
                created_by=actor,
                created_at=now,
            )
            s.add(dispute)
            s.flush()
            record(
                s,
                case,
                actor=actor,
                action="dispute_create",
                at=now,
                after={"dispute_id": dispute.id},
                note=title,
            )
            s.flush()
            s.refresh(dispute)
            return dispute

    def add_session(
        self,
        dispute_id: int,
        actor: str,
        *,
        mediator: str,
        note: str,
        held_at: datetime | None = None,
        outcome: str | None = None,
    ) -> Dispute:
        """One mediation session; with ``outcome`` (调解成功 / 未成功 / 转诉讼) the dispute closes."""
        mediator = _text(mediator, "mediator", 64)
        note = _text(note, "note", NOTE_MAX_CHARS)
        if outcome is not None and outcome not in {o.value for o in DisputeOutcome}:
            raise unknown_value("outcome", outcome, [o.value for o in DisputeOutcome], code="unknown_outcome")
        with self.db.session(write=True) as s:
            dispute = s.get(Dispute, dispute_id, with_for_update=True)
            if dispute is None:
                raise DisputeNotFoundError(dispute_id)
            if dispute.outcome is not None:
                raise CaseStateError(
                    f"dispute {dispute_id} is closed ({dispute.outcome})", field="dispute_id"
                )
            now = self.clock()
            when = as_utc(held_at) if held_at else now
            if when > now:
                raise ValidationError("held_at lies in the future", code="invalid_held_at", field="held_at")
            s.add(
                MediationSession(
                    dispute_id=dispute_id, held_at=when, mediator=mediator, note=note, created_by=actor
                )
            )
            dispute.sessions += 1
            if outcome is not None:
                dispute.outcome, dispute.closed_at = outcome, now
            s.add(dispute)
            case = s.get(Case, dispute.case_id) if dispute.case_id else None
            after = {"dispute_id": dispute_id, "outcome": outcome}
            record(s, case, actor=actor, action="mediation_session", at=now, after=after, note=note)
            s.flush()
            s.refresh(dispute)
            return dispute

    def get(self, dispute_id: int) -> tuple[Dispute, list[MediationSession]]:
        with self.db.session() as s:
            dispute = s.get(Dispute, dispute_id)
            if dispute is None:
                raise DisputeNotFoundError(dispute_id)
            stmt = (
                select(MediationSession)
                .where(col(MediationSession.dispute_id) == dispute_id)
                .order_by(col(MediationSession.held_at), col(MediationSession.id))
            )
            return dispute, list(s.exec(stmt))
