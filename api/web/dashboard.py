"""统计看板: volume, department load, resolution, satisfaction and hot issues, as inline SVG charts.

Every figure is scoped like the cases themselves (a department sees its own, grid users
their grids). Hot issues are clustered with the batch command's ``cluster_hot_issues``
over the newest open cases and cached briefly, so reloading the page stays cheap.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import access
from api.actions import lists
from api.schemas import ListKind
from api.security import Principal
from api.web import charts
from api.web.render import PageRoute, render
from api.web.session import PageUser
from triage.config import LOCAL_TZ
from triage.dedup.hot_issues import HotIssue, cluster_hot_issues
from triage.store import stats
from triage.store.ledgers import SATISFIED_MIN, LedgerFilter, disputes_mediated
from triage.store.proposals import MAX_PROPOSAL_CASES
from triage.store.service import CaseService

log = logging.getLogger(__name__)
router = APIRouter(route_class=PageRoute, include_in_schema=False)

PERIODS = {7: "近 7 天", 30: "近 30 天", 90: "近 90 天"}
HOT_RECORDS = 2000  # newest open cases clustered into hot issues
HOT_MIN_AGE = 60.0  # seconds before a changed database triggers a new clustering
HOT_CLUSTERING: dict[str, Any] = {"growth_days": 7, "top": 10, "min_size": 2}
CLUSTER_NICENESS = 10  # the clustering process yields the CPU to the web worker and the database


@dataclass(slots=True)
class _HotEntry:
    version: int
    at: float
    issues: list[HotIssue]


class HotIssueCache:
    """Hot issues per (scope, period), clustered in the background.

    The page never waits for the clustering: it shows the last result (or "计算中") and a
    new clustering starts when the data changed and the result is older than a minute. A
    picklable ``compute`` (the dashboard's) runs in a separate process, so its seconds of
    Python do not slow the pages this worker serves meanwhile; anything else runs in the thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[Any, ...], _HotEntry] = {}
        self._running: dict[tuple[Any, ...], Future[None]] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hot-issues")

    def get(
        self, key: tuple[Any, ...], version: int, compute: Callable[[], list[HotIssue]]
    ) -> tuple[list[HotIssue] | None, bool]:
        """(issues or None, whether a newer result is being computed)."""
        with self._lock:
            entry = self._entries.get(key)
            fresh = entry is not None and (
                entry.version == version or time.monotonic() - entry.at < HOT_MIN_AGE
            )
            if not fresh and key not in self._running:
                self._running[key] = self._pool.submit(self._run, key, version, compute)
            busy = key in self._running
        return (entry.issues if entry else None), busy

    def _run(self, key: tuple[Any, ...], version: int, compute: Callable[[], list[HotIssue]]) -> None:
        try:
            issues = _in_cluster_process(compute) if isinstance(compute, partial) else compute()
            with self._lock:
                if len(self._entries) > 200:
                    self._entries.clear()
                self._entries[key] = _HotEntry(version, time.monotonic(), issues)
        except Exception:
            log.exception("hot-issue clustering failed")
        finally:
            with self._lock:
                self._running.pop(key, None)

    def wait(self, timeout: float = 60.0) -> None:
        """Block until running clusterings finish (for tests and scripts)."""
        with self._lock:
            running = list(self._running.values())
        for future in running:
            future.result(timeout=timeout)


_process_lock = threading.Lock()
_process: ProcessPoolExecutor | None = None


def _in_cluster_process(compute: partial[list[HotIssue]]) -> list[HotIssue]:
    """Run ``compute`` in the one clustering process of this worker (started on first use, by
    spawning: forking a threaded server is unsafe; at lower priority, so on a 2-core machine the
    pages are not slowed while it runs); a crashed process is replaced next time."""
    global _process
    with _process_lock:
        if _process is None:
            _process = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=os.nice,  # background work: the pages get the CPU first
                initargs=(CLUSTER_NICENESS,),
            )
        pool = _process
    try:
        future = pool.submit(compute)
    except (BrokenProcessPool, RuntimeError, OSError):  # cannot start one here (e.g. an unguarded script)
        log.warning("hot-issue clustering runs in the web worker: no separate process", exc_info=True)
        _forget_process(pool)
        return compute()
    try:
        return future.result()
    except BrokenProcessPool:
        _forget_process(pool)
        raise


def _forget_process(pool: ProcessPoolExecutor) -> None:
    """A broken or unstartable clustering process: the next clustering starts a new one."""
    global _process
    with _process_lock:
        if _process is pool:
            _process = None


