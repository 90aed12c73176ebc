"""Hand-written synthetic petitions and a fast bulk loader, for tests and benchmarks.

The texts are composed from our own templates (no rows from any real data set). The
bulk loaders insert cases straight into the table (no triage), reserving case numbers per
day, so 100,000 cases take seconds: :func:`bulk_insert_pending` fills the review queue,
:func:`bulk_insert_cases` spreads cases over the whole lifecycle (dispatched, resolved,
closed with feedback, merged, rejected …) over the last months, which is what the
dashboard and the lists need to be measured on.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from triage.store.db import Database
from triage.store.models import PRIORITY_RANK, AuditEvent, Case, CaseStatus, Feedback, utcnow
from triage.store.numbers import allocate
from triage.text.intake import mask_pii

S = CaseStatus
PLACES = ["阳光小区", "幸福里社区", "河西街道", "锦绣花园", "东风路", "实验小学门口", "人民公园", "新华村"]
PROBLEMS = [
    ("城乡建设", "楼道里堆满杂物，消防通道被堵，存在安全隐患，希望物业尽快清理。"),
    ("城乡建设", "老旧小区想加装电梯，居民意见不统一，希望社区出面协调。"),
    ("环境保护", "附近工地夜间施工噪音扰民，晚上十一点以后还在作业，严重影响休息。"),
    ("环境保护", "小区门口垃圾桶满了没人清运，烟头和垃圾遍地，气味很大。"),
    ("交通运输", "路口红绿灯坏了好几天，早晚高峰车辆拥堵，行人过马路很危险。"),
    ("交通运输", "公交站台的顶棚损坏，下雨天乘客没有地方避雨。"),
    ("商贸旅游", "超市出售过期食品，找店家理论不给退换，请有关部门查处。"),
    ("卫生计生", "社区卫生服务站经常没有医生值班，老人看病不方便。"),
    ("劳动和社会保障", "公司拖欠工资三个月，多次讨要无果，希望劳动监察部门介入。"),
    ("教育文体", "学校周边有无证小摊贩，卫生条件差，担心孩子吃坏肚子。"),
]
DEPARTMENTS = ["housing", "eco_env", "transport", "market", "health", "hrss", "education"]


def petition_text(rng: random.Random) -> tuple[str, str]:
    """(expected category, text) built from a place, a problem and a closing line."""
    category, problem = rng.choice(PROBLEMS)
    place = rng.choice(PLACES)
    tail = rng.choice(["请尽快处理。", "盼复，谢谢！", "已经反映过多次了。", "希望早日解决。"])
    return category, f"{place}{rng.randint(1, 30)}号楼附近：{problem}{tail}"


def _rows(n: int, now: datetime, rng: random.Random, days: int = 10) -> Iterator[dict[str, Any]]:
    priorities = ["urgent"] * 2 + ["high"] * 8 + ["normal"] * 90
    for _ in range(n):
        category, text = petition_text(rng)
        priority = rng.choice(priorities)
        hours = {"urgent": 4, "high": 24}.get(priority, rng.choice([48, 72, 120, 240]))
        created = now - timedelta(minutes=rng.randint(0, 60 * 24 * days))
        yield dict(
            title=text[:12],
            text=text,
            text_masked=mask_pii(text),
            source=rng.choice(["hotline", "grid", "web", "deputy"]),
            grid_code=f"G{rng.randint(1, 40):03d}",
            community=f"社区{rng.randint(1, 10)}",
            street=f"街道{rng.randint(1, 3)}",
            created_at=created,
            updated_at=created,
            status="pending_review",
            priority=priority,
            priority_rank=PRIORITY_RANK[priority],
            deadline_hours=hours,
            deadline=created + timedelta(hours=hours),
            duplicate_count=0,
            suggested_category=category,
            suggested_department_code=rng.choice(DEPARTMENTS),
            suggested_department="某局",
            suggested_level="区",
            suggested_priority=priority,
            suggested_deadline_hours=hours,
            model_category=category,
            model_version="synthetic",
            confidence=round(rng.random(), 4),
            needs_review=True,
            corrected=False,
            returned_count=0,
            version=1,
        )


def _driver_insert(session, table, rows: list[dict[str, Any]]) -> None:
    """Insert through the DB driver itself: COPY on PostgreSQL, executemany on SQLite.

    Skips SQLAlchemy's per-value processing, which dominates a 100,000-row load. Datetimes
    are written as UTCDateTime would write them (naive UTC text on SQLite).
    """
    cols = list(dict.fromkeys(k for row in rows for k in row))  # rows may leave columns out
    conn = session.connection().connection.driver_connection
    if session.get_bind().dialect.name == "postgresql":
        from psycopg.types.json import Jsonb

        def pg(v: Any) -> Any:
            return Jsonb(v) if isinstance(v, dict | list) else v

        with conn.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([pg(row.get(c)) for c in cols])
        return

    def lite(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v

    marks = ", ".join("?" * len(cols))
    conn.cursor().executemany(
        f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({marks})",
        [tuple(lite(row.get(c)) for c in cols) for row in rows],
    )


def _insert(
    db: Database,
    rows: list[dict[str, Any]],
    now: datetime,
    chunk: int,
    audit: bool,
    advance: Callable[[list[dict[str, Any]]], None] | None = None,
) -> None:
    """Number, insert and audit ``rows`` in chunks (``advance`` edits a numbered chunk first)."""
    table = Case.__table__
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        with db.session(write=True) as session:
            numbers = allocate(session, now - timedelta(days=start // chunk + 1), len(part))
            for row, number in zip(part, numbers, strict=True):
                row["case_no"] = number
            if advance is not None:
                advance(part)
            extra = [r.pop("_feedback", None) for r in part]
            _driver_insert(session, table, part)
            if not audit and not any(extra):
                continue
            ids = dict(
                session.execute(
                    sa.select(table.c.case_no, table.c.id).where(table.c.case_no.in_(numbers))
                ).all()
            )
            feedback = [dict(f, case_id=ids[r["case_no"]]) for r, f in zip(part, extra, strict=True) if f]
            if feedback:
                _driver_insert(session, Feedback.__table__, feedback)
            if audit:
                _driver_insert(session, AuditEvent.__table__, list(_events(part, ids)))


def _events(part: list[dict[str, Any]], ids: dict[str, int]) -> Iterator[dict[str, Any]]:
    """A submit event per case, plus one for the step that brought it to its status."""
    for r in part:
        base = dict(case_id=ids[r["case_no"]], case_no=r["case_no"], actor="bulk")
        yield dict(base, at=r["created_at"], action="submit", after={"status": "pending_review"})
        if r["status"] != S.PENDING_REVIEW:
            step = STEP_ACTION[r["status"]]
            yield dict(base, at=r["updated_at"], action=step, after={"status": r["status"]})


def bulk_insert_pending(
    db: Database, n: int, *, now: datetime | None = None, seed: int = 7, chunk: int = 5000, audit: bool = True
) -> int:
    """Insert ``n`` pending cases (with their submit audit events) in chunks; returns n."""
    now = now or utcnow()
    _insert(db, list(_rows(n, now, random.Random(seed))), now, chunk, audit)
    return n


# -- the whole lifecycle ------------------------------------------------------------------------
# Share of each status in a months-old case database: most matters are closed after 回访.
LIFECYCLE_MIX: dict[str, float] = {
    S.PENDING_REVIEW: 0.06,
    S.DISPATCHED: 0.07,
    S.IN_PROGRESS: 0.08,
    S.RESOLVED: 0.12,
    S.CLOSED: 0.55,
    S.MERGED: 0.07,
    S.REJECTED: 0.05,
}
CATEGORY_DEPARTMENT = {
    "城乡建设": ("housing", "住房和城乡建设局"),
    "环境保护": ("eco_env", "生态环境局"),
    "交通运输": ("transport", "交通运输局"),
    "商贸旅游": ("market", "市场监督管理局"),
    "卫生计生": ("health", "卫生健康委员会"),
    "劳动和社会保障": ("hrss", "人力资源和社会保障局"),
    "教育文体": ("education", "教育局"),
}
STEP_ACTION = {
    S.DISPATCHED: "accept",
    S.IN_PROGRESS: "start",
    S.RESOLVED: "resolve",
    S.CLOSED: "close",
    S.MERGED: "merge",
    S.REJECTED: "reject",
}
_ACTIVE = (S.PENDING_REVIEW, S.DISPATCHED, S.IN_PROGRESS)
_SCORES = [5] * 50 + [4] * 25 + [3] * 12 + [2] * 8 + [1] * 5


def _advance(row: dict[str, Any], status: str, now: datetime, rng: random.Random, days: int) -> None:
    """Move a fresh pending row on to ``status``: decision, dispatch, start, 办结 and 回访 in this
    order, every timestamp after the one before and none after ``now``.

    Open work is mostly recent (older matters have been finished), so active cases are drawn
    younger; the rest spread evenly over the ``days`` window.
    """
    age_h = min(rng.expovariate(1 / 96), days * 24.0) if status in _ACTIVE else rng.uniform(0, days * 24.0)
    created = now - timedelta(hours=age_h)
    deadline = created + timedelta(hours=row["deadline_hours"])
    row.update(created_at=created, updated_at=created, deadline=deadline)
    if status == S.PENDING_REVIEW:
        return
    steps = [rng.uniform(0.1, 12)]  # hours after the previous step: review (and dispatch)
    if status in (S.IN_PROGRESS, S.RESOLVED, S.CLOSED):
        steps.append(rng.uniform(0.5, 24))  # start
    if status in (S.RESOLVED, S.CLOSED):
        steps.append(row["deadline_hours"] * rng.uniform(0.05, 1.3))  # 办结, mostly on time
    if status == S.CLOSED:
        steps.append(rng.uniform(2, 72))  # 回访
    scale = min(1.0, 0.95 * age_h / sum(steps))  # young cases moved fast
    at, times = created, []
    for h in steps:
        at += timedelta(hours=h * scale)
        times.append(at)
    decided = times[0]
    row.update(status=str(status), updated_at=times[-1], reviewed_by="reviewer", reviewed_at=decided)
    if status == S.REJECTED:
        row["reject_reason"] = "不属于受理范围"
        return
    if status == S.MERGED:
        return  # duplicate_of is set by the caller, which knows the other cases
    category, corrected = row["suggested_category"], rng.random() < 0.12
    if corrected:
        category = rng.choice(sorted(CATEGORY_DEPARTMENT))
    code, name = CATEGORY_DEPARTMENT[category]
    row.update(
        category=category, department_code=code, department=name, level="区", corrected=corrected,
        dispatched_by="reviewer", dispatched_at=decided, requirement="请按时限办理并回复群众。",
    )  # fmt: skip
    if len(times) > 1:
        row["started_at"] = times[1]
    if status in (S.RESOLVED, S.CLOSED):
        row.update(resolved_by=f"dept_{code}", resolved_at=times[2], result="已现场核实并处理完毕。")
    if status == S.CLOSED:
        score = rng.choice(_SCORES)
        row.update(satisfaction=score, closed_at=times[3])
        comment = None if score >= 4 else "处理不够及时"
        row["_feedback"] = dict(satisfaction=score, comment=comment, created_by="op", created_at=times[3])


def bulk_insert_cases(
    db: Database,
    n: int,
    *,
    mix: dict[str, float] | None = None,
    days: int = 90,
    now: datetime | None = None,
    seed: int = 7,
    chunk: int = 5000,
    audit: bool = True,
) -> dict[str, int]:
    """Insert ``n`` cases spread over the last ``days`` days with statuses drawn from ``mix``
    (default :data:`LIFECYCLE_MIX`); returns the number of cases per status.

    Decided cases carry a department matching their category, resolved ones a result and
    closed ones a satisfaction score with its feedback row; merged cases point to an earlier
    case of the same chunk, whose ``duplicate_count`` goes up.
    """
    now = now or utcnow()
    rng = random.Random(seed)
    weights = mix or LIFECYCLE_MIX
    statuses = rng.choices(list(weights), weights=list(weights.values()), k=n)
    rows = list(_rows(n, now, rng, days))
    for row, status in zip(rows, statuses, strict=True):
        _advance(row, status, now, rng, days)

    def link_duplicates(part: list[dict[str, Any]]) -> None:
        for i, row in enumerate(part):
            if row["status"] != S.MERGED:
                continue
            parents = [
                p
                for p in part[max(0, i - 50) : i]
                if p["status"] not in (S.MERGED, S.REJECTED) and p["created_at"] <= row["created_at"]
            ]
            if not parents:
                row.update(status=str(S.REJECTED), reject_reason="重复反映")  # nothing older to merge into
                continue
            parent = parents[-1]
            row["duplicate_of"] = parent["case_no"]
            parent["duplicate_count"] += 1

    _insert(db, rows, now, chunk, audit, link_duplicates)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts
