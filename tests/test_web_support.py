"""Helpers for the web UI tests (no tests here): a running app, one browser-like client
per user (cookies kept apart), login and CSRF-aware form posts."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

SECRET = "web-test-session-secret-0123456789abcdefghij"
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


class WebUser:
    """A logged-in browser: its own cookie jar and CSRF token."""

    def __init__(self, app: Any, name: str | None) -> None:
        self.client = TestClient(app, follow_redirects=False)
        self.client.headers["Accept"] = "text/html"
        self.name = name
        self.csrf = ""
        if name:
            self.login(name)

    def refresh_csrf(self, html: str | None = None) -> str:
        html = html if html is not None else self.client.get("/login").text
        found = _CSRF.search(html)
        assert found, "no CSRF token on the page"
        self.csrf = found.group(1)
        return self.csrf

    def login(self, name: str, password: str | None = None) -> Any:
        self.refresh_csrf(self.client.get("/login").text)
        r = self.client.post(
            "/login", data={"username": name, "password": password or f"pw-{name}", "csrf_token": self.csrf}
        )
        if r.status_code == 303:
            self.refresh_csrf(self.client.get(r.headers["location"]).text)
        return r

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw: Any) -> Any:
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf)
        return self.client.post(path, data=data, **kw)

    def follow(self, response: Any) -> Any:
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        return self.client.get(response.headers["location"])

    def suggest(self, text: str, title: str = "") -> Any:
        return self.client.post(
            "/intake/suggest", json={"text": text, "title": title}, headers={"X-CSRF-Token": self.csrf}
        )

    def submit(self, text: str, **fields: Any) -> str:
        """Submit through the intake form; returns the new case number."""
        r = self.post("/intake", {"text": text, **fields})
        assert r.status_code == 303, (r.status_code, r.text[:2000])
        return r.headers["location"].rsplit("/", 1)[-1]


@contextmanager
def web_app(url: str, triager: Any) -> Iterator[Any]:
    """The whole app (API + pages) on ``url`` with the API's test users (password ``pw-<name>``)."""
    from support.api_env import running_app

    old = os.environ.get("TRIAGE_SESSION_SECRET")
    os.environ["TRIAGE_SESSION_SECRET"] = SECRET
    try:
        with running_app(url, triager) as env:
            yield env
    finally:
        if old is None:
            os.environ.pop("TRIAGE_SESSION_SECRET", None)
        else:
            os.environ["TRIAGE_SESSION_SECRET"] = old


def text_of(html: str) -> str:
    """Visible-ish text of a page: tags dropped, whitespace collapsed (for assertions)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def field_block(html: str, field: str) -> str:
    """The markup of the form field whose input/select/textarea has id=``field`` (up to the next field)."""
    start = html.find(f'id="{field}"')
    assert start >= 0, f"no field {field}"
    begin = html.rfind('class="field', 0, start)
    end = html.find('class="field', start)
    return html[begin : end if end > 0 else len(html)]
