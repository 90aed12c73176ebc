"""The case service: every operation the API, the web UI and batch jobs perform on cases.

:class:`CaseService` is a thin facade. It wires the case services — intake
(:mod:`triage.store.submit`), review (:mod:`triage.store.review`), department handling
(:mod:`triage.store.handling`) and re-review (:mod:`triage.store.rereview`) — over one
:class:`~triage.store.transaction.CaseTransaction`, the routing :class:`~triage.store.catalog.Catalog`
and the :class:`~triage.store.dupindex.DuplicateIndexSync`, and delegates to them by name. The
services are also reachable as attributes (``service.review.accept``).

Each write is one database transaction that is committed before it returns (a returned case is
durable), checks the lifecycle, and writes its audit event(s) in that same transaction. Methods
raise :class:`triage.errors.TriageError` subclasses with stable codes (``case_not_found``,
``illegal_transition``, ``lease_held``, ``version_conflict``, ``unknown_category`` …) that the
HTTP layer maps to statuses.

The in-memory duplicate index of the :class:`~triage.pipeline.Triager` is rebuilt from open cases
when the service starts, kept in step on submit, merge, reject and close, and catches up with
other workers' changes before each submit or suggestion (see :mod:`triage.store.dupindex`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from triage.config import Settings, get_settings
from triage.errors import InputError
from triage.result import TriageResult
from triage.store import lists
from triage.store import queue as q
from triage.store.autodispatch import AutoDispatchPolicy
from triage.store.catalog import Catalog
from triage.store.db import Database
from triage.store.dupindex import DuplicateIndexSync
from triage.store.dupindex import index_text as triage_text
from triage.store.handling import HandlingService
from triage.store.models import AuditEvent, Case, Feedback, Source, utcnow
from triage.store.rereview import RereviewService
from triage.store.review import ReviewService, require_catalog
from triage.store.search import CaseFilter, ScopeLike, search_cases
from triage.store.shadow import ShadowRunner
from triage.store.submit import SYSTEM, IdempotentOutcome, SubmitService
from triage.store.transaction import CaseStep, CaseTransaction

__all__ = ["SYSTEM", "CaseService", "IdempotentOutcome", "triage_text"]


class CaseService:
    """Submit, review and hand cases over; see the module docstring for the guarantees."""

    def __init__(
        self,
        db: Database,
        triager: Any = None,
        *,
        router: Any = None,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = utcnow,
        rebuild_index: bool = True,
        index_sync_seconds: float = 1.0,
        shadow: ShadowRunner | None = None,
    ) -> None:
        self.db = db
        self.triager = triager
        self.settings = settings or get_settings()
        self.clock = clock
        # dispatch without review above the live bundle's threshold (TRIAGE_AUTO_DISPATCH)
        self.auto_dispatch = AutoDispatchPolicy.from_triager(triager, enabled=self.settings.auto_dispatch)
        self.shadow = shadow  # a registry candidate suggesting beside the live model, never shown
        router = router if router is not None else getattr(triager, "router", None)
        self._routing = Catalog(router) if router is not None else None
        self.tx = CaseTransaction(db, clock)
        self.index = DuplicateIndexSync(db, triager, self.settings, clock, sync_seconds=index_sync_seconds)
        self.intake = SubmitService(
            self.tx,
            self._routing,
            self.index,
            triager=triager,
            settings=self.settings,
            auto_dispatch=self.auto_dispatch,
            shadow=shadow,
        )
        self.review = ReviewService(self.tx, self._routing, self.index, settings=self.settings)
        self.handling = HandlingService(self.tx, self.index, self.review)
        self.rereview = RereviewService(self.tx, self._routing, self.review)
        if triager is not None and rebuild_index:
            self.index.rebuild()

    # -- routing catalog and duplicate index -------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        """Categories, departments, levels and deadlines of the routing configuration."""
        return require_catalog(self._routing)

    @property
    def has_catalog(self) -> bool:
        return self._routing is not None

    @property
    def index_lock(self) -> threading.RLock:
        """Hold it while reading the duplicate index in bulk (e.g. a batch of suggestions)."""
        return self.index.lock

    @property
    def duplicate_index(self) -> Any:
        return self.index.index

    def rebuild_duplicate_index(self) -> int:
        """Refill the duplicate index from the open cases in the window; returns the count."""
        return self.index.rebuild()

    def sync_duplicate_index(self, *, force: bool = False) -> tuple[int, int]:
        """Catch up with other workers' cases (throttled unless ``force``); returns (added, removed)."""
        return self.index.sync(force=force)

    # -- intake (triage.store.submit) --------------------------------------------------------------
    def submit(
        self,
        text: str | bytes,
        *,
        title: str | None = None,
        source: str = Source.WEB.value,
        reporter_name: str | None = None,
        reporter_contact: str | None = None,
        grid_code: str | None = None,
        community: str | None = None,
        street: str | None = None,
        address: str | None = None,
        possible_duplicate_of: str | None = None,
        actor: str = SYSTEM,
    ) -> Case:
        """Triage ``text`` and store it as a pending case (see :meth:`SubmitService.submit`)."""
        return self.intake.submit(
            text,
            title=title,
            source=source,
            reporter_name=reporter_name,
            reporter_contact=reporter_contact,
            grid_code=grid_code,
            community=community,
            street=street,
            address=address,
            possible_duplicate_of=possible_duplicate_of,
            actor=actor,
        )

    def submit_idempotent(
        self,
        text: str | bytes,
        *,
        idempotency_key: str,
        request_hash: str,
        owner: str,
        render: Callable[[Case], Any],
        status_code: int = 201,
        actor: str = SYSTEM,
        **fields: Any,
    ) -> IdempotentOutcome:
        """:meth:`submit` once per (``owner``, ``idempotency_key``); later calls replay the answer."""
        return self.intake.submit_idempotent(
            text,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            owner=owner,
            render=render,
            status_code=status_code,
            actor=actor,
            **fields,
        )

    def submit_many(
        self, items: Iterable[dict[str, Any]], *, actor: str = SYSTEM, skip_invalid: bool = True
    ) -> list[Case | InputError]:
        """Batch submit (vectorised triage, one transaction). Bad items yield their InputError."""
        return self.intake.submit_many(items, actor=actor, skip_invalid=skip_invalid)

    def suggest(
        self,
        texts: Sequence[str | bytes],
        *,
        skip_invalid: bool = True,
        fields: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[TriageResult | InputError]:
        """Suggestions only (nothing stored), with duplicates among every worker's open cases."""
        return self.intake.suggest(texts, skip_invalid=skip_invalid, fields=fields)

    def location_fields(self, item: dict[str, Any]) -> dict[str, str]:
        """The jurisdiction fields of an unsaved case, street and community filled from its grid."""
        return self.intake.location_fields(item)

    # -- review (triage.store.review) --------------------------------------------------------------
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
        return self.review.queue(
            limit=limit, offset=offset, after=after, include_claimed=include_claimed, **filters
        )

    def queue_count(self, *, include_claimed: bool = False) -> int:
        return self.review.queue_count(include_claimed=include_claimed)

    def claim_next(self, reviewer: str, **filters: str) -> Case | None:
        """Lease the next case in queue order to ``reviewer`` (None when nothing is free)."""
        return self.review.claim_next(reviewer, **filters)

    def claim(self, case_no: str, reviewer: str) -> Case:
        """Lease one case (or renew one's own lease); LeaseError if someone else holds it."""
        return self.review.claim(case_no, reviewer)

    def release(self, case_no: str, reviewer: str) -> Case:
        """Give a claimed case back to the queue."""
        return self.review.release(case_no, reviewer)

    def accept(
        self, case_no: str, actor: str, *, requirement: str | None = None, version: int | None = None
    ) -> Case:
        """The suggestion becomes the decision and the case is dispatched (交办)."""
        return self.review.accept(case_no, actor, requirement=requirement, version=version)

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
        """The reviewer's decision replaces the suggestion; the case is dispatched (see ReviewService)."""
        return self.review.correct(
            case_no,
            actor,
            category=category,
            subcategory=subcategory,
            department_code=department_code,
            level=level,
            priority=priority,
            requirement=requirement,
            note=note,
            version=version,
            also=also,
        )

    def merge(
        self, case_no: str, into: str, actor: str, *, version: int | None = None, note: str | None = None
    ) -> Case:
        """Merge a pending case into an open case (its duplicate), following merged cases to the root."""
        return self.review.merge(case_no, into, actor, version=version, note=note)

    def unmerge(self, case_no: str, actor: str, reason: str, *, version: int | None = None) -> Case:
        """Undo a merge: the case is pending review again and no longer counted in its parents."""
        return self.review.unmerge(case_no, actor, reason, version=version)

    def reporters(self, case_no: str) -> list[dict[str, str | None]]:
        """Everyone to call back about a case: its reporter and those of every case merged into it."""
        return self.review.reporters(case_no)

    def reject(self, case_no: str, actor: str, reason: str, *, version: int | None = None) -> Case:
        """Not actionable (spam, out of scope …): rejected with a reason."""
        return self.review.reject(case_no, actor, reason, version=version)

    # -- handling (triage.store.handling) ----------------------------------------------------------
    def start(self, case_no: str, actor: str, *, version: int | None = None) -> Case:
        """The department starts handling a dispatched case."""
        return self.handling.start(case_no, actor, version=version)

    def resolve(self, case_no: str, actor: str, result: str, *, version: int | None = None) -> Case:
        """办结: the department reports the handling result."""
        return self.handling.resolve(case_no, actor, result, version=version)

    def return_case(self, case_no: str, actor: str, reason: str, *, version: int | None = None) -> Case:
        """The department sends the case back to review."""
        return self.handling.return_case(case_no, actor, reason, version=version)

    def feedback(
        self,
        case_no: str,
        actor: str,
        satisfaction: int,
        comment: str | None = None,
        *,
        version: int | None = None,
    ) -> Case:
        """回访: record the citizen's satisfaction (1–5) and close the resolved case."""
        return self.handling.feedback(case_no, actor, satisfaction, comment, version=version)

    close = feedback

    def reopen(self, case_no: str, actor: str, reason: str, *, version: int | None = None) -> Case:
        """A resolved case goes back to the department (e.g. the citizen is not satisfied)."""
        return self.handling.reopen(case_no, actor, reason, version=version)

    def reveal_contact(self, case_no: str, actor: str, *, reason: str | None = None) -> Case:
        """The case with its reporter's contact for a call back, audited (see HandlingService)."""
        return self.handling.reveal_contact(case_no, actor, reason=reason)

    def transition(self, case_no: str, to_status: str, actor: str, **details: Any) -> Case:
        """Move a case to ``to_status`` by the matching operation (see :meth:`HandlingService.transition`)."""
        return self.handling.transition(case_no, to_status, actor, **details)

    def overdue(
        self,
        *,
        now: datetime | None = None,
        department_code: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Case]:
        """Open cases past their deadline, most overdue first."""
        return self.handling.overdue(now=now, department_code=department_code, limit=limit, offset=offset)

    def overdue_count(self, *, now: datetime | None = None) -> int:
        return self.handling.overdue_count(now=now)

    def feedbacks(self, case_no: str) -> list[Feedback]:
        return self.handling.feedbacks(case_no)

    # -- reading -----------------------------------------------------------------------------------
    def get(self, case_no: str) -> Case:
        return self.tx.read(case_no)

    def search(
        self, f: CaseFilter | None = None, scope: ScopeLike | None = None, *, now: datetime | None = None
    ) -> list[Case]:
        """Cases matching ``f`` inside the caller's ``scope`` (department, grids, own submits)."""
        return search_cases(self.db, f or CaseFilter(), scope, now or self.clock())

    @staticmethod
    def submitted_by(case: Case) -> str | None:
        """Who submitted ``case`` (the grid worker's "cases I submitted")."""
        return case.submitted_by

    def audit_trail(self, case_no: str) -> list[AuditEvent]:
        with self.db.session() as session:
            case = self.tx.load(session, case_no, lock=False)
            stmt = select(AuditEvent).where(col(AuditEvent.case_id) == case.id).order_by(col(AuditEvent.id))
            return list(session.exec(stmt))

    def problem_list(self, **filters: Any) -> list[dict[str, Any]]:
        """问题清单 (see :mod:`triage.store.lists`); filters: grid_code, community, street,
        department_code, date_from, date_to, limit, offset."""
        with self.db.session() as session:
            return lists.problem_list(session, lists.ListFilter(**filters))

    def assignment_list(self, **filters: Any) -> list[dict[str, Any]]:
        """交办清单, with an ``overdue`` flag per row."""
        with self.db.session() as session:
            return lists.assignment_list(session, lists.ListFilter(**filters), now=self.clock())

    def completion_list(self, **filters: Any) -> list[dict[str, Any]]:
        """办结清单, with result, ``on_time`` and the latest feedback."""
        with self.db.session() as session:
            return lists.completion_list(session, lists.ListFilter(**filters))
