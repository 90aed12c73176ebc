"""Log lines without secrets or personal data.

uvicorn's access log writes the full request line, so a GeoReport client that sends its token
as ``?api_key=pt_…`` would leave a working credential in every log file; exception messages
(a database error quoting its parameters) can carry a citizen's phone or ID number. Every
log record of the process is scrubbed when it is created (:func:`install`, called by
``create_app``, so each uvicorn worker has it however it was started): query and form
parameters named like secrets, ``Authorization``/``Cookie`` values, ``Bearer`` credentials
and ``pt_`` API tokens become ``***``, and free text is masked by :func:`triage.text.masking.mask_pii`.
:class:`ScrubFilter` applies the same rules where a logging configuration wants a filter.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from triage.text.masking import mask_pii

REDACTED = "***"
SECRET_PARAMS = (
    "api_key", "apikey", "access_token", "refresh_token", "token", "password", "passwd", "secret",
    "csrf_token", "session",
)  # fmt: skip
_PARAM_RE = re.compile(r"(?i)(?<![\w-])((?:" + "|".join(SECRET_PARAMS) + r")=)[^&\s\"'#;]+")
_JSON_SECRET_RE = re.compile(
    r"(?i)([\"'](?:" + "|".join(SECRET_PARAMS) + r"|authorization|cookie)[\"']\s*:\s*[\"'])[^\"']+"
)
_HEADER_RE = re.compile(
    r"(?i)((?:authorization|cookie|set-cookie|x-api-key)\s*[:=]\s*)(?:(bearer|basic|token)\s+)?[^\s\"',;]+"
)
_BEARER_RE = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9])pt_[A-Za-z0-9_-]{8,}")
_HINTS = ("=", ":", "pt_", "earer", "asic")  # a line with none of these holds no secret


def _header(m: re.Match[str]) -> str:
    return m.group(1) + (f"{m.group(2)} " if m.group(2) else "") + REDACTED


def scrub(text: str) -> str:
    """``text`` with secrets replaced by ``***`` and phone/ID numbers masked."""
    if any(h in text for h in _HINTS):
        text = _TOKEN_RE.sub("pt_" + REDACTED, text)
        text = _PARAM_RE.sub(r"\1" + REDACTED, text)
        text = _JSON_SECRET_RE.sub(r"\1" + REDACTED, text)
        text = _HEADER_RE.sub(_header, text)
        text = _BEARER_RE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return mask_pii(text)


def _scrub_arg(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, int | float):
        return value  # keeps %d and %.2f working
    text = str(value)  # a URL object (httpx), an exception, a path …
    clean = scrub(text)
    return value if clean == text else clean


def scrub_record(record: logging.LogRecord) -> None:
    """Scrub a record in place, keeping the shape of ``args`` (uvicorn's access formatter
    unpacks a 5-tuple) and pre-formatting the traceback so it is scrubbed too."""
    args = record.args
    if isinstance(args, tuple) and args:  # the message is the code's format string; the data is in args
        record.args = tuple(_scrub_arg(a) for a in args)
    elif isinstance(args, dict) and args:
        record.args = {k: _scrub_arg(v) for k, v in args.items()}
    elif record.msg is not None:
        record.msg = scrub(str(record.msg))
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)


class ScrubFilter(logging.Filter):
    """The same scrubbing as a logging filter (for a handler in a ``dictConfig``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


def install() -> None:
    """Scrub every log record created in this process from now on (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "scrubs_secrets", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        scrub_record(record)
        return record

    factory.scrubs_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
