"""Every table of the case database, in one place (SQLModel over SQLAlchemy 2).

The machine suggestion (``suggested_*``, ``model_version``, ``confidence``, JSON details)
is kept apart from the human decision (``category``, ``department_code``, ...), so the
training export can tell corrected cases from accepted ones. Timestamps are stored in
UTC and always come back timezone-aware, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite drops the offset, so re-attach it)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _dt(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _json() -> Any:
    return Field(default=None, sa_type=JSONType, nullable=True)


class CaseStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    DISPATCHED = "dispatched"  # 交办
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"  # 办结
    CLOSED = "closed"  # 回访
    MERGED = "merged"
    REJECTED = "rejected"


class Source(StrEnum):
    HOTLINE = "hotline"
    GRID = "grid"
    DEPUTY = "deputy"
    WEB = "web"
    OPEN311 = "open311"
    BATCH = "batch"


class Role(StrEnum):
    OPERATOR = "operator"
    GRID_WORKER = "grid_worker"
    REVIEWER = "reviewer"
    DEPARTMENT = "department"
    DEPUTY = "deputy"
    ADMIN = "admin"


PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2}  # the routing configuration's priorities


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Department(SQLModel, table=True):
    __tablename__ = "departments"

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=128)
    level: str = Field(max_length=16)  # 网格 / 社区 / 街道 / 区 / 市
    parent_code: str | None = Field(default=None, foreign_key="departments.code", max_length=64)
    active: bool = True
    # From the active city profile's routing file (t003): its default deadline and which profile owns it.
    deadline_hours: int | None = None
    profile: str | None = Field(default=None, max_length=64)


class Grid(SQLModel, table=True):
    __tablename__ = "grids"

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=128)
    community: str = Field(max_length=128, index=True)
    street: str = Field(max_length=128, index=True)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint(_in("role", Role), name="ck_users_role"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=128)
    role: str = Field(max_length=16)
    department_code: str | None = Field(default=None, foreign_key="departments.code", max_length=64)
    password_hash: str | None = Field(default=None, max_length=256)
    active: bool = True
    created_at: datetime = _dt(nullable=False)
    # Bumped when the password changes, the account is disabled or enabled, or a token revoked:
    # cached token look-ups compare it, so such changes apply at once in every worker (t001).
    auth_version: int = 0
    last_login_at: datetime | None = _dt()


class GridMember(SQLModel, table=True):
    """Grid workers and deputies attached to a grid (their scope)."""

    __tablename__ = "grid_members"

    grid_code: str = Field(foreign_key="grids.code", primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", primary_key=True)


class ApiToken(SQLModel, table=True):
    """Only the SHA-256 of a token is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=64)
    created_at: datetime = _dt(nullable=False)
    expires_at: datetime | None = _dt()
    last_used_at: datetime | None = _dt()
    revoked_at: datetime | None = _dt()


class WebSession(SQLModel, table=True):
    """A browser login (t001). The signed cookie carries a random id; only its SHA-256 is stored,
    so logout, a password change or disabling the user ends the session on the server."""

    __tablename__ = "web_sessions"

    id: int | None = Field(default=None, primary_key=True)
    session_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    password_fingerprint: str = Field(max_length=16)  # the password at login: a change ends it
    client_address: str = Field(default="", max_length=64)
    created_at: datetime = _dt(nullable=False)
    last_seen_at: datetime = _dt(nullable=False)  # idle timeout; written at most once a minute
    expires_at: datetime = _dt(nullable=False, index=True)
    revoked_at: datetime | None = _dt()


class LoginCounter(SQLModel, table=True):
    """Recent failed logins for one throttle key (t001): a client address, an (account, address)
    pair or an account. The key is a SHA-256, so names typed into the form are not stored."""

    __tablename__ = "login_counters"

    key: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=8)  # address | pair | account
    failures: int = 0
    last_failure_at: datetime | None = _dt(index=True)
    next_allowed_at: datetime | None = _dt()
    last_success_at: datetime | None = _dt()  # a pair that once succeeded skips the account delay


class CaseCounter(SQLModel, table=True):
    """Daily sequence behind the public case number (YYYYMMDD + 5 digits)."""

    __tablename__ = "case_counters"

    day: str = Field(primary_key=True, max_length=8)
    last_seq: int = 0


