"""Figures kept up to date by the database itself (u010, u012).

``case_day_counts`` holds, per local day of receipt, department (the decided one, else the
suggested one; ``''`` for none), category (decided, else suggested, else 未分类) and status: how
many cases, how many have a resolution time, the seconds from receipt to resolution summed, and how
many were resolved by their deadline. Triggers on ``cases`` (insert, update of those columns,
delete) add and subtract rows, so every code path — the service, imports, batch jobs, a manual SQL
fix — keeps it exact; the dashboard reads a few thousand rows instead of scanning every case of
the period. ``case_ledger_counts`` does the same for the departments ledger and the ledgers'
headline. Only the migrations write the triggers (:mod:`triage.store.rollup_sql`);
:mod:`triage.store.stats` and :mod:`triage.store.ledgers` read the tables.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

NO_DEPARTMENT = ""  # the key of cases with neither a decided nor a suggested department
UNCLASSIFIED = "未分类"  # category of cases with neither a decided nor a suggested category


class CaseDayCount(SQLModel, table=True):
    __tablename__ = "case_day_counts"

    day: date = Field(sa_type=sa.Date, primary_key=True)
    department_code: str = Field(max_length=64, primary_key=True)
    category: str = Field(max_length=64, primary_key=True)
    status: str = Field(max_length=16, primary_key=True)
    cases: int = 0
    resolved: int = 0  # cases with a resolution time (resolved_at)
    resolve_seconds: int = Field(default=0, sa_type=sa.BigInteger)  # receipt → resolution, summed
    on_time: int = 0  # resolved_at <= deadline


NOT_RATED = 0  # the satisfaction key of cases without a 回访 score (scores are 1–5)


class CaseLedgerCount(SQLModel, table=True):
    """Per local day of receipt, decided department (``''`` for none), status and satisfaction
    score: how many cases and how many were resolved by their deadline (u012), for the departments
    ledger and the ledgers' headline."""

    __tablename__ = "case_ledger_counts"

    day: date = Field(sa_type=sa.Date, primary_key=True)
    department_code: str = Field(max_length=64, primary_key=True)
    status: str = Field(max_length=16, primary_key=True)
    satisfaction: int = Field(sa_type=sa.SmallInteger, primary_key=True)
    cases: int = 0
    on_time: int = 0  # resolved_at <= deadline
