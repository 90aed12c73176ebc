"""All runtime settings in one pydantic-settings object (env prefix ``TRIAGE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_PATH = PROJECT_ROOT / "models" / "category"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///triage.db"
    model_path: Path = DEFAULT_MODEL_PATH
    routing_path: Path | None = None  # None: the routing.toml shipped in triage/resources
    review_threshold: float = 0.6  # below this confidence a suggestion needs human review
    top_k: int = 3
    duplicate_threshold: float = 0.6
    duplicate_window_days: int = 90
    lease_minutes: int = 10
    max_text_chars: int = 20_000
    session_secret: str | None = None  # None: a key file shared by the workers is created on first start
    session_https_only: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()