_CASE_VERSION = sa.Column("version", sa.Integer, nullable=False, default=1)
QUEUE_STATUS = CaseStatus.PENDING_REVIEW.value
# Statuses that can run past their deadline, in a fixed order: the overdue query repeats this exact
# IN list so SQLite can match the partial index predicate.
ACTIVE_STATUS_LIST = ("pending_review", "dispatched", "in_progress")
ACTIVE_SQL = f"status IN ({', '.join(repr(s) for s in ACTIVE_STATUS_LIST)})"


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        sa.CheckConstraint(_in("status", CaseStatus), name="ck_cases_status"),
        sa.CheckConstraint(_in("source", Source), name="ck_cases_source"),
        # Review queue: pending cases by priority, deadline, lowest confidence. Led by status rather
        # than partial on it, so planners never prefer another status index and sort (s005).
        sa.Index("ix_cases_queue", "status", "priority_rank", "deadline", "confidence", "id"),
        sa.Index("ix_cases_queue_leases", "status", "lease_expires_at"),  # live leases, off the count
        sa.Index(  # overdue query
            "ix_cases_overdue",
            "deadline",
            sqlite_where=sa.text(ACTIVE_SQL),
            postgresql_where=sa.text(ACTIVE_SQL),
        ),
        sa.Index("ix_cases_department_created", "department_code", "created_at"),
        sa.Index("ix_cases_grid_created", "grid_code", "created_at"),
        sa.Index("ix_cases_community_created", "community", "created_at"),
        sa.Index("ix_cases_street_created", "street", "created_at"),
        sa.Index("ix_cases_status_created", "status", "created_at"),  # admin desk: all departments
        # Dashboard: covering indexes, so its figures are read from indexes, not from the wide rows.
        sa.Index(
            "ix_cases_period",
            "created_at",
            "status",
            "category",
            "suggested_category",
            "department_code",
            "suggested_department_code",
            "resolved_at",
            "deadline",
        ),
        sa.Index(
            "ix_cases_status_department", "status", "department_code", "suggested_department_code", "deadline"
        ),
        sa.Index(
            "ix_cases_closed_satisfaction",
            "closed_at",
            "satisfaction",
            sqlite_where=sa.text("satisfaction IS NOT NULL"),
            postgresql_where=sa.text("satisfaction IS NOT NULL"),
        ),
        sa.Index("ix_cases_department_resolved", "department_code", "resolved_at"),  # a department's 办结清单
    )
    __mapper_args__ = {"version_id_col": _CASE_VERSION}  # optimistic locking

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(max_length=20, unique=True)
    title: str | None = Field(default=None, max_length=200)
    text: str = Field(sa_type=sa.Text)  # normalised original text
    text_masked: str = Field(sa_type=sa.Text)  # PII masked, for display and logs
    source: str = Field(default=Source.WEB.value, max_length=16)
    reporter_name: str | None = Field(default=None, max_length=64)
    reporter_contact: str | None = Field(default=None, max_length=64)
    grid_code: str | None = Field(default=None, max_length=64)
    community: str | None = Field(default=None, max_length=128)
    street: str | None = Field(default=None, max_length=128)
    address: str | None = Field(default=None, max_length=256)
    submitted_by: str | None = Field(default=None, max_length=64, index=True)  # username (grid scope)
    created_at: datetime = _dt(nullable=False, index=True)
    updated_at: datetime = _dt(nullable=False)
    status: str = Field(default=CaseStatus.PENDING_REVIEW.value, max_length=16)

    # -- the human decision (what is in force) --------------------------------------------
    category: str | None = Field(default=None, max_length=64)
    subcategory: str | None = Field(default=None, max_length=64)
    department_code: str | None = Field(default=None, max_length=64)
    department: str | None = Field(default=None, max_length=128)
    level: str | None = Field(default=None, max_length=16)
    priority: str = Field(default="normal", max_length=8)
    priority_rank: int = Field(default=PRIORITY_RANK["normal"])
    deadline_hours: int = 0
    deadline: datetime = _dt(nullable=False)
    requirement: str | None = Field(default=None, sa_type=sa.Text)  # handling requirement (交办)
    result: str | None = Field(default=None, sa_type=sa.Text)  # handling result (办结)
    satisfaction: int | None = None  # latest 回访 score, copied from feedback for the lists

    # -- duplicates ------------------------------------------------------------------------
    duplicate_of: str | None = Field(default=None, foreign_key="cases.case_no", max_length=20, index=True)
    duplicate_count: int = 0  # other citizens' cases merged into this one
    duplicate_candidates: list[dict[str, Any]] | None = _json()
    # The submitter (a role that may not merge) thinks this duplicates that case: the reviewer decides (t002).
    possible_duplicate_of: str | None = Field(default=None, max_length=20)

    # -- the machine suggestion, kept apart ----------------------------------------------------
    suggested_category: str | None = Field(default=None, max_length=64)
    suggested_subcategory: str | None = Field(default=None, max_length=64)
    suggested_department_code: str | None = Field(default=None, max_length=64)
    suggested_department: str | None = Field(default=None, max_length=128)
    suggested_level: str | None = Field(default=None, max_length=16)
    suggested_priority: str | None = Field(default=None, max_length=8)
    suggested_deadline_hours: int | None = None
    model_category: str | None = Field(default=None, max_length=64)
    model_version: str | None = Field(default=None, max_length=64)
    confidence: float = 0.0
    department_confidence: float | None = None  # the department suggestion's own probability (t003)
    needs_review: bool = True
    top_k: list[dict[str, Any]] | None = _json()
    explanation: list[str] | None = _json()
    route_reason: dict[str, Any] | None = _json()
    route_alternatives: list[dict[str, Any]] | None = _json()

    # -- review and handling trail ---------------------------------------------------------------
    reviewed_by: str | None = Field(default=None, max_length=64)
    reviewed_at: datetime | None = _dt(index=True)
    corrected: bool = False
    dispatched_by: str | None = Field(default=None, max_length=64)
    dispatched_at: datetime | None = _dt(index=True)
    started_at: datetime | None = _dt()
    resolved_by: str | None = Field(default=None, max_length=64)
    resolved_at: datetime | None = _dt(index=True)
    closed_at: datetime | None = _dt()
    reject_reason: str | None = Field(default=None, sa_type=sa.Text)
    return_reason: str | None = Field(default=None, sa_type=sa.Text)
    returned_count: int = 0

    # -- concurrency ------------------------------------------------------------------------------
    version: int = Field(default=1, sa_column=_CASE_VERSION)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = _dt()

    @property
    def citizens(self) -> int:
        """How many citizens raised this matter (the reporter plus merged duplicates)."""
        return 1 + self.duplicate_count


