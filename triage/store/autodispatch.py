"""Dispatch without review: a new case whose department suggestion clears the profile's threshold.

The threshold comes from the live bundle (``metadata["auto_dispatch"]``, chosen on validation data
for ≥ 95 % precision, see :mod:`triage.classify.dispatch`); ``TRIAGE_AUTO_DISPATCH`` switches the behaviour
on (off by default). Everything below the threshold, likely duplicates and incomplete suggestions
go to the review queue as before. An auto-dispatched case is marked by ``dispatched_by`` =
:data:`AUTO_DISPATCHER` and an ``auto_dispatch`` audit event that records the threshold it cleared.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from triage.classify.dispatch import ThresholdChoice
from triage.store.lifecycle import change
from triage.store.models import Case, CaseStatus
from triage.store.suggestion import suggested_decision

log = logging.getLogger(__name__)
AUTO_DISPATCHER = "auto-dispatch"  # the actor of automatic dispatches (audit trail, dispatched_by)


@dataclass(frozen=True, slots=True)
class AutoDispatchPolicy:
    """Whether a case may skip review, and where a case stands against the threshold."""

    enabled: bool
    choice: ThresholdChoice | None

    @classmethod
    def from_triager(cls, triager: Any, *, enabled: bool) -> AutoDispatchPolicy:
        """The policy of the triager's bundle; a bundle without a valid threshold never auto-dispatches."""
        metadata = getattr(getattr(triager, "bundle", None), "metadata", None)
        try:
            choice = ThresholdChoice.from_metadata(metadata)
        except ValueError:
            choice = None
        return cls(enabled=enabled, choice=choice)

    @property
    def active(self) -> bool:
        return self.enabled and self.choice is not None and self.choice.feasible

    def blocker(self, case: Case) -> str | None:
        """Why ``case`` needs a reviewer (None: it may be dispatched automatically)."""
        if not self.enabled:
            return "disabled"
        if self.choice is None or not self.choice.feasible:
            return "no_threshold"
        if not (case.suggested_category and case.suggested_department_code):
            return "incomplete_suggestion"
        if case.department_confidence is None:
            return "no_department_confidence"
        if not self.choice.allows(case.department_confidence):
            return "below_threshold"
        if case.duplicate_candidates or getattr(case, "possible_duplicate_of", None):
            return "possible_duplicate"  # merging is a reviewer's decision
        return None

    def standing(self, case: Case) -> dict[str, Any]:
        """What the reviewer is shown: the threshold, its measured coverage, and this case's place."""
        choice = self.choice
        confidence = case.department_confidence
        return {
            "enabled": self.enabled,
            "threshold": choice.threshold if choice and choice.feasible else None,
            "target_precision": choice.target_precision if choice else None,
            "precision": choice.precision if choice else None,
            "coverage": choice.coverage if choice else None,
            "confidence": confidence,
            "above": bool(choice and confidence is not None and choice.allows(confidence)),
            "gap": round(confidence - choice.threshold, 4)
            if choice and choice.feasible and confidence is not None
            else None,
            "auto_dispatched": case.dispatched_by == AUTO_DISPATCHER,
            "blocker": self.blocker(case) if case.status == CaseStatus.PENDING_REVIEW else None,
        }

    def apply(self, session: Session, case: Case, now: datetime) -> bool:
        """Dispatch a just-stored case when it clears the threshold (audited); True when it did."""
        if self.blocker(case) is not None:
            return False
        assert self.choice is not None
        change(
            session,
            case,
            actor=AUTO_DISPATCHER,
            action="auto_dispatch",
            at=now,
            to_status=CaseStatus.DISPATCHED,
            details={
                "threshold": self.choice.threshold,
                "department_confidence": case.department_confidence,
                "target_precision": self.choice.target_precision,
            },
            **suggested_decision(case),
            corrected=False,
            needs_review=False,
            dispatched_by=AUTO_DISPATCHER,
            dispatched_at=now,
        )
        log.info(
            "case %s auto-dispatched to %s (department confidence %.3f >= %.3f)",
            case.case_no,
            case.department_code,
            case.department_confidence,
            self.choice.threshold,
        )
        return True
