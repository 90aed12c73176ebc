"""Reading what a page posted: form fields (refused when too long, never cut) and local redirect targets.

Like :mod:`api.web.session`, this imports nothing else from ``api.web``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import FormData

from triage.errors import InputError


def form_str(form: FormData, name: str, limit: int | None = None) -> str:
    """A form field, trimmed, never cut: over ``limit`` characters is an InputError naming the
    field (``too_long``), so a page refuses the value instead of storing part of it."""
    value = form.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if limit is not None and len(value) > limit:
        raise InputError(
            f"{name} is too long ({len(value)} characters; the limit is {limit})", code="too_long", field=name
        )
    return value


def form_raw(form: FormData, name: str) -> str:
    """A field as typed (passwords: spaces belong to them)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def form_int(form: FormData, name: str, limit: int = 12) -> int | None:
    """A positive whole number (a case version), or None when the field is empty or not a number."""
    value = form_str(form, name, limit)
    return int(value) if value.isdigit() and int(value) > 0 else None


def safe_next(target: str | None) -> str | None:
    """Only local paths (no scheme, no host, not protocol-relative)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target
