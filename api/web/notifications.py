"""通知 (the deadline notification list, mark as read) and the deadline parts every page shows:
the navigation's count of 预警/超时 cases and the countdown next to a case.

Each page load may trigger a deadline scan (``DeadlineMonitor.maybe_scan``: at most one per process
every few seconds, idempotent per case and kind, run by the monitor's thread so the page does not
wait; the 通知 list scans inline), so the list is current even between the monitor's periodic
ticks (the 预警/超时 count is counted from the deadlines themselves); the webhook is posted from the
monitor's thread, never here.
The template globals are registered on import (``api.web`` imports this module for its router).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.actions import notifications
from api.security import Principal
from api.web.forms import form_str
from api.web.render import TEMPLATES, PageRoute, redirect, render
from api.web.session import CsrfForm, PageUser, flash
from triage.config import DEFAULT_DEADLINE_WARN_RATIO
from triage.store.deadlines import Countdown, case_countdown
from triage.store.models import Case
from triage.store.service import CaseService

log = logging.getLogger(__name__)
router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 30
KIND = {"warning": "预警", "overdue": "超时", "whistle": "吹哨待报到", "supervision": "代表督办"}
# The navigation's numbers are cached per user for a few seconds (then recounted in the background):
# every page shows them, and for an unrestricted role they count over all active cases. The 通知 page
# and marking read bypass the cache.
NAV_TTL_SECONDS = 10.0
NAV_CACHE_MAX = 2_000
_nav_cache: dict[tuple[object, ...], tuple[float, dict[str, Any]]] = {}
_nav_lock = threading.Lock()
_nav_recounting: set[tuple[object, ...]] = set()  # keys a background recount is running for
_nav_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nav-counts")


def _service(request: Request) -> CaseService:
    return request.app.state.service


def warn_ratio(request: Request) -> float:
    settings = getattr(request.app.state, "settings", None)
    return float(getattr(settings, "deadline_warn_ratio", DEFAULT_DEADLINE_WARN_RATIO))


def _scan(request: Request, *, force: bool = False) -> None:
    monitor = getattr(request.app.state, "deadline_monitor", None)
    if monitor is not None:
        monitor.maybe_scan(force=force)


def _nav_key(request: Request, user: Principal) -> tuple[object, ...]:
    return (id(request.app), user.username, user.role, user.department_code, user.grids)


def forget_nav(request: Request, user: Principal) -> None:
    with _nav_lock:
        _nav_cache.pop(_nav_key(request, user), None)


def clear_nav_cache() -> None:
    """Forget every cached count (tests that change cases behind the service's back)."""
    with _nav_lock:
        _nav_cache.clear()


def deadline_nav(request: Request, user: Principal | None, *, fresh: bool = False) -> dict[str, Any] | None:
    """The navigation's numbers (template global, called by base.html); None when there is no user
    or the database is unreachable: the page itself must still render.

    Counted on the page when this user has no numbers yet (or ``fresh``); numbers older than
    :data:`NAV_TTL_SECONDS` are shown once more while a background thread recounts them, so the
    page that happens to find them stale does not wait for a count over every open case."""
    if user is None or getattr(request.app.state, "service", None) is None:
        return None
    key = _nav_key(request, user)
    with _nav_lock:
        hit = _nav_cache.get(key)
        stale = hit is not None and time.monotonic() - hit[0] >= NAV_TTL_SECONDS
        recount = stale and key not in _nav_recounting
        if recount:
            _nav_recounting.add(key)
    if hit is not None and not fresh:
        if recount:
            _nav_pool.submit(_recount, request, user, key)
        return hit[1]
    return _count_nav(request, user, key)


def _recount(request: Request, user: Principal, key: tuple[object, ...]) -> None:
    try:
        _count_nav(request, user, key)
    finally:
        with _nav_lock:
            _nav_recounting.discard(key)


def _count_nav(request: Request, user: Principal, key: tuple[object, ...]) -> dict[str, Any] | None:
    try:
        _scan(request)
        service = _service(request)
        counts = notifications.counts(service, user, warn_ratio(request))
        unread = notifications.unread(service, user)
    except Exception:  # noqa: BLE001 - error pages render without the count
        log.warning("deadline navigation count failed", exc_info=True)
        return None
    nav = {"warning": counts.warning, "overdue": counts.overdue, "total": counts.total, "unread": unread}
    with _nav_lock:
        if len(_nav_cache) >= NAV_CACHE_MAX:
            _nav_cache.clear()
        _nav_cache[key] = (time.monotonic(), nav)
    return nav


def countdown(request: Request, case: Case, now: datetime) -> Countdown:
    """The countdown of one case (template global: ``countdown(request, case, now)``)."""
    return case_countdown(case, now, warn_ratio(request))


TEMPLATES.env.globals.update(deadline_nav=deadline_nav, countdown=countdown, ALERT_KIND=KIND)


@router.get("/notifications")
def notifications_page(request: Request, user: PageUser, page: int = 1, unread: int = 0) -> Response:
    page = max(1, min(page, 10_000))
    _scan(request, force=True)
    service = _service(request)
    rows = notifications.listing(
        service, user, unread_only=bool(unread), limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    ctx = {
        "dnav": deadline_nav(request, user, fresh=True),
        "ratio": warn_ratio(request),
        "rows": rows[:PAGE_SIZE],
        "has_next": len(rows) > PAGE_SIZE,
        "page": page,
        "unread_only": bool(unread),
        "now": service.clock(),
    }
    return render(request, "notifications.html", ctx)


@router.post("/notifications/read")
def mark_read(request: Request, user: PageUser, form: CsrfForm) -> Response:
    """Mark one notification (``id``) or all of them (no ``id``) as read, then back to the list."""
    raw = form_str(form, "id", 12)
    if raw and not (raw.isdigit() and 0 < int(raw) < 2**31):
        flash(request, "通知编号（id）不正确。", "error")
        return redirect("/notifications")
    marked = notifications.mark_read(_service(request), user, [int(raw)] if raw else None)
    forget_nav(request, user)
    flash(request, f"已将 {marked} 条通知标为已读。" if marked else "没有需要标为已读的通知。")
    return redirect("/notifications" + ("?unread=1" if form_str(form, "unread", 1) == "1" else ""))
