"""Length limits in a real browser (issue 10, findings 8 and 11; the server side is in
tests/security/test_limits.py): an over-long paste is flagged beside the field, neither sent nor
cut, and a form forced past the check gets the Chinese 413 page instead of JSON."""

from __future__ import annotations

import re

from api.errors import max_body_bytes
from triage.config import Settings

LIMIT = Settings().max_text_chars

SEND_AROUND_THE_CHECK = """n => {
  const t = document.getElementById("text");
  t.removeAttribute("data-maxlength");
  t.setCustomValidity("");
  t.value = "路".repeat(n);
  document.getElementById("intake-form").submit();
}"""


# -- the browser: the client-side check keeps the paste and refuses to send it --------------------
def test_browser_refuses_an_over_long_paste_without_cutting_it(open_browser, live_server) -> None:
    b = open_browser()
    b.login("operator")
    b.goto("/intake")
    pasted = "路" * (LIMIT + 500)
    b.page.fill("#text", pasted)
    note = b.page.locator("#text-length")
    assert note.is_visible() and f"已输入 {LIMIT + 500} 字" in note.inner_text()
    before = live_server.case_count()
    b.page.click("#submit-case")
    b.page.wait_for_timeout(500)
    assert b.page.url.endswith("/intake") and live_server.case_count() == before
    assert b.page.input_value("#text") == pasted  # not truncated
    b.page.fill("#text", "路" * LIMIT)
    assert not note.is_visible()
    b.page.click("#submit-case")
    b.page.wait_for_url(re.compile(r"/cases/\d+$"))
    assert len(live_server.app.state.service.get(b.case_no_from_url()).text) == LIMIT
    assert not b.errors


def test_browser_gets_a_chinese_page_when_a_post_is_still_too_large(open_browser, live_server) -> None:
    b = open_browser()
    b.login("operator")
    b.goto("/intake")
    # a form sent around the client-side check (an old page, scripts off): 3 × the body limit
    b.page.evaluate(SEND_AROUND_THE_CHECK, max_body_bytes(LIMIT))
    b.page.wait_for_load_state()
    assert "提交的内容过大" in b.page.inner_text("body")
    assert "返回上一页" in b.page.inner_text("body")
