"""The case service: every operation the API, the web UI and batch jobs perform on cases.

Each public method is one database transaction that is committed before it returns
(a returned case is durable), checks the lifecycle, and writes its audit event(s) in
that same transaction. Methods raise :class:`triage.errors.TriageError` subclasses with
stable codes (``case_not_found``, ``illegal_transition``, ``lease_held``,
``version_conflict``, ``unknown_category`` …) that the HTTP layer maps to statuses.

The in-memory duplicate index of the :class:`~triage.pipeline.Triager` is rebuilt from
open cases when the service starts, kept in step on submit, merge, reject and close, and
catches up with other workers' changes before each submit or suggestion (see
:mod:`triage.store.dupindex`).

``submit_idempotent`` stores the Idempotency-Key record in the case's own transaction, so a
crash between "case stored" and "response remembered" cannot happen and a retry never
creates a second case, whichever process it reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from triage.classify.department import CASE_FIELDS
from triage.classify.dispatch import department_confidence
from triage.config import Settings, get_settings
from triage.errors import InputError
from triage.result import TriageResult, plain
from triage.store import lists
from triage.store import queue as q
from triage.store.autodispatch import AutoDispatchPolicy
from triage.store.catalog import DEFAULT_DEADLINE_HOURS, Catalog
from triage.store.db import Database
from triage.store.dupindex import IndexMixin, model_text
from triage.store.dupindex import index_text as triage_text
from triage.store.errors import (
    CaseNotFoundError,
    LeaseError,
    ValidationError,
    VersionConflictError,
    unknown_value,
)
from triage.store.handling import HandlingMixin
from triage.store.lifecycle import record
from triage.store.models import PRIORITY_RANK, AuditEvent, Case, CaseStatus, Source, utcnow
from triage.store.numbers import allocate
from triage.store.registry import claim_idempotency_key, idempotent_get, store_idempotent_response
from triage.store.review import ReviewMixin
from triage.store.search import CaseFilter, ScopeLike, search_cases
from triage.store.shadow import ShadowRunner
from triage.text.intake import accept_text, clean_text, mask_pii, normalize_text

SYSTEM = "system"
_LIMITED = ("title", "reporter_name", "reporter_contact", "grid_code", "community", "street", "address")
_IDENTIFIERS = ("grid_code", "possible_duplicate_of")  # codes, not words: NFKC makes "Ｇ００１" match


__all__ = ["CaseService", "IdempotentOutcome", "triage_text"]


def _field_value(name: str, value: Any) -> str | None:
    if value is None:
        return None
    return (normalize_text if name in _IDENTIFIERS else clean_text)(str(value)) or None


@dataclass(slots=True)
class IdempotentOutcome:
    """What a keyed submit answers: the stored response, and whether it is a replay."""

    status_code: int
    response: Any
    replayed: bool
    case: Case | None = None  # the case created by this call (None on a replay)


class _KeyTaken(Exception):
    """Another request stored the same Idempotency-Key first (rolls our transaction back)."""


class CaseService(IndexMixin, ReviewMixin, HandlingMixin):
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
        self._init_index_state(index_sync_seconds)
        if triager is not None and rebuild_index:
            self.rebuild_duplicate_index()

    # -- helpers ------------------------------------------------------------------------------
    def _load(self, session: Session, case_no: str, *, lock: bool = True) -> Case:
        stmt = select(Case).where(Case.case_no == case_no)
        if lock:
            stmt = stmt.with_for_update()
        case = session.exec(stmt).first()
        if case is None:
            raise CaseNotFoundError(case_no)
        return case

    def _write(self, fn: Callable[[Session], Any]) -> Any:
        """Run ``fn`` in one write transaction; stale versions become VersionConflictError."""
        try:
            with self.db.session(write=True) as session:
                return fn(session)
        except StaleDataError:
            raise VersionConflictError("the case was changed by someone else; reload it") from None

    def _on_case(
        self, case_no: str, version: int | None, fn: Callable[[Session, Case, datetime], Any]
    ) -> Case:
        """One write transaction on the locked case at the expected version: ``fn(session, case, now)``."""

        def _do(s: Session) -> Case:
            case, now = self._load(s, case_no), self.clock()
            self._check_version(case, version)
            fn(s, case, now)
            return case

        return self._write(_do)

    @staticmethod
    def _check_version(case: Case, version: int | None) -> None:
        if version is not None and case.version != version:
            raise VersionConflictError(
                f"case {case.case_no} is at version {case.version}, not {version}; reload it", field="version"
            )

    def _check_lease(self, case: Case, actor: str, now: datetime) -> None:
        holder = q.current_holder(case, now)
        if holder is not None and holder != actor:
            raise LeaseError(f"case {case.case_no} is held by {holder}", field="case_no")

    @property
    def catalog(self) -> Catalog:
        """Categories, departments, levels and deadlines of the routing configuration."""
        if self._routing is None:
            raise ValidationError("no routing configuration loaded", code="no_routing", field="category")
        return self._routing

    @property
    def has_catalog(self) -> bool:
        return self._routing is not None

    def _catalog(self) -> Catalog:  # kept for callers not yet moved to ``catalog``
        return self.catalog

    # -- intake ----------------------------------------------------------------------------------
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
        """Triage ``text`` and store it as a pending case; the case is committed when this returns.

        The returned case carries the suggestion (``suggested_*``, ``confidence``, ``top_k`` …)
        and the duplicate candidates found among open cases (``duplicate_candidates``).
        ``possible_duplicate_of`` is the submitter's "this duplicates case …" for the reviewer
        (the caller checks that the submitter may see that case).
        """
        item = dict(
            text=text,
            title=title,
            source=source,
            reporter_name=reporter_name,
            reporter_contact=reporter_contact,
            grid_code=grid_code,
            community=community,
            street=street,
            address=address,
            possible_duplicate_of=possible_duplicate_of,
        )
        out = self.submit_many([item], actor=actor, skip_invalid=False)
        return out[0]  # type: ignore[return-value]

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
        """:meth:`submit` once per (``owner``, ``idempotency_key``); later calls replay the answer.

        ``render(case)`` builds the response body inside the case's transaction, and the key,
        ``request_hash`` and that body are committed together with the case. A concurrent or
        later retry gets the stored body (``replayed``); the same key with a different
        ``request_hash`` raises ``idempotency_key_reused``.
        """
        key = f"{owner}:{idempotency_key}"
        row = idempotent_get(self.db, key, request_hash)
        if row is not None:
            return IdempotentOutcome(row.status_code, row.response, replayed=True)
        _, cases = self._triage_items([dict(fields, text=text)], skip_invalid=False)
        case, now = cases[0], cases[0].created_at
        out: dict[str, Any] = {}

        def _store(session: Session) -> None:
            if not claim_idempotency_key(session, key, request_hash, now):
                raise _KeyTaken
            self._store_cases(session, cases, actor, now)
            out["body"] = render(case)
            store_idempotent_response(session, key, out["body"], status_code=status_code)

        try:
            self._write(_store)
        except _KeyTaken:
            row = idempotent_get(self.db, key, request_hash)
            assert row is not None  # committed by the request that beat us
            return IdempotentOutcome(row.status_code, row.response, replayed=True)
        self._index_add(cases)
        if self.shadow is not None:
            self.shadow.record(cases)
        return IdempotentOutcome(status_code, out["body"], replayed=False, case=case)

    def submit_many(
        self, items: Iterable[dict[str, Any]], *, actor: str = SYSTEM, skip_invalid: bool = True
    ) -> list[Case | InputError]:
        """Batch submit (vectorised triage, one transaction). Bad items yield their InputError."""
        prepared, cases = self._triage_items(items, skip_invalid=skip_invalid)
        if cases:
            self._write(lambda session: self._store_cases(session, cases, actor, cases[0].created_at))
            self._index_add(cases)
            if self.shadow is not None:
                self.shadow.record(cases)
        it = iter(cases)
        return [next(it) if isinstance(p, dict) else p for p in prepared]

    def _triage_items(
        self, items: Iterable[dict[str, Any]], *, skip_invalid: bool
    ) -> tuple[list[dict[str, Any] | InputError], list[Case]]:
        """Validate and triage (outside any transaction); the new cases have no number yet."""
        if self.triager is None:
            raise ValidationError(
                "the service has no triager; cannot submit", code="no_triager", field="text"
            )
        prepared: list[dict[str, Any] | InputError] = []
        for i, item in enumerate(items):
            try:
                prepared.append(self._prepare(item, f"items[{i}]" if skip_invalid else "text"))
            except InputError as exc:
                if not skip_invalid:
                    raise
                prepared.append(exc)
        valid = [p for p in prepared if isinstance(p, dict)]
        if valid:
            self.sync_duplicate_index()  # see other workers' new cases as duplicate candidates
        limit = self.triager.max_text_chars  # title + text may pass it: the model reads the start
        results = self.triager.triage_many(
            [model_text(p["title"], p["text"])[:limit] for p in valid],
            fields=[{k: p.get(k) for k in CASE_FIELDS} for p in valid],  # jurisdiction for routing
        )
        now = self.clock()
        cases = [self._new_case(p, r, now) for p, r in zip(valid, results, strict=True)]  # type: ignore[arg-type]
        return prepared, cases

    def _store_cases(self, session: Session, cases: list[Case], actor: str, now: datetime) -> None:
        for case, number in zip(cases, allocate(session, now, len(cases)), strict=True):
            case.case_no = number
            case.submitted_by = actor
            session.add(case)
        session.flush()
        for case in cases:
            after = {k: case.__dict__.get(k) for k in ("status", "source", "suggested_category", "priority")}
            record(session, case, actor=actor, action="submit", at=now, after=after)
            self.auto_dispatch.apply(session, case, now)  # audited; a no-op unless enabled and confident

    def _prepare(self, item: dict[str, Any], field: str) -> dict[str, Any]:
        source = str(item.get("source") or Source.WEB.value)
        if source not in {s.value for s in Source}:
            raise unknown_value("source", source, [s.value for s in Source], code="unknown_source")
        # Stored as typed (line breaks and control characters cleaned); the model normalises a copy.
        text = accept_text(item.get("text"), field=field, max_chars=self.settings.max_text_chars)
        out = {k: _field_value(k, v) for k, v in item.items()}
        out.update(text=text, source=source)
        out.setdefault("title", None)
        for name in _LIMITED:
            value, limit = out.get(name), Case.__table__.c[name].type.length
            if value and len(value) > limit:
                raise ValidationError(
                    f"{name} is too long ({len(value)} characters; the limit is {limit})",
                    code="too_long",
                    field=name,
                )
        if out.get("grid_code") and not (out.get("community") and out.get("street")):
            out.update(self._grid_location(out["grid_code"], out))
        return out

    def location_fields(self, item: dict[str, Any]) -> dict[str, str]:
        """The jurisdiction fields the engine reads (district, street, community, address) of an
        unsaved case, street and community filled from its ``grid_code`` as at submit."""
        out = {k: str(v).strip() for k in CASE_FIELDS if (v := item.get(k)) and str(v).strip()}
        if item.get("grid_code") and not (out.get("community") and out.get("street")):
            out.update(self._grid_location(str(item["grid_code"]), out))
        return {k: v for k, v in out.items() if v}

    def _grid_location(self, grid_code: str, item: dict[str, Any]) -> dict[str, Any]:
        from triage.store.models import Grid

        with self.db.session() as session:
            grid = session.get(Grid, grid_code)
        if grid is None:
            return {}
        return {
            "community": item.get("community") or grid.community,
            "street": item.get("street") or grid.street,
        }

    def _new_case(self, item: dict[str, Any], r: TriageResult, now: datetime) -> Case:
        hours = r.deadline_hours or (
            self._routing.deadline_hours(r.category, r.subcategory, r.priority) if self._routing else 0
        )
        hours = hours or DEFAULT_DEADLINE_HOURS
        priority = r.priority if r.priority in PRIORITY_RANK else "normal"
        return Case(
            case_no="",
            title=item["title"],
            text=item["text"],
            text_masked=mask_pii(item["text"]),
            source=item["source"],
            reporter_name=item.get("reporter_name"),
            reporter_contact=item.get("reporter_contact"),
            grid_code=item.get("grid_code"),
            community=item.get("community"),
            street=item.get("street"),
            address=item.get("address"),
            possible_duplicate_of=item.get("possible_duplicate_of"),
            created_at=now,
            updated_at=now,
            status=CaseStatus.PENDING_REVIEW.value,
            priority=priority,
            priority_rank=PRIORITY_RANK[priority],
            deadline_hours=hours,
            deadline=now + timedelta(hours=hours),
            duplicate_candidates=[
                {"case_no": d.case_id, "score": round(float(d.score), 4), "reason": d.reason}
                for d in r.duplicates
            ],
            suggested_category=r.category or None,
            suggested_subcategory=r.subcategory,
            suggested_department_code=r.department_code or None,
            suggested_department=r.department or None,
            suggested_level=r.level or None,
            suggested_priority=priority,
            suggested_deadline_hours=hours,
            model_category=r.model_category or None,
            model_version=r.model_version or None,
            confidence=float(r.confidence),
            department_confidence=department_confidence(r),
            needs_review=bool(r.needs_review),
            top_k=plain(r.top_k),
            explanation=list(r.explanation),
            route_reason=plain(r.route_reason),
            route_alternatives=plain(r.route_alternatives),
            version=1,
        )

    # -- reading -----------------------------------------------------------------------------------
    def get(self, case_no: str) -> Case:
        with self.db.session() as session:
            return self._load(session, case_no, lock=False)

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
            case = self._load(session, case_no, lock=False)
            return list(
                session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id))
            )

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
