"""Attachments of a case: add (validated, cleaned, durable), list, fetch.

:meth:`AttachmentService.add` is durable before it returns, in this order: the file (and its
thumbnail) is written and fsynced, then the row and its audit event are committed in one
transaction with the case row locked (so the per-case count cannot be overrun by two uploads at
once). If anything fails after a file was written, the file is removed again: no row ever points
at a missing file, and no file is left without a row.

The store does not decide who may attach to which case: the caller checks the case's scope
first (``api.access``), as for reading the case.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from triage.config import Settings
from triage.store import attachment_files as files
from triage.store.attachment_files import FileStorage, FileTooLargeError, LocalStorage
from triage.store.db import Database
from triage.store.errors import StoreError
from triage.store.lifecycle import FINAL_STATUSES, record
from triage.store.models import Attachment, AttachmentKind, AttachmentStage, Case, utcnow
from triage.store.transaction import CaseTransaction

log = logging.getLogger(__name__)
ACTION = "attachment_added"  # the audit event's action
NAME_CHARS = 255

__all__ = ["ACTION", "AttachmentNotFoundError", "AttachmentService", "Prepared", "storage_for"]


class AttachmentNotFoundError(StoreError):
    code = "attachment_not_found"
    status_code = 404

    def __init__(self, case_no: str, attachment_id: int) -> None:
        super().__init__(f"case {case_no} has no attachment {attachment_id}", field="attachment_id")


class AttachmentLimitError(StoreError):
    code = "too_many_attachments"
    status_code = 409


class CaseClosedError(StoreError):
    code = "case_closed"
    status_code = 409


@dataclass(frozen=True, slots=True)
class Prepared:
    """A checked and cleaned upload, not stored yet (the pages check a file before resolving)."""

    kind: str
    content_type: str
    extension: str
    data: bytes
    thumb: bytes | None
    width: int | None
    height: int | None
    original_name: str | None
    kept_location: bool


def storage_for(settings: Settings) -> FileStorage:
    """The configured file store (a local directory; object storage would be chosen here)."""
    return LocalStorage(Path(settings.attachments_dir))


def display_name(name: str | None) -> str | None:
    """The uploader's file name as display text only: last path part, no control characters."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:NAME_CHARS] or None


def parse_stage(value: str | None) -> str:
    """``intake`` | ``case`` | ``resolution`` (default ``case``), else a 422 naming the field."""
    if not value:
        return AttachmentStage.CASE.value
    try:
        return AttachmentStage(value).value
    except ValueError:
        from triage.store.errors import unknown_value

        raise unknown_value(
            "stage", value, [s.value for s in AttachmentStage], code="invalid_stage"
        ) from None


