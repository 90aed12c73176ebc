"""Finding 6: input that gave 500s. Out-of-range dates, oversized cursors, the catch-all error
handler dropping keep-alive connections, and request bodies that never finish.

Each request-level test runs on SQLite and PostgreSQL (``api_env``); the connection-level
tests run a real uvicorn server on 127.0.0.1, since only a real server shows what happens to
the TCP connection.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from support.api_env import ApiEnv, fresh_triager
from test_web_support import WebUser, field_block

from api.validation import DATE_MAX, DATE_MIN

FAR_FUTURE, FAR_PAST = "9999-12-31", "0001-01-01"
BIG = "9" * 20  # a 20-digit integer: over every integer column of both databases


def _field_error(r, field: str) -> dict:
    assert r.status_code == 422, (r.status_code, r.text[:300])
    err = r.json()["error"]
    assert err["field"] == field, err
    assert field in err["message"], err
    return err


# -- dates ----------------------------------------------------------------------------------
DATE_CASES = [
    ("/api/v1/cases", "date_to", FAR_FUTURE),
    ("/api/v1/cases", "date_from", FAR_PAST),
    ("/api/v1/lists/problems", "date_to", FAR_FUTURE),
    ("/api/v1/lists/assignments", "date_from", FAR_PAST),
    ("/api/v1/lists/completions", "date_to", FAR_FUTURE),
    ("/open311/v2/requests.json", "end_date", f"{FAR_FUTURE}T23:59:59"),
    ("/open311/v2/requests.json", "start_date", f"{FAR_PAST}T00:00:00"),
    ("/open311/v2/requests.json", "end_date", f"{FAR_FUTURE}T23:59:59-12:00"),
]


@pytest.mark.parametrize(("path", "field", "value"), DATE_CASES)
def test_out_of_range_dates_are_a_422_naming_the_field(api_env: ApiEnv, path, field, value) -> None:
    r = api_env.get("admin", f"{path}?{field}={quote(value)}")
    err = _field_error(r, field)
    assert DATE_MIN.isoformat() in err["message"] and DATE_MAX.isoformat() in err["message"]


@pytest.mark.parametrize(
    ("path", "field"), [("/api/v1/cases", "date_to"), ("/open311/v2/requests.json", "start_date")]
)
def test_a_bare_number_is_not_read_as_a_timestamp(api_env: ApiEnv, path, field) -> None:
    _field_error(api_env.get("admin", f"{path}?{field}=0"), field)


@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/lists/problems", "/open311/v2/requests.json"])
def test_the_edges_of_the_range_are_accepted(api_env: ApiEnv, path) -> None:
    lo, hi = ("start_date", "end_date") if path.startswith("/open311") else ("date_from", "date_to")
    suffix = "T00:00:00" if path.startswith("/open311") else ""
    r = api_env.get(
        "admin", f"{path}?{lo}={DATE_MIN.isoformat()}{suffix}&{hi}={DATE_MAX.isoformat()}{suffix}"
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("view", ["cases", "problems", "completions"])
def test_web_lists_answer_out_of_range_dates_in_chinese(api_env: ApiEnv, view) -> None:
    user = WebUser(api_env.app, "grid1")
    for field, value in (("date_to", FAR_FUTURE), ("date_from", FAR_PAST)):
        r = user.get(f"/grids?view={view}&{field}={value}")
        assert r.status_code == 422, r.text[:300]
        assert "日期应在" in field_block(r.text, field)
    r = user.get(f"/grids/export/{'problems' if view == 'cases' else view}.xlsx?date_to={FAR_FUTURE}")
    assert r.status_code == 422 and "日期应在" in r.text


# -- review-queue cursor ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "cursor",
    [
        f"1|2026-01-01T00:00:00+00:00|0.5|{BIG}",  # case id
        f"{BIG}|2026-01-01T00:00:00+00:00|0.5|1",  # priority rank
        "1|0001-01-01T00:00:00+08:00|0.5|1",  # deadline before year 1 in UTC
        "1|2026-01-01T00:00:00+00:00|nan|1",
    ],
)
def test_a_forged_queue_cursor_is_a_422(api_env: ApiEnv, cursor: str) -> None:
    r = api_env.get("reviewer", f"/api/v1/review-queue?after={quote(cursor)}")
    assert _field_error(r, "after")["code"] == "invalid_cursor"
    page = WebUser(api_env.app, "reviewer").get(f"/review?after={quote(cursor)}")
    assert page.status_code == 200  # the page starts from the top instead


# -- a real server on loopback -----------------------------------------------------------------
BODY_TIMEOUT = 1.5


@pytest.fixture(scope="module")
def live_port(tmp_path_factory, store_triager) -> Iterator[int]:
    """uvicorn on 127.0.0.1 (any free port) with a short body timeout and a route that fails."""
    import uvicorn

    from api.main import create_app
    from triage.config import Settings

    db = tmp_path_factory.mktemp("live") / "live.db"
    settings = Settings(database_url=f"sqlite:///{db}", request_body_timeout_seconds=BODY_TIMEOUT)
    app = create_app(settings, triager=fresh_triager(store_triager))

    @app.get("/api/v1/test-only/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("an unexpected failure (test-only route)")

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(10)


def test_an_unexpected_error_keeps_the_connection_alive(live_port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", live_port, timeout=10)
    try:
        conn.request("GET", "/api/v1/test-only/boom")
        first = conn.getresponse()
        body = json.loads(first.read())
        assert first.status == 500 and body["error"]["code"] == "internal_error"
        assert "boom" not in json.dumps(body) and "RuntimeError" not in json.dumps(body)
        assert (first.getheader("connection") or "").lower() != "close"
        sock = conn.sock
        assert sock is not None
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        second.read()
        assert second.status == 200
        assert conn.sock is sock  # the same TCP connection, not a silent reconnect
    finally:
        conn.close()


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.parametrize("trickle", [False, True], ids=["stalled", "trickling"])
def test_a_body_that_never_finishes_times_out(live_port: int, trickle: bool) -> None:
    head = (
        b"POST /api/v1/triage HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", live_port), timeout=BODY_TIMEOUT + 10) as sock:
        sock.sendall(head + b'{"text": "')
        if trickle:  # a byte now and then, for longer than the whole timeout: still cut off
            try:
                for _ in range(int(BODY_TIMEOUT / 0.25) + 8):
                    sock.sendall(b"x")
                    time.sleep(0.25)
            except OSError:  # the server already closed the connection
                pass
        data = _read_all(sock)
    elapsed = time.monotonic() - started
    assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:200]
    if data:
        assert b"request_timeout" in data and b"close" in data.lower()
    assert elapsed < BODY_TIMEOUT + 4, elapsed


def test_a_complete_slow_body_within_the_timeout_is_served(live_port: int) -> None:
    body = b'{"text": "x"}'
    head = (
        "POST /api/v1/triage HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", live_port), timeout=10) as sock:
        sock.sendall(head + body[:5])
        time.sleep(BODY_TIMEOUT / 3)
        sock.sendall(body[5:])
        data = _read_all(sock)
    assert data.startswith(b"HTTP/1.1 401"), data[:200]  # reached the app (no token), not a 408
