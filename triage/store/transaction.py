"""One write transaction on a case: load (locked), version check, lease check, write.

Every case service writes through :class:`CaseTransaction`, so each operation is one
transaction that is committed before it returns, and the audit event(s) the operation writes
(:func:`triage.store.lifecycle.change`) commit or roll back with it. A row another writer changed
meanwhile (the case's optimistic version counter) becomes :class:`VersionConflictError`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from triage.store import queue as q
from triage.store.db import Database
from triage.store.errors import CaseNotFoundError, LeaseError, VersionConflictError
from triage.store.models import Case, utcnow

T = TypeVar("T")
CaseStep = Callable[[Session, Case, datetime], Any]  # fn(session, locked case, now)

__all__ = ["CaseStep", "CaseTransaction"]


class CaseTransaction:
    """The database and the clock, and the few ways a case service reads and writes cases."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    @staticmethod
    def load(session: Session, case_no: str, *, lock: bool = True) -> Case:
        """The case ``case_no`` in ``session`` (row-locked unless ``lock=False``); CaseNotFoundError."""
        stmt = select(Case).where(col(Case.case_no) == case_no)
        if lock:
            stmt = stmt.with_for_update()
        case = session.exec(stmt).first()
        if case is None:
            raise CaseNotFoundError(case_no)
        return case

    def read(self, case_no: str) -> Case:
        """The committed case, read without a lock in a session of its own."""
        with self.db.session() as session:
            return self.load(session, case_no, lock=False)

    def write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in one write transaction; stale versions become VersionConflictError."""
        try:
            with self.db.session(write=True) as session:
                return fn(session)
        except StaleDataError:
            raise VersionConflictError("the case was changed by someone else; reload it") from None

    def on_case(
        self, case_no: str, version: int | None, fn: CaseStep, *, lease_for: str | None = None
    ) -> Case:
        """One write transaction on the locked case at the expected ``version``: ``fn(session, case, now)``.

        With ``lease_for`` (the acting reviewer) a live lease held by anyone else raises LeaseError.
        """

        def _do(session: Session) -> Case:
            case, now = self.load(session, case_no), self.clock()
            self.check_version(case, version)
            if lease_for is not None:
                self.check_lease(case, lease_for, now)
            fn(session, case, now)
            return case

        return self.write(_do)

    @staticmethod
    def check_version(case: Case, version: int | None) -> None:
        """VersionConflictError unless ``version`` is None or the case's current version."""
        if version is not None and case.version != version:
            raise VersionConflictError(
                f"case {case.case_no} is at version {case.version}, not {version}; reload it", field="version"
            )

    @staticmethod
    def check_lease(case: Case, actor: str, now: datetime) -> None:
        """LeaseError when someone other than ``actor`` holds a live lease on the case."""
        holder = q.current_holder(case, now)
        if holder is not None and holder != actor:
            raise LeaseError(f"case {case.case_no} is held by {holder}", field="case_no")
