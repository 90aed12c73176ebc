"""Hand-written synthetic petitions and a fast bulk loader, for tests, benchmarks and demos.

The texts are composed from our own templates (no rows from any real data set). The
bulk loader inserts pending cases straight into the table (no triage), reserving case
numbers per day, so a 100,000-case queue takes seconds to build.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from triage.intake import mask_pii
from triage.store.db import Database
from triage.store.models import PRIORITY_RANK, AuditEvent, Case, utcnow
from triage.store.numbers import allocate

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
DEPARTMENTS = ["housing", "ecology", "transport", "market", "health", "labour", "education"]


def petition_text(rng: random.Random) -> tuple[str, str]:
    """(expected category, text) built from a place, a problem and a closing line."""
    category, problem = rng.choice(PROBLEMS)
    place = rng.choice(PLACES)
    tail = rng.choice(["请尽快处理。", "盼复，谢谢！", "已经反映过多次了。", "希望早日解决。"])
    return category, f"{place}{rng.randint(1, 30)}号楼附近：{problem}{tail}"


def _rows(n: int, now: datetime, rng: random.Random) -> Iterator[dict[str, Any]]:
    priorities = ["urgent"] * 2 + ["high"] * 8 + ["normal"] * 90
    for _ in range(n):
        category, text = petition_text(rng)
        priority = rng.choice(priorities)
        hours = {"urgent": 4, "high": 24}.get(priority, rng.choice([48, 72, 120, 240]))
        created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 10))
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
    cols = list(rows[0])
    conn = session.connection().connection.driver_connection
    if session.get_bind().dialect.name == "postgresql":
        from psycopg.types.json import Jsonb

        def pg(v: Any) -> Any:
            return Jsonb(v) if isinstance(v, dict | list) else v

        with conn.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([pg(row[c]) for c in cols])
        return

    def lite(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v

    marks = ", ".join("?" * len(cols))
    conn.cursor().executemany(
        f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({marks})",
        [tuple(lite(row[c]) for c in cols) for row in rows],
    )


def bulk_insert_pending(
    db: Database, n: int, *, now: datetime | None = None, seed: int = 7, chunk: int = 5000, audit: bool = True
) -> int:
    """Insert ``n`` pending cases (with their submit audit events) in chunks; returns n."""
    now = now or utcnow()
    rng = random.Random(seed)
    rows = list(_rows(n, now, rng))
    table, audit_table = Case.__table__, AuditEvent.__table__
    for start in range(0, n, chunk):
        part = rows[start : start + chunk]
        with db.session(write=True) as session:
            numbers = allocate(session, now - timedelta(days=start // chunk + 1), len(part))
            for row, number in zip(part, numbers, strict=True):
                row["case_no"] = number
            _driver_insert(session, table, part)
            if not audit:
                continue
            ids = dict(
                session.execute(
                    sa.select(table.c.case_no, table.c.id).where(table.c.case_no.in_(numbers))
                ).all()
            )
            events = [
                dict(
                    case_id=ids[r["case_no"]],
                    case_no=r["case_no"],
                    actor="bulk",
                    at=r["created_at"],
                    action="submit",
                    after={"status": "pending_review"},
                )
                for r in part
            ]
            _driver_insert(session, audit_table, events)
    return n
