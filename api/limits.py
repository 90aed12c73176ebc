"""The lengths, sizes and page sizes the JSON API and the pages share, each defined once.

A field stored in a case column takes that column's own length: the engine's submit refuses an
over-long value against the same column (:mod:`triage.store.submit`), so the schema, the form's
``data-maxlength`` and the database cannot drift apart. The free-text limits (notes, results)
bound fields the engine keeps in unbounded columns, so they are the API's own. The message text's
limit is ``Settings.max_text_chars`` (configurable, so read from the running settings, never here).
"""

from __future__ import annotations

from api.security import PASSWORD_MAX_CHARS
from triage.config import NOTE_MAX_CHARS
from triage.store.fulltext import MAX_QUERY_CHARS
from triage.store.models import Case, User


def _case_column(name: str) -> int:
    length: int = Case.__table__.c[name].type.length  # type: ignore[attr-defined]  # SQLModel table
    return length


TITLE_CHARS = _case_column("title")  # 200
NAME_CHARS = _case_column("reporter_name")  # 64
CONTACT_CHARS = _case_column("reporter_contact")  # 64: the reporter's phone
ADDRESS_CHARS = _case_column("address")  # 256
GRID_CHARS = _case_column("grid_code")  # 64
CATEGORY_CHARS = _case_column("category")  # 64: categories and subcategories
DEPARTMENT_CODE_CHARS = _case_column("department_code")  # 64
LEVEL_CHARS = _case_column("level")  # 16
PRIORITY_CHARS = _case_column("priority")  # 8
CASE_NO_CHARS = _case_column("case_no")  # 20
USERNAME_CHARS: int = User.__table__.c["username"].type.length  # type: ignore[attr-defined]  # 64

NOTE_CHARS = NOTE_MAX_CHARS  # notes, reasons, handling requirements, comments (the store checks it too)
RESULT_CHARS = 5000  # the handling result of a resolved case

# Batch jobs: the largest chunk a client may ask for (the default is the engine's DEFAULT_CHUNK_SIZE).
MAX_CHUNK_SIZE = 10_000

LIST_LIMIT = 50  # JSON list endpoints: default page length (query ``limit``) …
MAX_LIST_LIMIT = 200  # … and its maximum
PAGE_SIZE = 25  # rows per page on the web pages
GRID_FILE_MAX_BYTES = 5 * 1024 * 1024  # an uploaded grid registry (a few thousand rows is ~200 KB)
BULK_REVIEW_MAX = 100  # cases one bulk accept / dispatch may name (a page of the queue, with room)

# What the forms show as data-maxlength (render.page_context adds the text limit per request).
FORM_LIMITS: dict[str, int] = {
    "title": TITLE_CHARS,
    "reporter_name": NAME_CHARS,
    "reporter_phone": CONTACT_CHARS,
    "address": ADDRESS_CHARS,
    "grid": GRID_CHARS,
    "note": NOTE_CHARS,
    "result": RESULT_CHARS,
    "case_no": CASE_NO_CHARS,
    "username": USERNAME_CHARS,
    "password": PASSWORD_MAX_CHARS,
    "search_q": MAX_QUERY_CHARS,
}
