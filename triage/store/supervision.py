"""Deputies' tools on a case: 督办 (supervision with a requirement and a due date) and 吹哨报到
(escalation one level up or to a named department, which must then report in).

Each method is one committed transaction through :class:`~triage.store.transaction.CaseTransaction`
with its audit event (``supervise``, ``escalate``, ``report_in``), so the chain of levels and who
escalated is in the audit log as well as in the ``escalations`` rows the case page shows. Who may
call what, and on which cases, is the caller's business (``api.access``): this module checks the
case and the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from triage.config import NOTE_MAX_CHARS, Settings
from triage.route.config import LEVELS
from triage.store.catalog import DEFAULT_DEADLINE_HOURS, Catalog, DepartmentInfo
from triage.store.errors import CaseStateError, ValidationError, unknown_value
from triage.store.lifecycle import ACTIVE_STATUSES, change, is_active, record
from triage.store.models import Case, CaseStatus, Escalation, Supervision
from triage.store.models.base import as_utc
from triage.store.models.notifications import AlertKind
from triage.store.notifications import raise_alert
from triage.store.review import require_catalog
from triage.store.search import ScopeLike, scope_conditions
from triage.store.transaction import CaseTransaction
from triage.text.intake import clean_text

__all__ = [
    "SupervisionService",
    "SupervisionRow",
    "SupervisionState",
    "SupervisionThread",
    "supervision_state",
]

SupervisionState = Literal["open", "met", "overdue"]
SUPERVISION_STATES: tuple[str, ...] = ("open", "met", "overdue")


def _note(value: str | None, field: str) -> str:
    text = clean_text(value or "")
    if not text:
        raise ValidationError(f"{field} is required", code=f"{field}_required", field=field)
    if len(text) > NOTE_MAX_CHARS:
        raise ValidationError(
            f"{field} is {len(text)} characters; at most {NOTE_MAX_CHARS}", code="too_long", field=field
        )
    return text


def supervision_state(sup: Supervision, case: Case, now: datetime) -> SupervisionState:
    """``met`` when the case was 办结 by the due date, ``overdue`` once the due date passed without it."""
    resolved = as_utc(case.resolved_at) if case.resolved_at else None
    due = as_utc(sup.due)
    if resolved is not None and resolved <= due:
        return "met"
    return "overdue" if as_utc(now) > due or resolved is not None else "open"


@dataclass(frozen=True, slots=True)
class SupervisionThread:
    """What the case page shows under 督办与吹哨: supervisions and escalations, oldest first."""

    supervisions: list[Supervision]
    escalations: list[Escalation]

    @property
    def open_whistle(self) -> Escalation | None:
        """The escalation still waiting for its department to report in, if any."""
        for esc in reversed(self.escalations):
            if esc.reported_in_at is None:
                return esc
        return None


@dataclass(frozen=True, slots=True)
class SupervisionRow:
    supervision: Supervision
    case: Case
    state: SupervisionState


class SupervisionService:
    """supervise / escalate / report_in, and the reads the pages and ledgers need."""

    def __init__(self, tx: CaseTransaction, catalog: Catalog | None, settings: Settings) -> None:
        self.tx = tx
        self.catalog = catalog
        self.settings = settings

    # -- 督办 ------------------------------------------------------------------------------------
    def supervise(self, case_no: str, actor: str, requirement: str, due: datetime) -> Supervision:
        """Put an open case under supervision: ``requirement`` to be met by ``due`` (in the future)."""
        requirement = _note(requirement, "requirement")
        if not isinstance(due, datetime):
            raise ValidationError("due must be a date and time", code="invalid_due", field="due")
        due = as_utc(due)

        def add(s: Session) -> Supervision:
            case, now = self.tx.load(s, case_no), self.tx.clock()
            self._require_active(case, "put under supervision")
            latest = now + timedelta(days=self.settings.supervision_max_days)
            if not now < due <= latest:
                raise ValidationError(
                    f"due must lie after now and within {self.settings.supervision_max_days} days",
                    code="invalid_due",
                    field="due",
                )
            assert case.id is not None
            sup = Supervision(
                case_id=case.id,
                case_no=case.case_no,
                requirement=requirement,
                due=due,
                created_by=actor,
                created_at=now,
            )
            s.add(sup)
            after = {"requirement": requirement, "due": due.isoformat()}
            record(s, case, actor=actor, action="supervise", at=now, after=after, note=requirement)
            raise_alert(s, case, AlertKind.SUPERVISION, now)  # the handling department's 通知
            s.flush()
            s.refresh(sup)
            return sup

        return self.tx.write(add)

    # -- 吹哨 ------------------------------------------------------------------------------------
    def escalate(
        self,
        case_no: str,
        actor: str,
        reason: str,
        *,
        to_level: str | None = None,
        to_department: str | None = None,
    ) -> Escalation:
        """Move an open case up: to ``to_department``, to the department at ``to_level``, or one level up.

        The case is dispatched to the receiving department (its deadline at least that level's
        time from now) and an earlier unanswered whistle on it is superseded; the department must
        report in within ``Settings.report_in_hours``.
        """
        reason = _note(reason, "reason")
        catalog = require_catalog(self.catalog)
        if to_level is not None and to_level not in LEVELS:
            raise unknown_value("to_level", to_level, LEVELS, code="unknown_level")

        def escalate(s: Session) -> Escalation:
            case, now = self.tx.load(s, case_no), self.tx.clock()
            self._require_active(case, "escalate")
            from_level = case.level or case.suggested_level
            target = self._target(catalog, case, from_level, to_level, to_department)
            hours = target.deadline_hours or DEFAULT_DEADLINE_HOURS
            deadline = max(as_utc(case.deadline), now + timedelta(hours=hours))
            for earlier in self._open_escalations(s, case):
                earlier.superseded_at = now
                s.add(earlier)
            assert case.id is not None
            esc = Escalation(
                case_id=case.id,
                case_no=case.case_no,
                from_level=from_level,
                to_level=target.level,
                from_department_code=case.department_code,
                to_department_code=target.code,
                reason=reason,
                escalated_by=actor,
                escalated_at=now,
                report_due=now + timedelta(hours=self.settings.report_in_hours),
            )
            s.add(esc)
            fields: dict[str, Any] = {
                "department_code": target.code,
                "department": target.name,
                "level": target.level,
                "deadline": deadline,
                "deadline_hours": max(case.deadline_hours, hours),
            }
            if case.status == CaseStatus.PENDING_REVIEW:  # a grid's matter goes straight up, no queue
                fields.update(status=CaseStatus.DISPATCHED.value, dispatched_by=actor, dispatched_at=now)
            elif case.status == CaseStatus.IN_PROGRESS:  # the new department has not started yet
                fields.update(status=CaseStatus.DISPATCHED.value, dispatched_by=actor, dispatched_at=now)
                fields["started_at"] = None
            details = {"from_level": from_level, "to_level": target.level, "reason": reason}
            change(s, case, actor=actor, action="escalate", at=now, note=reason, details=details, **fields)
            raise_alert(s, case, AlertKind.WHISTLE, now)  # the receiving department's 通知 (报到 owed)
            s.flush()
            s.refresh(esc)
            return esc

        return self.tx.write(escalate)

    def report_in(self, case_no: str, actor: str) -> Escalation:
        """报到: the receiving department acknowledges the open whistle on the case."""

        def acknowledge(s: Session) -> Escalation:
            case, now = self.tx.load(s, case_no), self.tx.clock()
            open_ = self._open_escalations(s, case)
            if not open_:
                raise CaseStateError(
                    f"case {case_no} has no whistle waiting for a report-in", field="case_no"
                )
            esc = open_[-1]
            esc.reported_in_by, esc.reported_in_at = actor, now
            s.add(esc)
            late = now > as_utc(esc.report_due)
            after = {"escalation_id": esc.id, "late": late}
            record(s, case, actor=actor, action="report_in", at=now, after=after)
            s.flush()
            s.refresh(esc)
            return esc

        return self.tx.write(acknowledge)

    # -- reading --------------------------------------------------------------------------------
    def thread(self, case_no: str) -> SupervisionThread:
        with self.tx.db.session() as s:
            case = self.tx.load(s, case_no, lock=False)
            sups = s.exec(
                select(Supervision).where(col(Supervision.case_id) == case.id).order_by(col(Supervision.id))
            )
            escs = s.exec(
                select(Escalation).where(col(Escalation.case_id) == case.id).order_by(col(Escalation.id))
            )
            return SupervisionThread(list(sups), list(escs))

    def supervisions(
        self,
        scope: ScopeLike | None = None,
        *,
        state: str | None = None,
        created_by: str | None = None,
        limit: int = 50,
        offset: int = 0,
        now: datetime | None = None,
    ) -> list[SupervisionRow]:
        """Supervisions inside ``scope`` (newest due last), optionally only one state or one deputy's."""
        if state is not None and state not in SUPERVISION_STATES:
            raise unknown_value("state", state, SUPERVISION_STATES, code="unknown_state")
        now = as_utc(now or self.tx.clock())
        stmt = sa.select(Supervision, Case).join(Case, col(Case.id) == col(Supervision.case_id))
        stmt = stmt.where(*scope_conditions(scope))
        if created_by:
            stmt = stmt.where(col(Supervision.created_by) == created_by)
        met = sa.and_(col(Case.resolved_at).is_not(None), col(Case.resolved_at) <= col(Supervision.due))
        if state == "met":
            stmt = stmt.where(met)
        elif state == "overdue":
            stmt = stmt.where(
                sa.not_(met), sa.or_(col(Supervision.due) < now, col(Case.resolved_at).is_not(None))
            )
        elif state == "open":
            stmt = stmt.where(col(Case.resolved_at).is_(None), col(Supervision.due) >= now)
        stmt = stmt.order_by(col(Supervision.due), col(Supervision.id)).limit(limit).offset(offset)
        with self.tx.db.session() as s:
            rows = s.execute(stmt).all()
        return [SupervisionRow(sup, case, supervision_state(sup, case, now)) for sup, case in rows]

    def open_whistles(
        self,
        department_code: str | None = None,
        *,
        overdue_only: bool = False,
        limit: int = 100,
        now: datetime | None = None,
    ) -> list[tuple[Escalation, Case]]:
        """Whistles on active cases still waiting for a report-in, the longest-waiting first."""
        now = as_utc(now or self.tx.clock())
        stmt = sa.select(Escalation, Case).join(Case, col(Case.id) == col(Escalation.case_id))
        stmt = stmt.where(
            col(Escalation.reported_in_at).is_(None), col(Escalation.superseded_at).is_(None), is_active()
        )
        if department_code is not None:
            stmt = stmt.where(col(Escalation.to_department_code) == department_code)
        if overdue_only:
            stmt = stmt.where(col(Escalation.report_due) < now)
        stmt = stmt.order_by(col(Escalation.report_due), col(Escalation.id)).limit(limit)
        with self.tx.db.session() as s:
            return [(esc, case) for esc, case in s.execute(stmt).all()]

    def supervised_case_nos(self, case_nos: list[str]) -> set[str]:
        """Which of ``case_nos`` are under supervision (the desk's 督办 flag), in one query."""
        if not case_nos:
            return set()
        stmt = sa.select(col(Supervision.case_no)).where(col(Supervision.case_no).in_(case_nos)).distinct()
        with self.tx.db.session() as s:
            return set(s.execute(stmt).scalars())

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _require_active(case: Case, what: str) -> None:
        if case.status not in ACTIVE_STATUSES:
            raise CaseStateError(
                f"case {case.case_no} is {case.status}; only open cases can be {what}d", field="case_no"
            )

    @staticmethod
    def _open_escalations(s: Session, case: Case) -> list[Escalation]:
        stmt = (
            select(Escalation)
            .where(
                col(Escalation.case_id) == case.id,
                col(Escalation.reported_in_at).is_(None),
                col(Escalation.superseded_at).is_(None),
            )
            .order_by(col(Escalation.id))
        )
        return list(s.exec(stmt))

    @staticmethod
    def _target(
        catalog: Catalog, case: Case, from_level: str | None, to_level: str | None, to_department: str | None
    ) -> DepartmentInfo:
        """The receiving department: named, or found at the wanted level above the case's level."""
        rank = LEVELS.index(from_level) if from_level in LEVELS else -1
        if to_department:
            target = catalog.department(to_department, field="to_department")
            if target.code == case.department_code:
                raise ValidationError(
                    f"case {case.case_no} is already with {target.name}",
                    code="same_department",
                    field="to_department",
                )
            if target.level in LEVELS and LEVELS.index(target.level) < rank:
                raise ValidationError(
                    f"{target.name} is at level {target.level}, below the case's level {from_level}",
                    code="not_upward",
                    field="to_department",
                )
            return target
        wanted = to_level or (LEVELS[rank + 1] if rank + 1 < len(LEVELS) else None)
        if wanted is None:
            raise ValidationError(
                f"case {case.case_no} is at the top level {from_level}; name a department with to_department",
                code="no_higher_level",
                field="to_level",
            )
        if LEVELS.index(wanted) <= rank:
            raise ValidationError(
                f"to_level {wanted} is not above the case's level {from_level}",
                code="not_upward",
                field="to_level",
            )
        return SupervisionService._department_at(catalog, case.department_code, wanted)

    @staticmethod
    def _department_at(catalog: Catalog, start: str | None, level: str) -> DepartmentInfo:
        """The first department at ``level`` up the parent chain of ``start``, else the only one there."""
        seen: set[str] = set()
        code = start
        while code and code not in seen:
            seen.add(code)
            try:
                dept = catalog.department(code)
            except ValidationError:
                break
            if dept.level == level:
                return dept
            code = dept.parent_code
        at_level = [d for d in catalog.departments() if d.level == level]
        if len(at_level) == 1:
            return at_level[0]
        names = [f"{d.code}({d.name})" for d in at_level]
        raise unknown_value("to_department", None, names, code="department_required")
