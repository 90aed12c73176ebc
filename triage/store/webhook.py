"""Outgoing deadline webhook (a city's chat bots) and the monitor that scans and delivers in the background.

Each alert is posted once as JSON with ``X-Triage-Signature: sha256=<hex>``, the HMAC-SHA256 of
``"<timestamp>.<body>"`` under the configured secret (``X-Triage-Timestamp`` carries the
timestamp, so a receiver can refuse replays; ``X-Triage-Delivery`` the alert id, so it can drop a
repeat). Delivery state is on the alert row: an attempt first *claims* the row by moving
``webhook_next_at`` forward in one conditional UPDATE, so two workers never post the same alert at
the same time; a failure is retried with exponential backoff up to :data:`MAX_ATTEMPTS`.
Posting happens only in :class:`DeadlineMonitor`'s thread, never inside a request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from triage.config import LOCAL_TZ, Settings
from triage.store.db import Database
from triage.store.models.notifications import DeadlineAlert
from triage.store.notifications import scan

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # 1 + 5 retries: 30 s, 1 min, 2 min, 4 min, 8 min
RETRY_BASE_SECONDS = 30.0
CLAIM_SECONDS = 60.0  # an attempt in flight holds its row this long (a crashed worker's row comes back)
TIMEOUT_SECONDS = 10.0
DELIVERY_BATCH = 50
KIND_TEXT = {"warning": "预警：办理时限已过 {pct}%", "overdue": "超时：已超过办理时限"}

Poster = Callable[[str, bytes, dict[str, str]], int]  # (url, body, headers) -> HTTP status


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` over ``timestamp.body`` (what a receiver recomputes to check the sender)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def payload(alert: DeadlineAlert, ratio: float) -> dict[str, Any]:
    """The JSON posted for one alert: numbers and codes only, never the citizen's text or contact."""
    return {
        "event": f"deadline.{alert.kind}",
        "alert_id": alert.id,
        "case_no": alert.case_no,
        "kind": alert.kind,
        "message": KIND_TEXT.get(alert.kind, alert.kind).format(pct=round(ratio * 100)),
        "status": alert.status,
        "department_code": alert.department_code,
        "priority": alert.priority,
        "deadline": alert.deadline.isoformat(),
        "deadline_local": alert.deadline.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
        "created_at": alert.created_at.isoformat(),
    }


def http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST with the standard library (no extra dependency); any HTTP status is returned, not raised."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - configured URL
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _claim(db: Database, alert: DeadlineAlert, now: datetime) -> bool:
    """Take the row for one attempt; False when another worker took it since it was read."""
    stmt = (
        sa.update(DeadlineAlert)
        .where(col(DeadlineAlert.id) == alert.id, col(DeadlineAlert.webhook_next_at) == alert.webhook_next_at)
        .values(webhook_next_at=now + timedelta(seconds=CLAIM_SECONDS))
    )
    with db.session(write=True) as session:
        return (session.execute(stmt).rowcount or 0) == 1  # type: ignore[attr-defined]


def _record(db: Database, alert_id: int, now: datetime, attempts: int, error: str | None) -> None:
    values: dict[str, Any] = {"webhook_attempts": attempts, "webhook_error": error}
    if error is None:
        values.update(webhook_sent_at=now, webhook_next_at=None)
    elif attempts >= MAX_ATTEMPTS:
        values.update(webhook_next_at=None)  # given up: the error stays on the row
        log.warning("deadline webhook gave up on alert %s after %s attempts: %s", alert_id, attempts, error)
    else:
        delay = RETRY_BASE_SECONDS * 2 ** (attempts - 1)
        values.update(webhook_next_at=now + timedelta(seconds=delay))
    with db.session(write=True) as session:
        session.execute(sa.update(DeadlineAlert).where(col(DeadlineAlert.id) == alert_id).values(**values))