class Feedback(SQLModel, table=True):
    """回访: the citizen's satisfaction with the handling."""

    __tablename__ = "feedback"
    __table_args__ = (sa.CheckConstraint("satisfaction BETWEEN 1 AND 5", name="ck_feedback_satisfaction"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    satisfaction: int
    comment: str | None = Field(default=None, sa_type=sa.Text)
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = _dt(nullable=False)


class IdempotencyKey(SQLModel, table=True):
    """Stored responses for the API's Idempotency-Key header."""

    __tablename__ = "idempotency_keys"

    key: str = Field(primary_key=True, max_length=128)
    request_hash: str = Field(max_length=64)
    status_code: int = 200
    response: dict[str, Any] | list[Any] | None = _json()
    created_at: datetime = _dt(nullable=False, index=True)


class AuditEvent(SQLModel, table=True):
    """Append-only (database triggers refuse UPDATE and DELETE): who did what, when, before/after."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_case", "case_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    case_no: str | None = Field(default=None, max_length=20)
    actor: str = Field(max_length=64)
    at: datetime = _dt(nullable=False, index=True)
    action: str = Field(max_length=32)
    before: dict[str, Any] | None = _json()
    after: dict[str, Any] | None = _json()
    note: str | None = Field(default=None, sa_type=sa.Text)



MODEL_STATUSES = ("candidate", "shadow", "live", "retired")
_MODEL_STATUS_SQL = f"status IN ({', '.join(repr(v) for v in MODEL_STATUSES)})"


class ModelVersion(SQLModel, table=True):
    """A registered bundle of a profile (t003): at most one ``live`` and one ``shadow`` per profile."""

    __tablename__ = "model_versions"
    __table_args__ = (
        sa.UniqueConstraint("profile", "version", name="uq_model_versions_profile_version"),
        sa.CheckConstraint(_MODEL_STATUS_SQL, name="ck_model_versions_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    profile: str = Field(max_length=64, index=True)
    version: str = Field(max_length=64)  # the bundle's model_version (content hash)
    path: str = Field(max_length=512)
    status: str = Field(default="candidate", max_length=16)
    metrics: dict[str, Any] | None = _json()
    data_fingerprint: str | None = Field(default=None, max_length=64)  # sha256 of the training data
    registered_by: str = Field(max_length=64)
    registered_at: datetime = _dt(nullable=False)
    promoted_by: str | None = Field(default=None, max_length=64)
    promoted_at: datetime | None = _dt()
    shadow_since: datetime | None = _dt()


class ModelEvent(SQLModel, table=True):
    """History of the registry (register, shadow, promote, rollback): who, when, which version."""

    __tablename__ = "model_events"

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model_versions.id", index=True)
    profile: str = Field(max_length=64)
    action: str = Field(max_length=16)
    actor: str = Field(max_length=64)
    at: datetime = _dt(nullable=False)
    note: str | None = Field(default=None, sa_type=sa.Text)


class ShadowSuggestion(SQLModel, table=True):
    """A shadow candidate's suggestion for a case, stored beside the live one and never shown."""

    __tablename__ = "shadow_suggestions"
    __table_args__ = (sa.UniqueConstraint("case_id", "model_id", name="uq_shadow_case_model"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    model_id: int = Field(foreign_key="model_versions.id", index=True)
    category: str | None = Field(default=None, max_length=64)
    department_code: str | None = Field(default=None, max_length=64)
    department: str | None = Field(default=None, max_length=128)
    confidence: float = 0.0
    department_confidence: float | None = None
    created_at: datetime = _dt(nullable=False)


metadata = SQLModel.metadata
