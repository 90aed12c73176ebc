"""The service's in-memory duplicate index: rebuilt from open cases, kept in step across workers.

Each API worker process holds its own index. Its own submits, merges, rejections and closes
update it directly; what *other* workers did is pulled in by :meth:`DuplicateIndexSync.sync`
before every submit and suggestion, at most once per ``sync_seconds``. The catch-up
reads cases and audit events past the last ids seen (primary-key range scans), plus a short
look-back by time (indexed ``created_at``/``at``) so a transaction that committed after a
higher id was already read is not missed on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from triage.config import Settings
from triage.store.db import Database
from triage.store.lifecycle import OPEN_STATUSES
from triage.store.models import AuditEvent, Case, Grid
from triage.text.intake import normalize_text

SYNC_LOOKBACK = timedelta(seconds=10)  # longer than a submit transaction takes to commit
_OPEN = [str(s) for s in OPEN_STATUSES]


_MATTER_COLUMNS = tuple(
    col(c) for c in (Case.category, Case.suggested_category, Case.address, Case.community, Case.street)
)
_TEXT_COLUMNS = (col(Case.case_no), col(Case.title), col(Case.text), col(Case.created_at))


def matter_meta(case: Any) -> dict[str, Any]:
    """What the same-matter index reads besides the text: the category and the address fields."""
    fields = [v for v in (case.address, case.community, case.street) if v]
    return {"category": case.category or case.suggested_category, "fields": fields}


def index_text(title: str | None, text: str) -> str:
    """What the engine sees (and the training export writes): title, then body."""
    return f"{title}\n{text}" if title else text


def model_text(title: str | None, text: str) -> str:
    """The model's copy of a stored case: title and text each normalised, then joined — what the
    store itself held before it kept the typed text, so the engine reads exactly what it read."""
    return index_text(normalize_text(title or "") or None, normalize_text(text))


class DuplicateIndexSync:
    """Keeps a triager's in-memory duplicate index in step with the open cases in the database.

    ``triager`` None (a service that only reads and reviews) makes every method a no-op.
    """

    def __init__(
        self,
        db: Database,
        triager: Any,
        settings: Settings,
        clock: Callable[[], datetime],
        *,
        sync_seconds: float = 1.0,
    ) -> None:
        self.db = db
        self.triager = triager
        self.settings = settings
        self.clock = clock
        self.sync_seconds = sync_seconds
        self._lock = threading.RLock()  # orders index rebuilds and syncs against incremental updates
        self._sync_lock = threading.Lock()  # one catch-up at a time; others skip it
        self._seen_case_id = 0
        self._seen_audit_id = 0
        self._next_sync = 0.0

    @property
    def lock(self) -> threading.RLock:
        """Hold it while reading the duplicate index in bulk (e.g. a batch of suggestions)."""
        return self._lock

    @property
    def index(self) -> Any:
        return self.triager.duplicate_index if self.triager is not None else None

    def _window_start(self) -> datetime:
        return self.clock() - timedelta(days=self.settings.duplicate_window_days)

    @staticmethod
    def _max_ids(session: Session) -> tuple[int, int]:
        case_id = session.exec(select(sa.func.max(col(Case.id)))).one()
        audit_id = session.exec(select(sa.func.max(col(AuditEvent.id)))).one()
        return int(case_id or 0), int(audit_id or 0)

    def rebuild(self) -> int:
        """Fill a fresh index with the open cases inside the duplicate window; returns the count."""
        if self.triager is None:
            return 0
        stage = self.triager.get_stage("duplicates")
        with self._lock:
            with self.db.session() as session:
                seen = self._max_ids(session)
                rows = session.execute(
                    sa.select(*_TEXT_COLUMNS, *_MATTER_COLUMNS)
                    .where(col(Case.status).in_(_OPEN), col(Case.created_at) >= self._window_start())
                    .order_by(col(Case.id))
                ).all()
                grids = sa.select(col(Grid.name), col(Grid.community), col(Grid.street))
                places = session.execute(grids).all()
            items = [(r.case_no, model_text(r.title, r.text), r.created_at, matter_meta(r)) for r in rows]
            extractor = getattr(stage.index, "extractor", None)
            if extractor is not None:  # the grid registry is the city's gazetteer
                extractor.set_gazetteer({name for row in places for name in row if name})
            index = stage.index
            if hasattr(index, "clear"):
                index.clear()
            else:
                index = stage.index = type(index)(
                    threshold=self.settings.duplicate_threshold,
                    window_days=self.settings.duplicate_window_days,
                )
            index.add_many(items)
            self._seen_case_id, self._seen_audit_id = seen
            self._next_sync = time.monotonic() + self.sync_seconds
        return len(rows)

    def sync(self, *, force: bool = False) -> tuple[int, int]:
        """Add cases other workers opened and drop those they merged, rejected or closed.

        Throttled to once per ``sync_seconds`` unless ``force``; returns (added, removed).
        """
        if self.triager is None or (not force and time.monotonic() < self._next_sync):
            return 0, 0
        if not self._sync_lock.acquire(blocking=False):
            return 0, 0  # another thread is catching up right now
        try:
            self._next_sync = time.monotonic() + self.sync_seconds
            since = self.clock() - SYNC_LOOKBACK
            with self.db.session() as session:
                seen = self._max_ids(session)
                changed = session.exec(
                    select(col(AuditEvent.case_id))
                    .where(sa.or_(col(AuditEvent.id) > self._seen_audit_id, col(AuditEvent.at) >= since))
                    .distinct()
                ).all()
                ids = sorted({i for i in changed if i is not None})
                touched = sa.or_(
                    col(Case.id) > self._seen_case_id, col(Case.created_at) >= since, col(Case.id).in_(ids)
                )
                rows = session.execute(
                    sa.select(*_TEXT_COLUMNS, col(Case.status), *_MATTER_COLUMNS).where(touched)
                ).all()
            return self._apply_sync(rows, seen)
        finally:
            self._sync_lock.release()

    def _apply_sync(self, rows: Sequence[Any], seen: tuple[int, int]) -> tuple[int, int]:
        window = self._window_start()
        with self._lock:
            index = self.index
            keep = [r for r in rows if r.status in _OPEN and r.created_at >= window]
            kept = {r.case_no for r in keep}
            new = [r for r in keep if r.case_no not in index]
            add = [(r.case_no, model_text(r.title, r.text), r.created_at, matter_meta(r)) for r in new]
            drop = [r.case_no for r in rows if r.case_no not in kept and r.case_no in index]
            if add:
                index.add_many(add)
            for case_no in drop:
                index.remove(case_no)
            self._seen_case_id = max(self._seen_case_id, seen[0])
            self._seen_audit_id = max(self._seen_audit_id, seen[1])
        return len(add), len(drop)

    def add(self, cases: Sequence[Case]) -> None:
        """Index cases this worker just opened (or re-opened by an un-merge)."""
        if self.triager is None or not cases:
            return
        with self._lock:
            self.index.add_many(
                [(c.case_no, model_text(c.title, c.text), c.created_at, matter_meta(c)) for c in cases]
            )

    def remove(self, case_no: str) -> None:
        """Drop a case this worker merged, rejected or closed."""
        if self.triager is None:
            return
        with self._lock:
            self.index.remove(case_no)