def deliver_due(
    db: Database,
    url: str,
    secret: str,
    now: datetime,
    *,
    ratio: float,
    post: Poster = http_post,
) -> int:
    """Post every alert whose attempt is due; returns how many were delivered (2xx)."""
    stmt = (
        select(DeadlineAlert)
        .where(col(DeadlineAlert.webhook_next_at).is_not(None), col(DeadlineAlert.webhook_next_at) <= now)
        .order_by(col(DeadlineAlert.webhook_next_at), col(DeadlineAlert.id))
        .limit(DELIVERY_BATCH)
    )
    with db.session() as session:
        due = list(session.exec(stmt))
    sent = 0
    for alert in due:
        if not _claim(db, alert, now):
            continue
        body = json.dumps(payload(alert, ratio), ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "triage-deadline-webhook/1",
            "X-Triage-Event": f"deadline.{alert.kind}",
            "X-Triage-Delivery": str(alert.id),
            "X-Triage-Timestamp": timestamp,
            "X-Triage-Signature": sign(secret, timestamp, body),
        }
        try:
            status = post(url, body, headers)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except Exception as exc:  # noqa: BLE001 - any network failure is retried
            error = f"{type(exc).__name__}: {exc}"[:500]
        _record(db, int(alert.id or 0), now, alert.webhook_attempts + 1, error)
        sent += error is None
    return sent


class DeadlineMonitor:
    """Scans for due alerts and delivers the webhook: periodically in a daemon thread, and on demand.

    ``maybe_scan`` is what a page load calls: at most one scan per ``min_interval`` seconds per
    process, so the 通知 list is fresh without a scan per request — done by the thread when it runs
    (the page does not wait), inline otherwise or when forced (the 通知 list itself). New alerts
    wake the thread, which posts them; the request itself never waits for the webhook.
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Callable[[], datetime],
        *,
        post: Poster = http_post,
        min_interval: float = 15.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.ratio = settings.deadline_warn_ratio
        self.interval = settings.deadline_scan_seconds
        self.url = settings.deadline_webhook_url
        self.secret = settings.deadline_webhook_secret or ""
        if self.url and not self.secret:  # an unsigned post would let anyone forge alerts to the bots
            log.error("deadline_webhook_url is set without deadline_webhook_secret: the webhook stays off")
            self.url = None
        self.post = post
        self.min_interval = min_interval
        self._last_scan = float("-inf")
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def webhook(self) -> bool:
        return bool(self.url)

    def scan_now(self) -> list[DeadlineAlert]:
        with self._lock:
            self._last_scan = time.monotonic()
        created = scan(self.db, self.clock(), ratio=self.ratio, webhook=self.webhook)
        if created and self.webhook:
            self._wake.set()
        return created

    def maybe_scan(self, *, force: bool = False) -> None:
        """Scan unless this process scanned within ``min_interval`` seconds (``force``: scan anyway,
        for the 通知 list itself); never raises. While the monitor thread runs, an unforced scan is
        handed to it: the scan re-checks every overdue case (tens of ms at 100,000 cases) and the
        page that happened to trigger it should not wait for that."""
        with self._lock:
            if not force and time.monotonic() - self._last_scan < self.min_interval:
                return
            self._last_scan = time.monotonic()
            in_background = not force and self._thread is not None and self._thread.is_alive()
        if in_background:
            self._wake.set()
            return
        try:
            self.scan_now()
        except Exception:  # noqa: BLE001 - a failed scan must not fail the page; the next tick retries
            log.exception("deadline scan failed")

    def tick(self) -> None:
        """One round: scan, then post what is due."""
        self.scan_now()
        if self.url:
            deliver_due(self.db, self.url, self.secret, self.clock(), ratio=self.ratio, post=self.post)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="deadline-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - keep the monitor alive; the error is logged
                log.exception("deadline monitor tick failed")
            # retries fall due between scans: wake at least every RETRY_BASE_SECONDS with a webhook
            wait = min(self.interval, RETRY_BASE_SECONDS) if self.url else self.interval
            self._wake.wait(wait)
            self._wake.clear()
