"""统计看板: volume, department load, resolution, satisfaction and hot issues, as inline SVG charts.

Every figure is scoped like the cases themselves (a department sees its own, grid users
their grids). Hot issues are clustered with the batch command's ``cluster_hot_issues``
over the newest open cases and cached briefly, so reloading the page stays cheap.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import access
from api.routers.lists import ListKind, get_list
from api.security import Principal
from api.web import charts
from api.web.auth import PageUser
from api.web.render import PageRoute, render
from triage.hot_issues import HotIssue, cluster_hot_issues
from triage.store import stats
from triage.store.service import CaseService

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PERIODS = {7: "近 7 天", 30: "近 30 天", 90: "近 90 天"}
HOT_CACHE_SECONDS = 120.0
HOT_RECORDS = 3000


class _HotCache:
    """Clustering results per (scope, period) for a short while (the clustering is the costly part)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[Any, ...], tuple[float, list[HotIssue]]] = {}

    def get(self, key: tuple[Any, ...]) -> list[HotIssue] | None:
        with self._lock:
            hit = self._entries.get(key)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def put(self, key: tuple[Any, ...], value: list[HotIssue]) -> None:
        with self._lock:
            if len(self._entries) > 200:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + HOT_CACHE_SECONDS, value)


def stats_scope(user: Principal) -> stats.StatsScope:
    scope = access.scope_of(user)
    return stats.StatsScope(department_code=scope.department_code, grids=scope.grids)


def hot_issues(request: Request, service: CaseService, scope: stats.StatsScope, days: int) -> list[HotIssue]:
    cache: _HotCache = request.app.state.web_hot_cache
    key = (scope.department_code, scope.grids, days, service.db.url)
    found = cache.get(key)
    if found is None:
        now = service.clock()
        records = stats.hot_issue_records(service.db, now, days, scope, limit=HOT_RECORDS)
        found = cluster_hot_issues(records, now=now, growth_days=7, top=10, min_size=2)
        cache.put(key, found)
    return found


@router.get("/dashboard")
def dashboard(request: Request, user: PageUser, days: int = 30) -> Response:
    service: CaseService = request.app.state.service
    days = days if days in PERIODS else 30
    scope = stats_scope(user)
    db, now = service.db, service.clock()
    volume = stats.daily_volume(db, now, days, scope)
    load = stats.department_load(db, now, scope)
    res = stats.resolution(db, now, days, scope)
    sat = stats.satisfaction(db, now, days, scope)
    issues = hot_issues(request, service, scope, days)
    citizens = stats.citizens_of(db, [no for i in issues for no in i.record_ids])
    recent = get_list(
        ListKind.COMPLETIONS, service, user, grid=None, community=None, street=None, department=None,
        date_from=None, date_to=None, limit=5, offset=0,
    ).items  # fmt: skip
    ctx = {
        "days": days,
        "periods": PERIODS,
        "volume": volume,
        "load": load,
        "res": res,
        "sat": sat,
        "issues": issues,
        "issue_citizens": {i.rank: sum(citizens.get(no, 1) for no in i.record_ids) for i in issues},
        "recent": recent,
        "open_total": sum(d.open for d in load),
        "overdue_total": sum(d.overdue for d in load),
        "chart_volume": charts.stacked_daily(volume.days, volume.series),
        "chart_load": charts.department_bars([(d.name, d.open, d.overdue) for d in load]),
        "chart_rate": charts.ring(res.rate, "办结率"),
        "chart_on_time": charts.ring(res.on_time_rate, "按期办结率", "#0072B2"),
        "chart_sat": charts.satisfaction_bars(sat.counts),
        "chart_hot": charts.hot_bars([(i.title, i.size, i.growth) for i in issues]),
        "scope_note": _scope_note(user),
    }
    return render(request, "dashboard.html", ctx)


def _scope_note(user: Principal) -> str:
    scope = access.scope_of(user)
    if scope.department_code is not None:
        return f"仅统计本部门（{user.department_code}）的案件"
    if scope.grids is not None:
        return f"仅统计您负责的网格（{'、'.join(scope.grids) or '无'}）的案件"
    return "全部案件"
