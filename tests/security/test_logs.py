"""Finding 5 (logs): no API token, session cookie or phone/ID number in any log line, the real
uvicorn access log included (the app is served by uvicorn on a loopback port)."""

from __future__ import annotations

import logging
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from support.api_env import fresh_triager, seed_users

from api.logs import ScrubFilter, install, scrub

TOKEN = "pt_" + "A1b2C3d4" * 5
MOBILE = "13912345678"
ID_NO = "11010519900307123X"


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (f"GET /open311/v2/requests.json?api_key={TOKEN}&status=open HTTP/1.1", "status=open"),
        ("GET /x?token=abc123&access_token=zzz999 HTTP/1.1", "GET /x?"),
        (f"Authorization: Bearer {TOKEN}", "Authorization: Bearer"),
        ("headers={'authorization': 'Basic dXNlcjpwYXNz', 'cookie': 'session=eyJhbGciOi'}", "headers="),
        (f"token {TOKEN} rejected", "rejected"),
        (f"电话{MOBILE} 身份证{ID_NO}", "139****5678"),
    ],
)
def test_scrub_removes_secrets_and_masks_numbers(line: str, kept: str) -> None:
    out = scrub(line)
    assert kept in out
    for secret in (TOKEN, "abc123", "zzz999", "dXNlcjpwYXNz", "eyJhbGciOi", MOBILE, ID_NO):
        assert secret not in out


def test_records_keep_their_shape_and_tracebacks_are_scrubbed(caplog) -> None:
    install()
    caplog.set_level(logging.INFO)
    log = logging.getLogger("triage.test_logs")
    log.info('%s - "%s %s HTTP/%s" %d', "1.2.3.4:5", "GET", f"/r?api_key={TOKEN}", "1.1", 200)
    try:
        raise ValueError(f"insert failed: parameters ('{MOBILE}', '{ID_NO}', '{TOKEN}')")
    except ValueError:
        log.exception("store error")
    first, second = caplog.records
    assert first.args[-1] == 200 and first.getMessage().endswith('"GET /r?api_key=*** HTTP/1.1" 200')
    text = caplog.text
    assert "insert failed" in text and "139****5678" in text
    assert TOKEN not in text and MOBILE not in text and ID_NO not in text
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key %s", (TOKEN,), None)
    assert ScrubFilter().filter(record) and TOKEN not in record.getMessage()


@pytest.fixture(scope="module")
def served(tmp_path_factory, store_triager):
    """The app under uvicorn (default logging config) on a free loopback port."""
    from api.main import create_app
    from triage.config import Settings

    url = f"sqlite:///{tmp_path_factory.mktemp('logs') / 'logs.db'}"
    app = create_app(Settings(database_url=url), triager=fresh_triager(store_triager))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, access_log=True, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    tokens = seed_users(app.state.db, {"operator": ("operator", None, ())})
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", tokens["operator"]
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_uvicorn_access_log_has_no_token(served) -> None:
    base, token = served
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Capture()
    handler.setFormatter(
        uvicorn.logging.AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s')
    )
    access = logging.getLogger("uvicorn.access")
    access.addHandler(handler)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            ok = client.get("/open311/v2/requests.json", params={"api_key": token, "status": "open"})
            assert ok.status_code == 200
            bad = client.get("/open311/v2/requests.json", params={"api_key": token + "x"})
            assert bad.status_code == 401
            client.get(
                "/api/v1/cases",
                params={"token": token, "q": MOBILE},
                headers={"Authorization": f"Bearer {token}"},
            )
        deadline = time.monotonic() + 5
        while len(lines) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        access.removeHandler(handler)
    assert len(lines) >= 3, lines
    assert any(
        "/open311/v2/requests.json?api_key=***&status=open" in line and "200" in line for line in lines
    )
    joined = "\n".join(lines)
    assert token not in joined and token[3:] not in joined and MOBILE not in joined