class AttachmentService:
    """Photos and PDFs of cases over one database and one file store."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        storage: FileStorage | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.storage = storage if storage is not None else storage_for(settings)
        self.tx = CaseTransaction(db, clock)
        self.clock = clock

    @property
    def max_bytes(self) -> int:
        return self.settings.attachment_max_bytes

    def check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise FileTooLargeError(
                f"the file has {size} bytes; at most {self.max_bytes} bytes "
                f"({self.max_bytes // (1024 * 1024)} MB) are accepted",
                field="file",
            )

    def prepare(self, data: bytes, *, filename: str | None = None, keep_location: bool = False) -> Prepared:
        """Check size and type from the content; strip metadata and make the thumbnail (images)."""
        self.check_size(len(data))
        if not data:
            raise files.UnsupportedFileError("the file is empty", code="empty_file", field="file")
        found = files.inspect(data)
        name = display_name(filename)
        if found.kind == AttachmentKind.PDF:
            return Prepared(
                found.kind, found.content_type, found.extension, data, None, None, None, name, False
            )
        assert found.image_format is not None
        image = files.open_image(data, found.image_format)
        try:
            cleaned = files.clean_image(image, found.image_format, keep_location=keep_location)
            thumb = files.thumbnail(image)
            width, height = (image.height, image.width) if _rotated(image) else image.size
        finally:
            image.close()
        self.check_size(len(cleaned))
        return Prepared(
            found.kind,
            found.content_type,
            found.extension,
            cleaned,
            thumb,
            width,
            height,
            name,
            keep_location,
        )

    def count(self, case_no: str) -> int:
        with self.db.session() as session:
            case = self.tx.load(session, case_no, lock=False)
            return _count(session, case)

    def check_room(self, case: Case, session: Session) -> None:
        """CaseClosedError for a finished case; AttachmentLimitError when the case is full."""
        if case.status in FINAL_STATUSES:
            raise CaseClosedError(
                f"case {case.case_no} is {case.status}; no files can be added", field="file"
            )
        limit = self.settings.attachment_max_per_case
        if _count(session, case) >= limit:
            raise AttachmentLimitError(f"case {case.case_no} already has {limit} attachments", field="file")

    def precheck(self, case_no: str) -> None:
        """The cheap checks before an upload is decoded (repeated under the lock by ``store``)."""
        with self.db.session() as session:
            self.check_room(self.tx.load(session, case_no, lock=False), session)

    def add(
        self,
        case_no: str,
        data: bytes,
        *,
        actor: str,
        stage: str | None = None,
        filename: str | None = None,
        keep_location: bool = False,
    ) -> Attachment:
        """Check, clean and store one file for ``case_no``; durable when it returns."""
        stage = parse_stage(stage)
        self.precheck(case_no)
        prepared = self.prepare(data, filename=filename, keep_location=keep_location)
        return self.store(case_no, prepared, actor=actor, stage=stage)

    def store(self, case_no: str, prepared: Prepared, *, actor: str, stage: str | None = None) -> Attachment:
        """Write the file(s) (fsynced), then commit the row and the audit event; undo files on failure."""
        stage = parse_stage(stage)
        key = files.new_key(prepared.extension)
        thumb_key = files.thumb_key_for(key) if prepared.thumb is not None else None
        written: list[str] = []
        try:
            self.storage.put(key, prepared.data)
            written.append(key)
            if thumb_key is not None and prepared.thumb is not None:
                self.storage.put(thumb_key, prepared.thumb)
                written.append(thumb_key)
            return self.tx.write(
                lambda session: self._insert(session, case_no, prepared, key, thumb_key, stage, actor)
            )
        except BaseException:
            for k in written:
                try:
                    self.storage.delete(k)
                except OSError:  # pragma: no cover - logged, the original error matters more
                    log.exception("could not remove orphan attachment file %s", k)
            raise

    def _insert(
        self,
        session: Session,
        case_no: str,
        p: Prepared,
        key: str,
        thumb_key: str | None,
        stage: str,
        actor: str,
    ) -> Attachment:
        case = self.tx.load(session, case_no)  # locked: the count check and the insert are one step
        self.check_room(case, session)
        now = self.clock()
        assert case.id is not None
        row = Attachment(
            case_id=case.id,
            case_no=case.case_no,
            stage=stage,
            kind=p.kind,
            content_type=p.content_type,
            size=len(p.data),
            width=p.width,
            height=p.height,
            storage_key=key,
            thumb_key=thumb_key,
            original_name=p.original_name,
            sha256=hashlib.sha256(p.data).hexdigest(),
            kept_location=p.kept_location,
            uploaded_by=actor,
            created_at=now,
        )
        session.add(row)
        session.flush()
        after = {"attachment_id": row.id, "stage": stage, "content_type": p.content_type, "size": row.size}
        record(session, case, actor=actor, action=ACTION, at=now, after=after)
        return row

    def list_for(self, case_no: str) -> list[Attachment]:
        """The case's attachments, oldest first (CaseNotFoundError for an unknown case)."""
        with self.db.session() as session:
            case = self.tx.load(session, case_no, lock=False)
            stmt = select(Attachment).where(col(Attachment.case_id) == case.id).order_by(col(Attachment.id))
            return list(session.exec(stmt))

    def get(self, case_no: str, attachment_id: int) -> Attachment:
        """One attachment *of this case*: an id from another case is not found here."""
        with self.db.session() as session:
            stmt = select(Attachment).where(
                col(Attachment.id) == attachment_id, col(Attachment.case_no) == case_no
            )
            row = session.exec(stmt).first()
        if row is None:
            raise AttachmentNotFoundError(case_no, attachment_id)
        return row

    def key_of(self, row: Attachment, *, thumb: bool = False) -> str:
        """The storage key to serve: the thumbnail's when asked and there is one."""
        return row.thumb_key if thumb and row.thumb_key else row.storage_key


def _count(session: Session, case: Case) -> int:
    stmt = sa.select(sa.func.count()).select_from(Attachment).where(col(Attachment.case_id) == case.id)
    return int(session.execute(stmt).scalar_one())


def _rotated(image: object) -> bool:
    """Whether the EXIF orientation turns the picture by 90° (its stored size is then transposed)."""
    getexif = getattr(image, "getexif", None)
    orientation = getexif().get(0x0112) if getexif is not None else None
    return orientation in (5, 6, 7, 8)
