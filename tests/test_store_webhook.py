"""The outgoing deadline webhook against a local HTTP server: signature, retry, no double posting,
and the monitor's background delivery (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from sqlmodel import col

from triage.config import Settings
from triage.store.models import Case
from triage.store.models.notifications import DeadlineAlert
from triage.store.notifications import scan
from triage.store.webhook import MAX_ATTEMPTS, DeadlineMonitor, deliver_due, http_post, sign

SECRET = "s3cret-for-tests"
STREETLIGHT = "东风路和建设路交叉口的路灯坏了半个多月，晚上一片漆黑，老人孩子走路很不安全。"


class Receiver:
    """A chat bot stand-in: records each POST; answers ``fail`` times with 500 first."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.fail = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if outer.fail > 0 else 204
                outer.fail -= 1
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _overdue_case(svc) -> Case:
    case = svc.submit(STREETLIGHT, source="hotline")
    created = svc.clock() - timedelta(hours=2)
    values = {"created_at": created, "deadline": created + timedelta(hours=1), "status": "dispatched"}
    with svc.db.session(write=True) as session:
        session.execute(sa.update(Case).where(col(Case.id) == case.id).values(**values))
    return case


def _alerts(db) -> list[DeadlineAlert]:
    with db.session() as session:
        return list(session.execute(sa.select(DeadlineAlert).order_by(col(DeadlineAlert.id))).scalars())


def test_signed_post_and_retry_until_delivered(case_service, receiver: Receiver) -> None:
    svc = case_service
    case = _overdue_case(svc)
    scan(svc.db, svc.clock(), webhook=True)
    receiver.fail = 1
    assert deliver_due(svc.db, receiver.url, SECRET, svc.clock(), ratio=0.75) == 0
    (alert,) = _alerts(svc.db)
    assert alert.webhook_attempts == 1 and alert.webhook_error == "HTTP 500" and alert.webhook_sent_at is None
    assert deliver_due(svc.db, receiver.url, SECRET, svc.clock(), ratio=0.75) == 0  # backoff: not yet due
    svc.clock.advance(seconds=31)
    assert deliver_due(svc.db, receiver.url, SECRET, svc.clock(), ratio=0.75) == 1
    assert deliver_due(svc.db, receiver.url, SECRET, svc.clock() + timedelta(days=1), ratio=0.75) == 0
    assert len(receiver.posts) == 2
    headers, body = receiver.posts[-1]
    expected = hmac.new(SECRET.encode(), headers["x-triage-timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["x-triage-signature"] == "sha256=" + expected.hexdigest()
    assert headers["x-triage-signature"] == sign(SECRET, headers["x-triage-timestamp"], body)
    data = json.loads(body)
    assert data["case_no"] == case.case_no and data["event"] == "deadline.overdue"
    assert STREETLIGHT not in body.decode()  # never the citizen's text
    (alert,) = _alerts(svc.db)
    assert alert.webhook_sent_at is not None and alert.webhook_next_at is None and alert.webhook_error is None


def test_gives_up_after_max_attempts(case_service) -> None:
    svc = case_service
    _overdue_case(svc)
    scan(svc.db, svc.clock(), webhook=True)

    def refuse(url: str, body: bytes, headers: dict[str, str]) -> int:
        raise ConnectionRefusedError("no bot")

    for _ in range(MAX_ATTEMPTS + 2):
        deliver_due(svc.db, "http://127.0.0.1:9/", SECRET, svc.clock(), ratio=0.75, post=refuse)
        svc.clock.advance(hours=1)
    (alert,) = _alerts(svc.db)
    assert alert.webhook_attempts == MAX_ATTEMPTS and alert.webhook_next_at is None
    assert "ConnectionRefusedError" in (alert.webhook_error or "")


def test_two_deliverers_post_each_alert_once(case_service, receiver: Receiver) -> None:
    svc = case_service
    for _ in range(5):
        _overdue_case(svc)
    scan(svc.db, svc.clock(), webhook=True)
    now = svc.clock()
    threads = [
        threading.Thread(target=deliver_due, args=(svc.db, receiver.url, SECRET, now), kwargs={"ratio": 0.75})
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [h["x-triage-delivery"] for h, _ in receiver.posts]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 5


def test_monitor_delivers_in_the_background(case_service, receiver: Receiver) -> None:
    svc = case_service
    _overdue_case(svc)
    settings = Settings(deadline_webhook_url=receiver.url, deadline_webhook_secret=SECRET)
    monitor = DeadlineMonitor(svc.db, settings, svc.clock, post=http_post, min_interval=0)
    started = time.monotonic()
    monitor.maybe_scan()  # what a page load does: scan only, post nothing itself
    assert time.monotonic() - started < 2 and receiver.posts == []
    monitor.start()
    try:
        deadline = time.monotonic() + 10
        while not receiver.posts and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        monitor.stop()
    assert len(receiver.posts) == 1
    monitor.maybe_scan()
    assert len(_alerts(svc.db)) == 1  # scanning again adds nothing


def test_no_webhook_without_a_secret(case_service, receiver: Receiver) -> None:
    settings = Settings(deadline_webhook_url=receiver.url)
    monitor = DeadlineMonitor(case_service.db, settings, case_service.clock)
    assert not monitor.webhook
    _overdue_case(case_service)
    monitor.tick()
    assert receiver.posts == [] and _alerts(case_service.db)[0].webhook_next_at is None


def test_page_scans_are_run_by_the_monitor_thread(case_service, monkeypatch) -> None:
    """Regression: a page load ran the scan inline every 15 s (a dashboard load 164 ms instead of 37)."""
    from triage.store import webhook

    svc = case_service
    threads: list[str] = []
    real_scan = webhook.scan

    def recording_scan(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real_scan(*args, **kwargs)

    monkeypatch.setattr(webhook, "scan", recording_scan)
    monitor = DeadlineMonitor(svc.db, Settings(deadline_scan_seconds=3600), svc.clock, min_interval=0)
    monitor.start()
    try:
        deadline = time.monotonic() + 10
        while not threads and time.monotonic() < deadline:  # the thread's first tick
            time.sleep(0.02)
        _overdue_case(svc)
        monitor.maybe_scan()  # what a page load does
        while not _alerts(svc.db) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        monitor.stop()
    assert len(_alerts(svc.db)) == 1
    assert set(threads) == {"deadline-monitor"}  # never the caller's thread
    monitor.maybe_scan(force=True)  # the 通知 list: inline
    assert threads[-1] == threading.current_thread().name
