"""Deadline maths in one place: time left, the 预警 point, the countdown text, the urgency order.

A case is allowed the time from ``created_at`` to ``deadline``; it is *warned* (预警) once
``warn_ratio`` of that time has passed (``Settings.deadline_warn_ratio``, 75 % by default) and
*overdue* (超时) after the deadline, while it is still active. The same rules exist as Python (for
one loaded case) and as SQL (for counts and lists), and both live here so they cannot disagree.
Work is ordered overdue first, then least time left, priority breaking ties: sorting by the deadline
itself does the first two, because an overdue deadline lies before every running one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import col, select

from triage.config import DEFAULT_DEADLINE_WARN_RATIO
from triage.store.db import Database
from triage.store.models import ACTIVE_STATUS_LIST, Case
from triage.store.queue import filter_conditions
from triage.store.search import ScopeLike, scope_conditions

# The desk's order: the soonest deadline (most overdue first), then priority (urgent first).
URGENCY_ORDER = (col(Case.deadline), col(Case.priority_rank), col(Case.id))


class DeadlineState(StrEnum):
    NONE = "none"  # not active (resolved, closed, merged, rejected): no clock runs
    OK = "ok"
    WARNING = "warning"  # 预警
    OVERDUE = "overdue"  # 超时


@dataclass(frozen=True, slots=True)
class Countdown:
    """What a page shows next to a case: the state, the words and the minutes left (negative: late)."""

    state: DeadlineState
    text: str
    minutes_left: int
    warn_at: datetime  # when 预警 begins (the page's script switches the state at this time)


@dataclass(frozen=True, slots=True)
class DeadlineCounts:
    warning: int = 0  # warned, not yet overdue
    overdue: int = 0

    @property
    def total(self) -> int:
        return self.warning + self.overdue


# -- one case ------------------------------------------------------------------------------------
def warn_at(created_at: datetime, deadline: datetime, ratio: float = DEFAULT_DEADLINE_WARN_RATIO) -> datetime:
    """When the warning share of the allowed time has passed (a deadline before creation: at once)."""
    allowed = max(deadline - created_at, timedelta(0))
    return created_at + allowed * ratio


def state_of(
    status: str,
    created_at: datetime,
    deadline: datetime,
    now: datetime,
    ratio: float = DEFAULT_DEADLINE_WARN_RATIO,
) -> DeadlineState:
    """The deadline state; overdue means strictly past the deadline (as the overdue lists)."""
    if status not in ACTIVE_STATUS_LIST:
        return DeadlineState.NONE
    if deadline < now:
        return DeadlineState.OVERDUE
    if warn_at(created_at, deadline, ratio) <= now:
        return DeadlineState.WARNING
    return DeadlineState.OK


def duration_text(minutes: int) -> str:
    """Whole minutes in words: "40分钟", "3小时12分", "2天3小时" (seconds are dropped, never rounded up)."""
    minutes = max(minutes, 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{mins}分" if mins else f"{hours}小时"
    return f"{mins}分钟"


def countdown(
    status: str,
    created_at: datetime,
    deadline: datetime,
    now: datetime,
    ratio: float = DEFAULT_DEADLINE_WARN_RATIO,
) -> Countdown:
    """ "剩余 3小时12分" / "已超时 40分钟" with the state; empty text when no clock runs."""
    state = state_of(status, created_at, deadline, now, ratio)
    warned = warn_at(created_at, deadline, ratio)
    seconds = (deadline - now).total_seconds()
    minutes = int(seconds // 60) if seconds >= 0 else -int(-seconds // 60)
    if state == DeadlineState.NONE:
        return Countdown(state, "", minutes, warned)
    if state == DeadlineState.OVERDUE:
        return Countdown(state, f"已超时 {duration_text(max(-minutes, 1))}", minutes, warned)
    return Countdown(state, f"剩余 {duration_text(minutes)}", minutes, warned)


def case_countdown(case: Case, now: datetime, ratio: float = DEFAULT_DEADLINE_WARN_RATIO) -> Countdown:
    return countdown(case.status, case.created_at, case.deadline, now, ratio)


# -- SQL -----------------------------------------------------------------------------------------
def _active(statuses: Iterable[str] | None) -> list[str]:
    """The active statuses, narrowed to ``statuses`` (None: all active ones), in the fixed order."""
    wanted = set(statuses) if statuses is not None else None
    return [s for s in ACTIVE_STATUS_LIST if wanted is None or s in wanted]


def warned_condition(dialect: str, now: datetime, ratio: float) -> sa.ColumnElement[bool]:
    """SQL for "the warning point has passed": created_at + ratio × (deadline − created_at) <= now.

    SQLite has no interval type, so it compares Julian days; PostgreSQL compares epoch seconds.
    """
    now_param = sa.bindparam("deadline_now", now, type_=Case.__table__.c.deadline.type)  # type: ignore[attr-defined]
    created, deadline = col(Case.created_at), col(Case.deadline)
    if dialect == "sqlite":
        jc, jd = sa.func.julianday(created), sa.func.julianday(deadline)
        return jc + (jd - jc) * ratio <= sa.func.julianday(now_param)
    ec, ed = sa.extract("epoch", created), sa.extract("epoch", deadline)
    return ec + (ed - ec) * ratio <= sa.extract("epoch", now_param)


def deadline_counts(
    db: Database,
    scope: ScopeLike | None,
    statuses: Sequence[str] | None,
    now: datetime,
    ratio: float = DEFAULT_DEADLINE_WARN_RATIO,
) -> DeadlineCounts:
    """How many active cases in ``scope`` (and ``statuses``) are warned and how many overdue.

    One query; the overdue part uses ``ix_cases_overdue`` (deadline, partial on the active statuses).
    """
    active = _active(statuses)
    if not active:
        return DeadlineCounts()
    late = col(Case.deadline) < now
    warned = sa.and_(sa.not_(late), warned_condition(db.engine.dialect.name, now, ratio))
    stmt = sa.select(
        sa.func.count().filter(late),
        sa.func.count().filter(warned),
    ).where(col(Case.status).in_(active), *scope_conditions(scope))
    with db.session() as session:
        overdue, warning = session.execute(stmt).one()
    return DeadlineCounts(warning=int(warning or 0), overdue=int(overdue or 0))


def urgent_cases(
    db: Database,
    scope: ScopeLike | None,
    statuses: Sequence[str],
    *,
    department_code: str | None = None,
    filters: Mapping[str, str | None] | None = None,
    now: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Case]:
    """Cases in ``statuses`` inside ``scope``, by urgency (:data:`URGENCY_ORDER`): the desk's 待办.
    ``filters``: :func:`triage.store.queue.filter_conditions` names (``now`` for ``overdue``)."""
    page = sa.select(col(Case.id)).where(col(Case.status).in_(list(statuses)), *scope_conditions(scope))
    page = page.where(*filter_conditions(filters, now or datetime.now(UTC)))
    if department_code:
        page = page.where(col(Case.department_code) == department_code)
    # The page's ids first (sorted from ix_cases_department_urgency), then only those rows: sorting
    # the full rows of every open case cost ~20 × more.
    page = page.order_by(*URGENCY_ORDER).limit(limit).offset(offset)
    stmt = select(Case).where(col(Case.id).in_(page.scalar_subquery())).order_by(*URGENCY_ORDER)
    with db.session() as session:
        return list(session.exec(stmt))