class FigureCache:
    """Dashboard figures per (scope, period, data version, minute): unchanged data is not re-counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[Any, ...], dict[str, Any]] = {}

    def get(self, key: tuple[Any, ...], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            found = self._entries.get(key)
        if found is None:
            found = compute()
            with self._lock:
                if len(self._entries) > 100:
                    self._entries.clear()
                self._entries[key] = found
        return found


def stats_scope(user: Principal) -> stats.StatsScope:
    scope = access.scope_of(user)
    return stats.StatsScope(department_code=scope.department_code, grids=scope.grids)


def _figures(service: CaseService, user: Principal, scope: stats.StatsScope, days: int) -> dict[str, Any]:
    db, now = service.db, service.clock()
    summary = stats.period_summary(db, now, days, scope)
    load = stats.department_load(db, now, scope)
    recent = lists.rows(service, user, ListKind.COMPLETIONS, limit=5, offset=0)
    sat = stats.satisfaction(db, now, days, scope)
    return {
        "headline": _headline(service, user, days, summary.resolution, sat),
        "volume": summary.volume,
        "res": summary.resolution,
        "load": load,
        "sat": sat,
        "recent": recent,
    }


def _headline(
    service: CaseService, user: Principal, days: int, res: stats.Resolution, sat: stats.Satisfaction
) -> dict[str, Any]:
    """化解矛盾纠纷 N 起，办结民生实事 M 件，群众满意度 P %: the resolved count and the 回访 scores are
    the page's own figures (no second pass over the cases); only the disputes are counted here."""
    first_day = service.clock().astimezone(LOCAL_TZ).date() - timedelta(days=days - 1)
    place = LedgerFilter(date_from=first_day, scope=access.scope_of(user))
    with service.db.session() as session:
        mediated = disputes_mediated(session, place)
    satisfied = sum(n for score, n in sat.counts.items() if score >= SATISFIED_MIN)
    return {
        "disputes_mediated": mediated,
        "cases_resolved": res.resolved,
        "rated": sat.total,
        "satisfaction_rate": satisfied / sat.total if sat.total else None,
    }


def hot_issues_job(service: CaseService, scope: stats.StatsScope, days: int) -> Callable[[], list[HotIssue]]:
    """The dashboard's clustering as a picklable call (a file or server database: another process
    can open it) or, for an in-memory database, a call on this process's own connection."""
    now, db = service.clock(), service.db
    if ":memory:" in db.url or db.url in ("sqlite://", "sqlite:///"):
        records = partial(stats.hot_issue_records, db, now, days, scope, limit=HOT_RECORDS)
        return lambda: cluster_hot_issues(records(), now=now, **HOT_CLUSTERING)
    return partial(stats.clustered_hot_issues, db.url, now, days, scope, HOT_RECORDS, **HOT_CLUSTERING)


@router.get("/dashboard")
def dashboard(request: Request, user: PageUser, days: int = 30) -> Response:
    service: CaseService = request.app.state.service
    days = days if days in PERIODS else 30
    scope = stats_scope(user)
    version = stats.data_version(service.db)
    minute = int(service.clock().timestamp() // 60)  # overdue counts move with the clock
    key = (scope.department_code, scope.grids, days)
    figures = request.app.state.web_figures.get(
        (*key, version, minute, user.role, user.username if scope.grids is not None else None),
        lambda: _figures(service, user, scope, days),
    )
    issues, computing = request.app.state.web_hot.get(key, version, hot_issues_job(service, scope, days))
    may_propose = user.role in access.PROPOSE
    volume, load, res, sat = figures["volume"], figures["load"], figures["res"], figures["sat"]
    ctx = {
        "days": days,
        "periods": PERIODS,
        **figures,
        "issues": issues or [],
        "hot_pending": issues is None,
        "hot_computing": computing,
        "issue_citizens": {i.rank: i.size + i.likes for i in issues or []},  # likes: merged citizens
        "propose_links": {i.rank: propose_link(i) for i in issues or []} if may_propose else {},
        "open_total": sum(d.open for d in load),
        "overdue_total": sum(d.overdue for d in load),
        "chart_volume": charts.stacked_daily(volume.days, volume.series),
        "chart_load": charts.department_bars([(d.name, d.open, d.overdue) for d in load]),
        "chart_rate": charts.ring(res.rate, "办结率"),
        "chart_on_time": charts.ring(res.on_time_rate, "按期办结率", "#0072B2"),
        "chart_sat": charts.satisfaction_bars(sat.counts),
        "chart_hot": charts.hot_bars([(i.title, i.size, i.growth) for i in issues or []]),
        "scope_note": _scope_note(user),
        "may_propose": may_propose,
    }
    return render(request, "dashboard.html", ctx)


def propose_link(issue: HotIssue) -> str:
    """The 转为代表建议 form, filled from a hot issue. It links at most a proposal's number of cases
    (the representative first, then the newest), and says how many reported it in all."""
    rest = [no for no in reversed(issue.record_ids) if no != issue.representative_id]
    linked = [issue.representative_id, *rest][:MAX_PROPOSAL_CASES]
    place = issue.place or ""
    problem = f"{issue.title}：{issue.size} 件诉求反映同一事项（{'、'.join(issue.keywords)}）。"
    if len(linked) < issue.size:
        problem += f"所附为其中 {len(linked)} 件。"
    query = {"title": f"关于{place}{issue.title}的建议", "problem": problem, "case_nos": ",".join(linked)}
    return "/proposals/new?" + urlencode(query, safe=",")  # case numbers stay readable (and cheap)


def _scope_note(user: Principal) -> str:
    scope = access.scope_of(user)
    if scope.department_code is not None:
        return f"仅统计本部门（{user.department_code}）的案件"
    if scope.grids is not None:
        return f"仅统计您负责的网格（{'、'.join(scope.grids) or '无'}）的案件"
    return "全部案件"
