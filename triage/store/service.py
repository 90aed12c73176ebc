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
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from triage.config import Settings, get_settings
from triage.store import ledgers, lists
from triage.store.autodispatch import AutoDispatchPolicy
from triage.store.catalog import Catalog
from triage.store.db import Database
from triage.store.disputes import DisputeService
from triage.store.dupindex import DuplicateIndexSync
from triage.store.dupindex import index_text as triage_text
from triage.store.followup import FollowUpService
from triage.store.handling import HandlingService
from triage.store.models import AuditEvent, Case, utcnow
from triage.store.proposals import ProposalService
from triage.store.rereview import RereviewService
from triage.store.review import ReviewService, require_catalog
from triage.store.search import CaseFilter, ScopeLike, search_cases
from triage.store.shadow import ShadowRunner
from triage.store.submit import SYSTEM, IdempotentOutcome, SubmitService
from triage.store.supervision import SupervisionService
from triage.store.transaction import CaseTransaction

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
        self.supervision = SupervisionService(self.tx, self._routing, self.settings)  # 督办, 吹哨报到
        self.followups = FollowUpService(self.tx, self.index, self.handling, self.settings)  # 回访
        self.proposals = ProposalService(db, clock, self._routing, self.settings)  # 代表建议
        self.disputes = DisputeService(db, clock)  # 矛盾纠纷
        self._delegate()
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

    def _delegate(self) -> None:
        """Each operation is the owning service's own bound method: its signature and docstring are
        defined once, there (intake: :mod:`triage.store.submit`, review: :mod:`triage.store.review`,
        handling: :mod:`triage.store.handling`)."""
        intake, review, handling = self.intake, self.review, self.handling
        self.submit = intake.submit
        self.submit_idempotent = intake.submit_idempotent
        self.submit_many = intake.submit_many
        self.suggest = intake.suggest
        self.location_fields = intake.location_fields
        self.queue = review.queue
        self.queue_count = review.queue_count
        self.claim_next = review.claim_next
        self.claim = review.claim
        self.release = review.release
        self.accept = review.accept
        self.correct = review.correct
        self.merge = review.merge
        self.unmerge = review.unmerge
        self.reporters = review.reporters
        self.reject = review.reject
        self.start = handling.start
        self.resolve = handling.resolve
        self.return_case = handling.return_case
        self.feedback = self.close = handling.feedback  # 回访 closes the case
        self.reopen = handling.reopen
        self.reveal_contact = handling.reveal_contact
        self.transition = handling.transition
        self.overdue = handling.overdue
        self.overdue_count = handling.overdue_count
        self.feedbacks = handling.feedbacks

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

    def ledger(self, kind: str, f: ledgers.LedgerFilter | None = None) -> Any:
        """One 台账 (:mod:`triage.store.ledgers`): requests, disputes, deputies or departments."""
        f = f or ledgers.LedgerFilter()
        with self.db.session() as session:
            if kind == "requests":
                return ledgers.requests_ledger(session, f)
            if kind == "disputes":
                return ledgers.disputes_ledger(session, f)
            if kind == "deputies":
                return ledgers.deputy_ledger(session, f)
            if kind == "departments":
                return ledgers.department_ledger(session, f, now=self.clock())
        raise ValueError(f"unknown ledger {kind!r}; known: {', '.join(ledgers.LEDGERS)}")

    def ledger_headline(self, f: ledgers.LedgerFilter | None = None) -> dict[str, Any]:
        with self.db.session() as session:
            return ledgers.headline(session, f or ledgers.LedgerFilter())

    def assignment_list(self, **filters: Any) -> list[dict[str, Any]]:
        """交办清单, with an ``overdue`` flag per row."""
        with self.db.session() as session:
            return lists.assignment_list(session, lists.ListFilter(**filters), now=self.clock())

    def completion_list(self, **filters: Any) -> list[dict[str, Any]]:
        """办结清单, with result, ``on_time`` and the latest feedback."""
        with self.db.session() as session:
            return lists.completion_list(session, lists.ListFilter(**filters))
