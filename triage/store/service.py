"""The case service: every operation the API, the web UI and batch jobs perform on cases.

Each public method is one database transaction that is committed before it returns
(a returned case is durable), checks the lifecycle, and writes its audit event(s) in
that same transaction. Methods raise :class:`triage.errors.TriageError` subclasses with
stable codes (``case_not_found``, ``illegal_transition``, ``lease_held``,
``version_conflict``, ``unknown_category`` …) that the HTTP layer maps to statuses.

The in-memory duplicate index of the :class:`~triage.pipeline.Triager` is rebuilt from
open cases when the service starts and kept in step on submit, merge, reject and close.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from triage.config import Settings, get_settings
from triage.errors import InputError
from triage.intake import mask_pii, normalize_text, prepare_text
from triage.result import TriageResult
from triage.store import lists
from triage.store import queue as q
from triage.store.catalog import DEFAULT_DEADLINE_HOURS, Catalog
from triage.store.db import Database
from triage.store.errors import (
    CaseNotFoundError,
    LeaseError,
    ValidationError,
    VersionConflictError,
    unknown_value,
)
from triage.store.handling import HandlingMixin
from triage.store.lifecycle import OPEN_STATUSES, record
from triage.store.models import PRIORITY_RANK, AuditEvent, Case, CaseStatus, Source, utcnow
from triage.store.numbers import allocate
from triage.store.review import ReviewMixin

SYSTEM = "system"
_LIMITED = ("reporter_name", "reporter_contact", "grid_code", "community", "street", "address")


def _plain(value: Any) -> Any:
    """Dataclasses (CategoryScore, RouteOption …) → JSON-ready dicts."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def triage_text(title: str | None, text: str) -> str:
    """What the engine sees (and the training export writes): title, then body."""
    return f"{title}\n{text}" if title else text


class CaseService(ReviewMixin, HandlingMixin):
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
    ) -> None:
        self.db = db
        self.triager = triager
        self.settings = settings or get_settings()
        self.clock = clock
        router = router if router is not None else getattr(triager, "router", None)
        self.catalog = Catalog(router) if router is not None else None
        self._lock = threading.RLock()  # orders index rebuilds against incremental updates
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

    def _catalog(self) -> Catalog:
        if self.catalog is None:
            raise ValidationError("no routing configuration loaded", code="no_routing", field="category")
        return self.catalog

    # -- duplicate index ----------------------------------------------------------------------
    @property
    def duplicate_index(self) -> Any:
        return self.triager.duplicate_index if self.triager is not None else None

    def rebuild_duplicate_index(self) -> int:
        """Fill a fresh index with the open cases inside the duplicate window; returns the count."""
        if self.triager is None:
            return 0
        stage = self.triager.get_stage("duplicates")
        since = self.clock() - timedelta(days=self.settings.duplicate_window_days)
        with self.db.session() as session:
            rows = session.exec(
                select(Case.case_no, Case.title, Case.text, Case.created_at)
                .where(Case.status.in_([str(s) for s in OPEN_STATUSES]), Case.created_at >= since)
                .order_by(Case.id)
            ).all()
        items = [(no, triage_text(title, text), at) for no, title, text, at in rows]
        with self._lock:
            index = stage.index
            if hasattr(index, "clear"):
                index.clear()
            else:
                index = stage.index = type(index)(
                    threshold=self.settings.duplicate_threshold,
                    window_days=self.settings.duplicate_window_days,
                )
            index.add_many(items)
        return len(rows)

    def _index_add(self, cases: Sequence[Case]) -> None:
        if self.triager is None or not cases:
            return
        with self._lock:
            self.duplicate_index.add_many(
                [(c.case_no, triage_text(c.title, c.text), c.created_at) for c in cases]
            )

    def _index_remove(self, case_no: str) -> None:
        if self.triager is None:
            return
        with self._lock:
            self.duplicate_index.remove(case_no)

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
        actor: str = SYSTEM,
    ) -> Case:
        """Triage ``text`` and store it as a pending case; the case is committed when this returns.

        The returned case carries the suggestion (``suggested_*``, ``confidence``, ``top_k`` …)
        and the duplicate candidates found among open cases (``duplicate_candidates``).
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
        )
        out = self.submit_many([item], actor=actor, skip_invalid=False)
        return out[0]  # type: ignore[return-value]

    def submit_many(
        self, items: Iterable[dict[str, Any]], *, actor: str = SYSTEM, skip_invalid: bool = True
    ) -> list[Case | InputError]:
        """Batch submit (vectorised triage, one transaction). Bad items yield their InputError."""
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
        results = self.triager.triage_many([triage_text(p["title"], p["text"]) for p in valid])
        now = self.clock()
        cases = [self._new_case(p, r, now) for p, r in zip(valid, results, strict=True)]  # type: ignore[arg-type]

        def _store(session: Session) -> None:
            for case, number in zip(cases, allocate(session, now, len(cases)), strict=True):
                case.case_no = number
                session.add(case)
            session.flush()
            for case in cases:
                after = {
                    k: case.__dict__.get(k) for k in ("status", "source", "suggested_category", "priority")
                }
                record(session, case, actor=actor, action="submit", at=now, after=after)

        if cases:
            self._write(_store)
            self._index_add(cases)
        it = iter(cases)
        return [next(it) if isinstance(p, dict) else p for p in prepared]

    def _prepare(self, item: dict[str, Any], field: str) -> dict[str, Any]:
        source = str(item.get("source") or Source.WEB.value)
        if source not in {s.value for s in Source}:
            raise unknown_value("source", source, [s.value for s in Source], code="unknown_source")
        title = normalize_text(item.get("title") or "")[:200] or None
        text = prepare_text(item.get("text"), field=field, max_chars=self.settings.max_text_chars)
        out = {k: (normalize_text(str(v)) or None) if v is not None else None for k, v in item.items()}
        out.update(text=text, title=title, source=source)
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
            self.catalog.deadline_hours(r.category, r.subcategory, r.priority) if self.catalog else 0
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
            created_at=now,
            updated_at=now,
            status=CaseStatus.PENDING_REVIEW.value,
            priority=priority,
            priority_rank=PRIORITY_RANK[priority],
            deadline_hours=hours,
            deadline=now + timedelta(hours=hours),
            duplicate_candidates=[
                {"case_no": d.case_id, "score": round(float(d.score), 4)} for d in r.duplicates
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
            needs_review=bool(r.needs_review),
            top_k=_plain(r.top_k),
            explanation=list(r.explanation),
            route_reason=_plain(r.route_reason),
            route_alternatives=_plain(r.route_alternatives),
            version=1,
        )

    # -- reading -----------------------------------------------------------------------------------
    def get(self, case_no: str) -> Case:
        with self.db.session() as session:
            return self._load(session, case_no, lock=False)

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
