"""Public case numbers: the local date plus a daily sequence, e.g. 2026112200001.

The sequence lives in ``case_counters`` and is advanced with one atomic upsert
(``INSERT … ON CONFLICT DO UPDATE … RETURNING``) inside the caller's transaction, so
concurrent submissions on either database never share a number.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from triage.config import LOCAL_TZ
from triage.store.models import CaseCounter


def local_day_start(day: date | str) -> datetime:
    """Midnight of a local calendar day (a date or an ISO string) as an aware datetime."""
    value = day if isinstance(day, date) else date.fromisoformat(str(day))
    return datetime.combine(value, time.min, tzinfo=LOCAL_TZ)


def local_day(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%Y%m%d")


def allocate(session: Session, at: datetime, n: int = 1) -> list[str]:
    """Reserve ``n`` consecutive case numbers for the local day of ``at``."""
    day = local_day(at)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(CaseCounter)
        .values(day=day, last_seq=n)
        .on_conflict_do_update(index_elements=["day"], set_={"last_seq": col(CaseCounter.last_seq) + n})
        .returning(col(CaseCounter.last_seq))
    )
    last = int(session.execute(stmt).scalar_one())
    return [f"{day}{seq:05d}" for seq in range(last - n + 1, last + 1)]
