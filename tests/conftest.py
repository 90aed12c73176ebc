"""Shared pytest fixtures. Storage fixtures (SQLite + PostgreSQL) are added by the store tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data" / "tipdm2020").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The tipdm2020 data directory; tests that need it skip only when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
