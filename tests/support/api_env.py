"""Helpers for tests and benchmarks of the API: throw-away databases, a triager copy with its
own duplicate index, and one user (with token) per role."""

from __future__ import annotations

import copy
import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from api.security import create_user, hash_password
from triage.pipeline import DuplicateStage, Triager
from triage.store.db import Database

PG_ADMIN_URL = os.environ.get("TRIAGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# name → (role, department, grids)
TEST_USERS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "operator": ("operator", None, ()),
    "grid1": ("grid_worker", None, ("G001",)),
    "grid2": ("grid_worker", None, ("G002",)),
    "reviewer": ("reviewer", None, ()),
    "reviewer2": ("reviewer", None, ()),
    "dept_housing": ("department", "housing", ()),
    "dept_other": ("department", "transport", ()),
    "deputy": ("deputy", None, ("G001",)),
    "admin": ("admin", None, ()),
}


def postgres_available(url: str = PG_ADMIN_URL) -> bool:
    import psycopg

    try:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except Exception:
        return False


@contextmanager
def temporary_database(backend: str, tmp_dir: Path) -> Iterator[str]:
    """Yield the URL of an empty database; PostgreSQL gets a fresh database, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir / f'api-{uuid.uuid4().hex[:8]}.db'}"
        return
    import psycopg

    name = f"api_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(PG_ADMIN_URL)
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_triager(base: Triager) -> Triager:
    """A copy sharing the loaded model and router but with its own, empty duplicate index."""
    clone = copy.copy(base)
    stages = []
    for stage in base.stages:
        if isinstance(stage, DuplicateStage):
            index = type(stage.index)(threshold=stage.index.threshold, window_days=stage.index.window_days)
            stage = DuplicateStage(index, k=stage.k)
        stages.append(stage)
    clone.stages = stages
    return clone


@functools.cache
def fixture_password_hash(name: str) -> str:
    """The hash of ``pw-<name>``, made once per process: a real-strength scrypt costs ~0.1-0.3 s,
    and the suite seeds the same users many times. The fixture passwords are shorter than the
    ``password_min_length`` policy on purpose (every test knows them), so they are stored
    pre-hashed rather than through the policy check."""
    return hash_password("pw-" + name)


def seed_users(
    db: Database, users: dict[str, tuple[str, str | None, tuple[str, ...]]] | None = None
) -> dict[str, str]:
    """Create the test users (password ``pw-<name>``); returns name → API token."""
    tokens = {}
    for name, (role, department, grids) in (users or TEST_USERS).items():
        _, tokens[name] = create_user(
            db, name, role, department_code=department, grids=grids, password_hash=fixture_password_hash(name)
        )
    return tokens


# Hand-written petitions for tests and benchmarks (not taken from any data set).
SEWAGE = "新华村二组的下水道堵了一个星期，污水倒灌进一楼住户家里，臭气熏天，希望尽快派人疏通。"
SEWAGE_AGAIN = "新华村二组下水道堵了一个多星期，污水都倒灌进一楼住户家里了，臭气熏天，希望尽快派人来疏通！"
PARKING = "实验小学门口每天放学时间乱停车严重，接孩子的车把路都堵死了，希望交警加强管理。"
WAGES = "我在河西街道一家装修公司打工，老板已经拖欠了三个月工资，一直说没钱，希望劳动监察帮忙讨薪。"
ELEVATOR = (
    "我们小区是九十年代的老旧小区，六楼老人上下楼困难，想申请加装电梯，请问需要哪些手续，住建部门怎么审批？"
)
NOISE = "楼下烧烤店每天晚上营业到凌晨两点，油烟和噪音扰民严重，多次投诉无果，希望有关部门管一管。"


class ApiEnv:
    """A running test app with one token per test user; ``get/post/delete(who, path, …)``."""

    def __init__(self, client: Any, app: Any, tokens: dict[str, str]) -> None:
        self.client, self.app, self.tokens = client, app, tokens

    def headers(self, who: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return out | (extra or {})

    def get(self, who: str | None, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(who, kw.pop("headers", None)), **kw)

    def post(self, who: str | None, path: str, **kw: Any) -> Any:
        return self.client.post(path, headers=self.headers(who, kw.pop("headers", None)), **kw)

    def delete(self, who: str | None, path: str, **kw: Any) -> Any:
        return self.client.delete(path, headers=self.headers(who, kw.pop("headers", None)), **kw)

    def count_cases(self) -> int:
        import sqlalchemy as sa

        from triage.store.models import Case

        with self.app.state.db.session() as session:
            return int(session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one())


@contextmanager
def running_app(url: str, triager: Triager, **settings: Any) -> Iterator[ApiEnv]:
    """Start the app (lifespan: migrations, departments, index) on ``url`` and seed the test users."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from triage.config import Settings

    app = create_app(Settings(database_url=url, **settings), triager=fresh_triager(triager))
    with TestClient(app) as client:
        yield ApiEnv(client, app, seed_users(app.state.db))
