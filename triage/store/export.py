"""Training export: reviewed cases with their final (human) labels, as CSV for ``triage train``.

Columns: ``text,label,department`` (what ``triage train --text-col text --label-col label
[--department-col department]`` reads), then ``subcategory, department_code, corrected,
suggested_label, model_version, case_no, reviewed_at`` for analysis. ``corrected`` says
whether the reviewer changed the suggestion, so corrections can be weighted or audited.
The text is the PII-masked copy (title, then body) so no phone or ID number leaves the
database.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

from sqlmodel import col, select

from triage.store.db import Database
from triage.store.models import Case, CaseStatus
from triage.store.numbers import local_day_start
from triage.tabular.cells import csv_escape

S = CaseStatus
REVIEWED = [str(s) for s in (S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED)]
COLUMNS = (
    "text",
    "label",
    "department",
    "subcategory",
    "department_code",
    "corrected",
    "suggested_label",
    "model_version",
    "case_no",
    "reviewed_at",
)


def export_training(db: Database, out: str | Path, *, since: date | datetime | str | None = None) -> int:
    """Write the CSV and return the number of rows (cases reviewed on or after ``since``)."""
    stmt = select(Case).where(
        col(Case.status).in_(REVIEWED), col(Case.category).is_not(None), col(Case.reviewed_at).is_not(None)
    )
    if since is not None:
        start = since if isinstance(since, datetime) else local_day_start(since)
        stmt = stmt.where(col(Case.reviewed_at) >= start)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = out.with_name(out.name + ".part")
    with db.session() as session, tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for case in session.exec(stmt.order_by(col(Case.id)).execution_options(yield_per=1000)):
            text = f"{case.title} {case.text_masked}" if case.title else case.text_masked
            writer.writerow(
                (
                    csv_escape(" ".join(text.split())),  # read back by TabularReader, which unescapes
                    case.category,
                    case.department or "",
                    case.subcategory or "",
                    case.department_code or "",
                    int(case.corrected),
                    case.suggested_category or "",
                    case.model_version or "",
                    case.case_no,
                    case.reviewed_at.isoformat() if case.reviewed_at else "",
                )
            )
            n += 1
    tmp.replace(out)
    return n
