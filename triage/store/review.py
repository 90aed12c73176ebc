"""Reviewer-side operations: the queue, claim leases and the decisions (accept, correct, merge, un-merge,
reject).

Every method is one committed transaction (through :class:`~triage.store.transaction.CaseTransaction`)
with its audit event(s); merge, un-merge and reject keep the duplicate index in step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from triage.config import Settings
from triage.store import queue as q
from triage.store.catalog import Catalog
from triage.store.dupindex import DuplicateIndexSync
from triage.store.errors import ValidationError
from triage.store.lifecycle import OPEN_STATUSES, change
from triage.store.models import PRIORITY_RANK, Case, CaseStatus
from triage.store.suggestion import suggested_decision
from triage.store.transaction import CaseStep, CaseTransaction
from triage.text.intake import clean_text

__all__ = ["ReviewService", "require_catalog"]


def _reason(reason: str | None, field: str = "reason") -> str:
    reason = clean_text(reason or "")
    if not reason:
        raise ValidationError(f"a {field} is required", code="reason_required", field=field)
    return reason


def require_catalog(catalog: Catalog | None) -> Catalog:
    """The routing catalog, or ValidationError ``no_routing`` when the service has none."""
    if catalog is None:
        raise ValidationError("no routing configuration loaded", code="no_routing", field="category")
    return catalog


class ReviewService:
    """queue / claim_next / claim / release / accept / correct / merge / unmerge / reporters / reject."""

    def __init__(
        self, tx: CaseTransaction, catalog: Catalog | None, index: DuplicateIndexSync, *, settings: Settings
    ) -> None:
        self.tx = tx
        self.catalog = catalog
        self.index = index
        self.settings = settings

    # -- the queue --------------------------------------------------------------------------------
    def queue(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        after: q.QueueCursor | str | None = None,
        include_claimed: bool = False,
        **filters: str,
    ) -> list[Case]:
        """A page of the review queue (priority, deadline, lowest confidence). Use ``after`` to page deep."""
        if isinstance(after, str):
            after = q.QueueCursor.decode(after)
        with self.tx.db.session() as session:
            return q.page(
                session,
                self.tx.clock(),
                limit=limit,
                offset=offset,
                after=after,
                include_claimed=include_claimed,
                filters=filters,
            )

    def queue_count(self, *, include_claimed: bool = False) -> int:
        with self.tx.db.session() as session:
            return q.count(session, self.tx.clock(), include_claimed=include_claimed)

    # -- claims ------------------------------------------------------------------------------------
    def claim_next(self, reviewer: str, **filters: str) -> Case | None:
        """Lease the next case in queue order to ``reviewer`` (None when nothing is free)."""
        minutes = self.settings.lease_minutes
        return self.tx.write(
            lambda s: q.claim_next(s, reviewer, self.tx.clock(), minutes=minutes, filters=filters)
        )

    def claim(self, case_no: str, reviewer: str) -> Case:
        """Lease one case (or renew one's own lease); LeaseError if someone else holds it."""
        minutes = self.settings.lease_minutes
        return self.tx.write(
            lambda s: q.claim(s, self.tx.load(s, case_no), reviewer, self.tx.clock(), minutes=minutes)
        )

    def release(self, case_no: str, reviewer: str) -> Case:
        """Give a claimed case back to the queue (a no-op when the reviewer holds no lease on it)."""

        def _do(s: Session, case: Case, now: datetime) -> None:
            if case.lease_owner == reviewer:
                cleared = {"lease_owner": None, "lease_expires_at": None}
                change(s, case, actor=reviewer, action="release", at=now, **cleared)

        return self.tx.on_case(case_no, None, _do, lease_for=reviewer)

    # -- review decisions --------------------------------------------------------------------------
    def _review(self, case_no: str, actor: str, version: int | None, fn: CaseStep) -> Case:
        """Common frame: load + lock, check version and lease, apply ``fn``."""
        return self.tx.on_case(case_no, version, fn, lease_for=actor)

    @staticmethod
    def _dispatch_fields(actor: str, now: datetime, requirement: str | None) -> dict[str, Any]:
        return dict(
            reviewed_by=actor,
            reviewed_at=now,
            dispatched_by=actor,
            dispatched_at=now,
            requirement=clean_text(requirement) or None if requirement else None,
            lease_owner=None,
            lease_expires_at=None,
        )

    def accept(
        self, case_no: str, actor: str, *, requirement: str | None = None, version: int | None = None
    ) -> Case:
        """The suggestion becomes the decision and the case is dispatched (交办) with its deadline."""

        def fn(s: Session, case: Case, now: datetime) -> None:
            if not (case.suggested_category and case.suggested_department_code):
                raise ValidationError(
                    f"case {case.case_no} has no complete suggestion to accept; correct it instead",
                    code="nothing_to_accept",
                    field="category",
                )
            change(
                s,
                case,
                actor=actor,
                action="accept",
                at=now,
                to_status=CaseStatus.DISPATCHED,
                **suggested_decision(case),
                corrected=False,
                **self._dispatch_fields(actor, now, requirement),
            )

        return self._review(case_no, actor, version, fn)

    def correct(
        self,
        case_no: str,
        actor: str,
        *,
        category: str | None = None,
        subcategory: str | None = None,
        department_code: str | None = None,
        level: str | None = None,
        priority: str | None = None,
        requirement: str | None = None,
        note: str | None = None,
        version: int | None = None,
        also: CaseStep | None = None,
    ) -> Case:
        """The reviewer's category/department/level/priority replace the suggestion; the case is dispatched.

        Unknown values raise ValidationError (``unknown_category``, ``unknown_department`` …)
        listing the allowed ones. The differences from the suggestion are recorded in the
        audit event under ``correction``. ``also(session, case, now)`` runs after the change in
        the same transaction (callers that must commit their own rows with the correction).
        """
        cat = require_catalog(self.catalog)
        category = cat.check_category(category) if category else None
        if level:
            cat.check_level(level)
        if priority:
            cat.check_priority(priority)
        dept = cat.department(department_code) if department_code else None

        def fn(s: Session, case: Case, now: datetime) -> None:
            final_cat = category or case.suggested_category
            if not final_cat:
                raise ValidationError("a category is required", code="category_required", field="category")
            final_sub = cat.check_subcategory(final_cat, subcategory) if subcategory else None
            if final_sub is None and final_cat == case.suggested_category and not subcategory:
                final_sub = case.suggested_subcategory
            d_code = dept.code if dept else case.suggested_department_code
            if not d_code:
                raise ValidationError(
                    "a department is required", code="department_required", field="department_code"
                )
            d_name = dept.name if dept else case.suggested_department
            final_level = level or (dept.level if dept and dept.level else case.suggested_level)
            final_priority = priority or case.priority
            decision = dict(
                category=final_cat,
                subcategory=final_sub,
                department_code=d_code,
                department=d_name,
                level=final_level,
                priority=final_priority,
            )
            suggestion = dict(suggested_decision(case), priority=case.suggested_priority)
            correction = {
                k: {"suggested": suggestion[k], "final": v} for k, v in decision.items() if suggestion[k] != v
            }
            fields: dict[str, Any] = dict(decision, priority_rank=PRIORITY_RANK[final_priority])
            if (final_cat, final_sub, final_priority) != (
                case.suggested_category,
                case.suggested_subcategory,
                case.suggested_priority,
            ):
                hours = cat.deadline_hours(final_cat, final_sub, final_priority)
                fields.update(deadline_hours=hours, deadline=case.created_at + timedelta(hours=hours))
            fields.update(corrected=bool(correction), **self._dispatch_fields(actor, now, requirement))
            action = "correct" if correction else "accept"
            change(
                s,
                case,
                actor=actor,
                action=action,
                at=now,
                to_status=CaseStatus.DISPATCHED,
                note=note,
                details={"correction": correction} if correction else None,
                **fields,
            )
            if also is not None:
                also(s, case, now)

        return self._review(case_no, actor, version, fn)

    def merge(
        self, case_no: str, into: str, actor: str, *, version: int | None = None, note: str | None = None
    ) -> Case:
        """Merge a pending case into an existing case (its duplicate): the parent counts one more citizen
        plus any the child had gathered. Merging into a merged case follows it to its root."""

        tx = self.tx

        def _do(s: Session) -> Case:
            now = tx.clock()
            # Lock both rows in a fixed order so two opposite merges cannot deadlock on PostgreSQL.
            locked = {no: tx.load(s, no) for no in sorted({case_no, into})}
            child, parent = locked[case_no], locked[into]
            tx.check_version(child, version)
            tx.check_lease(child, actor, now)
            seen = {child.case_no}
            while parent.status == CaseStatus.MERGED and parent.duplicate_of and parent.case_no not in seen:
                seen.add(parent.case_no)
                parent = tx.load(s, parent.duplicate_of)
            if parent.case_no in seen:
                raise ValidationError(
                    "a case cannot be merged into itself", code="merge_into_self", field="into"
                )
            if parent.status not in OPEN_STATUSES:
                raise ValidationError(
                    f"case {parent.case_no} is {parent.status}; merge into an open case",
                    code="merge_target_closed",
                    field="into",
                )
            change(
                s,
                child,
                actor=actor,
                action="merge",
                at=now,
                to_status=CaseStatus.MERGED,
                note=note,
                duplicate_of=parent.case_no,
                reviewed_by=actor,
                reviewed_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )
            change(
                s,
                parent,
                actor=actor,
                action="absorb",
                at=now,
                note=f"merged {child.case_no}",
                duplicate_count=parent.duplicate_count + 1 + child.duplicate_count,
            )
            return child

        child = tx.write(_do)
        self.index.remove(child.case_no)
        return child

    def unmerge(self, case_no: str, actor: str, reason: str, *, version: int | None = None) -> Case:
        """Undo a merge: the case is pending review again and every case it was counted in counts it
        (and the citizens it had gathered) no more. Audited on the case and on each of those parents.

        An undo, not a lifecycle step (merged is final for everything else), so the status is set
        back explicitly rather than through a transition.
        """
        reason = _reason(reason)
        tx = self.tx

        def _do(s: Session) -> Case:
            now = tx.clock()
            child = tx.load(s, case_no)
            tx.check_version(child, version)
            if child.status != CaseStatus.MERGED or not child.duplicate_of:
                raise ValidationError(
                    f"case {case_no} is {child.status}, not merged", code="not_merged", field="case_no"
                )
            gone = 1 + child.duplicate_count
            chain: list[Case] = []
            seen = {child.case_no}
            parent_no: str | None = child.duplicate_of
            while parent_no and parent_no not in seen:  # the parent, and its root if it was merged since
                seen.add(parent_no)
                parent = tx.load(s, parent_no)
                chain.append(parent)
                parent_no = parent.duplicate_of if parent.status == CaseStatus.MERGED else None
            change(
                s,
                child,
                actor=actor,
                action="unmerge",
                at=now,
                note=reason,
                status=CaseStatus.PENDING_REVIEW.value,
                duplicate_of=None,
                reviewed_by=None,
                reviewed_at=None,
            )
            for parent in chain:
                change(
                    s,
                    parent,
                    actor=actor,
                    action="unabsorb",
                    at=now,
                    note=f"unmerged {child.case_no}: {reason}",
                    duplicate_count=max(0, parent.duplicate_count - gone),
                )
            return child

        child = tx.write(_do)
        self.index.add([child])
        return child

    def reporters(self, case_no: str) -> list[dict[str, str | None]]:
        """Everyone to call back about a case: its reporter and those of every case merged into it."""
        with self.tx.db.session() as s:
            root = self.tx.load(s, case_no, lock=False)
            out: list[dict[str, str | None]] = []
            todo, seen = [root], {root.case_no}
            while todo:
                case = todo.pop(0)
                out.append(
                    {"case_no": case.case_no, "name": case.reporter_name, "contact": case.reporter_contact}
                )
                children = select(Case).where(col(Case.duplicate_of) == case.case_no).order_by(col(Case.id))
                for child in s.exec(children):
                    if child.case_no not in seen and child.status == CaseStatus.MERGED:
                        seen.add(child.case_no)
                        todo.append(child)
            return out

    def reject(self, case_no: str, actor: str, reason: str, *, version: int | None = None) -> Case:
        """Not actionable (spam, out of scope …): rejected with a reason."""
        reason = _reason(reason)

        def fn(s: Session, case: Case, now: datetime) -> None:
            change(
                s,
                case,
                actor=actor,
                action="reject",
                at=now,
                to_status=CaseStatus.REJECTED,
                reject_reason=reason,
                reviewed_by=actor,
                reviewed_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )

        case = self._review(case_no, actor, version, fn)
        self.index.remove(case.case_no)
        return case
