"""Browser tests: the app under uvicorn on a free loopback port (temp SQLite), driven by Playwright
with Debian's Chromium. Without Chromium the tests skip, except with CI=true, where they fail."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("TRIAGE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("TRIAGE_TEST_OUTPUT", REPO / "test-output")) / "screenshots"


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"browser tests need Chromium when CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a dev dependency
        _missing(f"playwright is not installed: {exc}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    app: Any

    def case_count(self) -> int:
        import sqlalchemy as sa

        from triage.store.models import Case

        with self.app.state.db.session() as session:
            return int(session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one())


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, store_triager) -> Iterator[LiveServer]:
    """uvicorn in a background thread on a free port, a fresh SQLite file, the test users seeded."""
    import uvicorn
    from support.api_env import fresh_triager, seed_users

    from api.main import create_app
    from triage.config import Settings

    old_secret = os.environ.get("TRIAGE_SESSION_SECRET")
    os.environ["TRIAGE_SESSION_SECRET"] = "browser-test-session-secret-0123456789abcdef"
    db = tmp_path_factory.mktemp("browser") / "web.db"
    app = create_app(Settings(database_url=f"sqlite:///{db}"), triager=fresh_triager(store_triager))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the web app did not start")
        time.sleep(0.05)
    seed_users(app.state.db)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        if old_secret is None:
            os.environ.pop("TRIAGE_SESSION_SECRET", None)
        else:
            os.environ["TRIAGE_SESSION_SECRET"] = old_secret


class Browser:
    """One browser context per user; ``shot(name)`` saves a full-page screenshot."""

    def __init__(self, chromium: Any, server: LiveServer, width: int = 1280, height: int = 900) -> None:
        self.server = server
        self.context = chromium.new_context(
            viewport={"width": width, "height": height}, locale="zh-CN", accept_downloads=True
        )
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", self._console)
        self.page.on("response", self._response)

    def _console(self, msg: Any) -> None:
        # Failed loads are judged by _response: an expected 403 page is not an error.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.errors.append(f"{msg.text} ({msg.location.get('url')})")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.errors.append(f"{response.status} {response.url}")

    def goto(self, path: str) -> Any:
        return self.page.goto(self.server.url + path)

    def login(self, name: str) -> None:
        self.goto("/login")
        self.page.fill("#username", name)
        self.page.fill("#password", "pw-" + name)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()
        assert "/login" not in self.page.url, f"login as {name} failed"

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.evaluate("window.scrollTo(0, 0)")  # the sticky header belongs at the top
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def case_no_from_url(self) -> str:
        m = re.search(r"/cases/(\d+)", self.page.url)
        assert m, self.page.url
        return m.group(1)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_browser(chromium_browser, live_server):
    opened: list[Browser] = []

    def _open(width: int = 1280, height: int = 900) -> Browser:
        b = Browser(chromium_browser, live_server, width, height)
        opened.append(b)
        return b

    yield _open
    for b in opened:
        b.close()
