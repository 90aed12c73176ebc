"""Uploads and downloads of attachment files, shared by the JSON router and the pages.

* :func:`read_upload` reads a multipart file part up to the size limit plus one byte, so an
  oversized file is refused (413) without holding more than the limit;
* :func:`body_limits` admits larger request bodies on the few paths that take files (the global
  body limit is sized for text: ``api.errors.BodySizeLimitMiddleware``);
* :func:`file_response` serves a stored file with headers that keep browsers from running it:
  the type found at upload, ``nosniff``, a sandboxing CSP, and PDFs as downloads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, Response
from starlette.types import Scope

import api
from triage.config import Settings
from triage.errors import ConfigError
from triage.store.attachment_files import FileTooLargeError
from triage.store.attachments import AttachmentService
from triage.store.models import Attachment, AttachmentKind

CHUNK = 256 * 1024
FORM_ROOM = 64 * 1024  # the other fields of an upload form and the multipart framing
INTAKE_FILES = 3  # photos the intake form takes with the submission
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """The file's bytes, or FileTooLargeError as soon as more than ``max_bytes`` arrived."""
    parts: list[bytes] = []
    total = 0
    while chunk := await upload.read(CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise FileTooLargeError(
                f"the file is larger than {max_bytes} bytes ({max_bytes // (1024 * 1024)} MB)", field="file"
            )
        parts.append(chunk)
    return b"".join(parts)


WEB_ROOT = Path(api.__file__).resolve().parent / "web"  # templates and static files: served or rendered


def check_location(settings: Settings) -> Path:
    """The attachments directory, refused when it lies inside what the web UI serves."""
    where = Path(settings.attachments_dir).expanduser().resolve()
    if where == WEB_ROOT or where.is_relative_to(WEB_ROOT) or WEB_ROOT.is_relative_to(where):
        raise ConfigError(
            f"attachments_dir {where} overlaps the web UI's files ({WEB_ROOT}); choose another directory",
            code="bad_setting",
            field="attachments_dir",
        )
    return where


def setup(app: Any, base: int) -> None:
    """Check where files go and let the body limit admit files on the upload paths (create_app)."""
    check_location(app.state.settings)
    app.state.body_limit_for = body_limits(app.state.settings, base)  # api.errors.BodySizeLimitMiddleware


def body_limits(settings: Settings, base: int) -> Callable[[Scope], int | None]:
    """The body limit of a POST that carries files (None: the global one applies)."""
    one = settings.attachment_max_bytes + FORM_ROOM
    paths = [
        (re.compile(r"/api/v1/cases/[^/]+/attachments"), one),
        (re.compile(r"/cases/[^/]+/attachments/upload"), one),
        (re.compile(r"/cases/[^/]+/resolve"), base + one),  # the resolve form's proof
        (re.compile(r"/intake"), base + INTAKE_FILES * one),  # photos with the submission
    ]

    def limit(scope: Scope) -> int | None:
        if scope.get("method") != "POST" or not _multipart(scope):
            return None
        path = scope.get("path", "")
        return next((n for rx, n in paths if rx.fullmatch(path)), None)

    return limit


def _multipart(scope: Scope) -> bool:
    """Only multipart bodies carry files; a url-encoded or JSON body keeps the text-sized limit."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.lower().startswith(b"multipart/form-data")
    return False


def download_name(row: Attachment) -> str:
    """``Content-Disposition`` value: the uploader's name (RFC 5987) with a plain ASCII fallback."""
    ext = EXTENSIONS.get(row.content_type, "bin")
    fallback = f"attachment-{row.id}.{ext}"
    name = row.original_name or fallback
    if not name.lower().endswith(f".{ext}"):
        name = f"{name}.{ext}"  # the type is what we found, so the name says it too
    disposition = "attachment" if row.kind == AttachmentKind.PDF else "inline"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(files: AttachmentService, row: Attachment, *, thumb: bool = False) -> Response:
    """The stored file (or its thumbnail) with safe headers; never guessed from a name."""
    key = files.key_of(row, thumb=thumb)
    is_thumb = key != row.storage_key
    media_type = "image/jpeg" if is_thumb else row.content_type
    headers = {
        "Content-Disposition": download_name(row),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        "Cache-Control": "private, max-age=86400",  # a key's content never changes; only its reader may cache
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    path = files.storage.local_path(key)
    if path is not None:
        return FileResponse(path, media_type=media_type, headers=headers)
    return Response(files.storage.read(key), media_type=media_type, headers=headers)
