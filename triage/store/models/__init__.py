"""Every table of the case database, one module per resource (SQLModel over SQLAlchemy 2).

All tables register on one :data:`metadata`, which Alembic's environment
(``triage/store/migrations/env.py``) compares against: a table defined outside this package would
look like one to drop. Import names from here (``from triage.store.models import Case``); the
modules are:

* :mod:`.base` — UTC timestamp and JSON column types, field helpers
* :mod:`.org` — departments and grids
* :mod:`.attachments` — photos and PDFs of a case (u001)
* :mod:`.accounts` — roles, users, grid membership, API tokens, browser sessions, login throttle
* :mod:`.cases` — cases, their number counter, 回访 feedback, the audit trail, status constants
* :mod:`.idempotency` — stored responses for the Idempotency-Key header
* :mod:`.registry` — the model registry and shadow suggestions (t003)
* :mod:`.batch` — batch jobs, reclassify suggestions, import keys (b001, r004)
* :mod:`.search` — the word index behind case search (u002)
* :mod:`.notifications` — deadline alerts and who has read them (u003)
* :mod:`.supervision` — deputies' 督办, 吹哨报到 escalations, 回访 calls (u006)
* :mod:`.proposals` — 代表建议 and the cases they grew from (u006)
* :mod:`.disputes` — 矛盾纠纷台账: disputes and their mediation sessions (u006)
* :mod:`.rollups` — per-day case counts kept by database triggers, for the dashboard (u010)
"""

from __future__ import annotations

from sqlmodel import SQLModel

from triage.store.models.accounts import ApiToken, GridMember, LoginCounter, Role, User, WebSession
from triage.store.models.attachments import Attachment, AttachmentKind, AttachmentStage
from triage.store.models.base import JSONType, UTCDateTime, utcnow
from triage.store.models.batch import BatchJob, CaseImport, CaseSuggestion
from triage.store.models.cases import (
    ACTIVE_SQL,
    ACTIVE_STATUS_LIST,
    PRIORITY_RANK,
    QUEUE_STATUS,
    AuditEvent,
    Case,
    CaseCounter,
    CaseStatus,
    Feedback,
    Source,
)
from triage.store.models.disputes import Dispute, DisputeOutcome, MediationSession
from triage.store.models.idempotency import IdempotencyKey
from triage.store.models.notifications import AlertKind, DeadlineAlert, NotificationRead
from triage.store.models.org import Department, Grid
from triage.store.models.proposals import Proposal, ProposalCase, ProposalRating, ProposalStatus
from triage.store.models.registry import MODEL_STATUSES, ModelEvent, ModelVersion, ShadowSuggestion
from triage.store.models.rollups import CaseDayCount, CaseLedgerCount
from triage.store.models.search import CaseWords
from triage.store.models.supervision import Escalation, FollowUp, FollowUpOutcome, FollowUpRating, Supervision

metadata = SQLModel.metadata

__all__ = [
    "ACTIVE_SQL",
    "ACTIVE_STATUS_LIST",
    "MODEL_STATUSES",
    "PRIORITY_RANK",
    "QUEUE_STATUS",
    "AlertKind",
    "ApiToken",
    "Attachment",
    "AttachmentKind",
    "AttachmentStage",
    "AuditEvent",
    "BatchJob",
    "Case",
    "CaseCounter",
    "CaseDayCount",
    "CaseLedgerCount",
    "CaseImport",
    "CaseStatus",
    "CaseSuggestion",
    "CaseWords",
    "DeadlineAlert",
    "Department",
    "Dispute",
    "DisputeOutcome",
    "Escalation",
    "Feedback",
    "FollowUp",
    "FollowUpOutcome",
    "FollowUpRating",
    "Grid",
    "GridMember",
    "IdempotencyKey",
    "JSONType",
    "LoginCounter",
    "MediationSession",
    "ModelEvent",
    "ModelVersion",
    "NotificationRead",
    "Proposal",
    "ProposalCase",
    "ProposalRating",
    "ProposalStatus",
    "Role",
    "ShadowSuggestion",
    "Source",
    "Supervision",
    "UTCDateTime",
    "User",
    "WebSession",
    "metadata",
    "utcnow",
]
