"""Attachments: upload (photos and PDFs), list and fetch, in the scope of the case they belong to.

Reading a case's files follows reading the case (:func:`api.actions.cases.load_visible`: 404 for
no such case, 403 outside the caller's department or grids), and so does adding one. Proof of
办结 (stage ``resolution``) is for those who may resolve the case (:func:`api.access.check_transition`).
The store checks the content, strips metadata and writes durably (:mod:`triage.store.attachments`).
"""

from __future__ import annotations

from api import access
from api.actions.cases import load_visible
from api.security import Principal
from triage.store.attachments import AttachmentService, Prepared, parse_stage
from triage.store.models import Attachment, AttachmentStage, Case, CaseStatus
from triage.store.service import CaseService


def files_of(service: CaseService) -> AttachmentService:
    """The attachment store over the case service's database, settings and clock (cheap to build)."""
    return AttachmentService(service.db, service.settings, clock=service.clock)


def check_stage(user: Principal, case: Case, stage: str) -> None:
    """403 when ``stage`` is ``resolution`` and the caller may not resolve this case."""
    if stage == AttachmentStage.RESOLUTION:
        access.check_transition(user, case, CaseStatus.RESOLVED.value)


def writable(service: CaseService, user: Principal, case_no: str, stage: str | None) -> str:
    """The checked stage for an upload to a case the caller may see (raises 403/404/422 otherwise)."""
    case = load_visible(service, user, case_no)
    checked = parse_stage(stage)
    check_stage(user, case, checked)
    return checked


def upload(
    service: CaseService,
    user: Principal,
    case_no: str,
    data: bytes,
    *,
    stage: str | None = None,
    filename: str | None = None,
    keep_location: bool = False,
) -> Attachment:
    """Store one file for a case the caller may see; durable when it returns."""
    checked = writable(service, user, case_no, stage)
    return files_of(service).add(
        case_no, data, actor=user.username, stage=checked, filename=filename, keep_location=keep_location
    )


def store_prepared(
    service: CaseService, user: Principal, case_no: str, prepared: Prepared, stage: str
) -> Attachment:
    """Store a file checked earlier (:meth:`AttachmentService.prepare`), e.g. after the case was resolved."""
    checked = writable(service, user, case_no, stage)
    return files_of(service).store(case_no, prepared, actor=user.username, stage=checked)


def listing(service: CaseService, user: Principal, case_no: str) -> list[Attachment]:
    """The files of a case the caller may see, oldest first."""
    load_visible(service, user, case_no)
    return files_of(service).list_for(case_no)


def fetch(service: CaseService, user: Principal, case_no: str, attachment_id: int) -> Attachment:
    """One file of a case the caller may see (404 when the id belongs to another case)."""
    load_visible(service, user, case_no)
    return files_of(service).get(case_no, attachment_id)
