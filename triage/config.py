"""All runtime settings in one pydantic-settings object (env prefix ``TRIAGE_``)."""

from __future__ import annotations

from datetime import timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from triage.profiles import shipped_models_dir

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the source checkout (training/ and tests use it)
# One resolution finds the models (checkout models/, else the installed data files): triage/profiles.py
DEFAULT_MODEL_PATH = shipped_models_dir() / "category"
# The service's local time: case numbers, local days in lists and statistics, deadlines shown, dates
# typed without a zone. China Standard Time has no daylight saving, so a fixed offset is exact and
# needs no tzdata.
LOCAL_TZ = timezone(timedelta(hours=8), "CST")
# Defaults the pipeline's stages share with their settings (review_threshold, top_k).
DEFAULT_REVIEW_THRESHOLD = 0.6
DEFAULT_TOP_K = 3
# The copies-only (char-trigram cosine) duplicate threshold: Settings.duplicate_threshold's default and
# the lexical half of the same-matter index (triage/dedup/matter.py).
DEFAULT_DUPLICATE_THRESHOLD = 0.6
# 预警: a case is warned once this share of its allowed time (created → deadline) has passed
# (triage/store/deadlines.py, the desk, the navigation count and the notifications).
DEFAULT_DEADLINE_WARN_RATIO = 0.75
# The longest note a person writes on a case: reasons, handling requirements, comments (store and API).
NOTE_MAX_CHARS = 2000
# A 代表建议's problem, suggestion or answer (longer than a note: it is a written proposal).
PROPOSAL_TEXT_MAX_CHARS = 5000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///triage.db"
    auto_migrate: bool = True  # the service migrates the schema to the latest revision at start-up
    # SQLite only: FULL keeps a committed case through a power loss too; NORMAL (WAL) through a killed
    # process only (triage/store/db.py).
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    model_path: Path = DEFAULT_MODEL_PATH
    routing_path: Path | None = None  # None: the routing.toml shipped in triage/resources
    # City profile (triage/profiles.py): model_path and routing_path follow it unless set explicitly.
    profile: str = "tipdm"
    profiles_dir: Path | None = None  # None: the shipped models directory (profiles.shipped_models_dir)
    auto_dispatch: bool = False  # dispatch without review above the profile's 95 %-precision threshold
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD  # below this confidence a suggestion needs review
    top_k: int = DEFAULT_TOP_K
    # Duplicate stage (triage/dedup/matter.py): "matter" finds the same matter in other words, kept when
    # the fitted scorer's probability reaches matter_threshold (models/matter); "lexical" finds copies
    # only, by char-trigram cosine >= duplicate_threshold. The lexical source adds the LSH (~3 KB/case).
    # Default "lexical" until the matter matcher meets its targets (issue 14: recall 0.78 at P 0.92 today,
    # and its lookup costs ~2 ms per message — features, the boosted trees, places from the tokenizer's
    # cut — which takes triage_many from 0.83x to 0.31x jieba); opt in with TRIAGE_DUPLICATE_MATCHER=matter.
    duplicate_matcher: Literal["matter", "lexical"] = "lexical"
    duplicate_lexical_source: bool = False
    matter_threshold: float | None = Field(default=None, gt=0, le=1)  # None: the scorer's fitted one
    duplicate_threshold: float = Field(default=DEFAULT_DUPLICATE_THRESHOLD, gt=0, le=1)
    duplicate_window_days: int = 90
    lease_minutes: int = 10
    max_text_chars: int = 20_000
    session_secret: str | None = None  # None: a key file shared by the workers is created on first start
    session_https_only: bool = False  # True: the session cookie is marked Secure (serve over HTTPS)
    # Browser sessions are rows in web_sessions (api/web/auth.py): absolute lifetime and idle timeout.
    session_max_age_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    session_idle_minutes: float = Field(default=60.0, gt=0)
    # Accounts and login throttling (api/security.py, triage/store/throttle.py).
    password_min_length: int = Field(default=10, ge=8, le=256)
    login_pair_free_failures: int = Field(default=5, ge=1)  # per (account, client address)
    login_address_free_failures: int = Field(default=20, ge=1)  # per client address, any account
    login_account_free_failures: int = Field(default=100, ge=1)  # per account, all addresses
    login_max_delay_seconds: float = Field(default=900.0, gt=0)  # delay doubles per failure up to this
    login_account_max_delay_seconds: float = Field(default=30.0, gt=0)  # the per-account delay stays short
    login_window_minutes: float = Field(default=60.0, gt=0)  # failures older than this are forgotten
    login_trusted_days: float = Field(default=30.0, ge=0)  # a pair that logged in skips the account delay
    # Untrusted input (api/timeouts.py, api/routers/jobs.py): a request body must arrive in full within
    # this many seconds (else 408); HTTP import jobs read only files inside import_dir and write their
    # own files (errors CSV) only inside jobs_dir. Relative paths are from the working directory.
    request_body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    import_dir: Path = Path("var/import")
    jobs_dir: Path = Path("var/jobs")  # also where CLI reports go when no --output is given
    # Where people reach the web UI: links in files opened outside the browser (reclassify report).
    public_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://")
    # Deadlines (triage/store/deadlines.py, notifications.py, webhook.py): the warning share of the
    # allowed time, how often the service scans for new alerts, and an optional outgoing webhook
    # (JSON, HMAC-SHA256 signed with the secret) for a city's chat bots.
    deadline_warn_ratio: float = Field(default=DEFAULT_DEADLINE_WARN_RATIO, gt=0, lt=1)
    deadline_scan_seconds: float = Field(default=60.0, ge=1, le=86_400)
    deadline_webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    deadline_webhook_secret: str | None = None
    # Deputies (triage/store/supervision.py): a whistle (吹哨) must be reported in (报到) by the receiving
    # department within this many hours; a supervision (督办) is due at most this many days ahead.
    report_in_hours: int = Field(default=24, ge=1, le=720)
    supervision_max_days: int = Field(default=365, ge=1, le=3650)
    # 回访 (triage/store/followup.py): unanswered calls before a resolved case closes as 未回访.
    followup_max_attempts: int = Field(default=3, ge=1, le=20)
    # 代表建议 (triage/store/proposals.py): days a department has to answer, and to answer again after an
    # unsatisfied rating.
    proposal_answer_days: int = Field(default=90, ge=1, le=366)
    proposal_rehandle_days: int = Field(default=30, ge=1, le=366)
    # Attachments (triage/store/attachments.py): photos and PDFs of a case, as files with random names
    # under attachments_dir (keep it outside any web root or static directory), each at most
    # attachment_max_bytes, at most attachment_max_per_case per case.
    attachments_dir: Path = Path("var/attachments")
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    attachment_max_per_case: int = Field(default=20, ge=1, le=1000)

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        """SQLite takes the pragma in any case; so does the setting."""
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _follow_profile(self) -> Settings:
        """Fill model and routing paths from the profile; an unknown profile fails naming the known ones."""
        from triage.errors import ConfigError
        from triage.profiles import resolve

        explicit = self.model_fields_set
        try:
            prof = resolve(self.profile, self.profiles_dir)
        except ConfigError as exc:
            if "profile" in explicit or "profiles_dir" in explicit:
                raise ValueError(str(exc)) from None
            return self  # no shipped profiles (e.g. an installed wheel): the defaults stay
        # through __dict__: derived values must not count as set explicitly (model_fields_set)
        if "model_path" not in explicit:
            self.__dict__["model_path"] = prof.model_path
        if "routing_path" not in explicit:
            self.__dict__["routing_path"] = prof.routing_path
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
