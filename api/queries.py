"""Re-export of the store's case search for the routers and the web UI (no SQL in api/)."""

from __future__ import annotations

from triage.store.search import CaseFilter, search_cases, submitted_by

__all__ = ["CaseFilter", "search_cases", "submitted_by"]
