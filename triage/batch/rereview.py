"""The re-review list as the batch side names it: flags a reclassify run raised, and their answers.

The list, the flag rules and :class:`~triage.store.rereview.RereviewService` live with the other
case services in :mod:`triage.store.rereview`; this module keeps the names batch jobs, the API and
the tests import, and answers flags through the public ``service.rereview`` of a
:class:`~triage.store.service.CaseService`.
"""

from __future__ import annotations

from typing import Any

from triage.store.rereview import (
    ACTIONS,
    CORRECT,
    CORRECTABLE,
    DISMISS,
    ClearResult,
    NotFlaggedError,
    RereviewActionError,
    RereviewItem,
    allowed_actions,
    count_open_flags,
    dismissed_pairs,
    is_open,
    open_flags,
)
from triage.store.service import CaseService

__all__ = [
    "ACTIONS",
    "CORRECT",
    "CORRECTABLE",
    "DISMISS",
    "ClearResult",
    "NotFlaggedError",
    "RereviewActionError",
    "RereviewItem",
    "allowed_actions",
    "clear_flag",
    "correct_flag",
    "count_open_flags",
    "dismiss_flag",
    "dismissed_pairs",
    "is_open",
    "open_flags",
]


def dismiss_flag(service: CaseService, case_no: str, actor: str, *, note: str | None = None) -> ClearResult:
    """Keep the human decision (:meth:`triage.store.rereview.RereviewService.dismiss`)."""
    return service.rereview.dismiss(case_no, actor, note=note)


def correct_flag(
    service: CaseService,
    case_no: str,
    actor: str,
    *,
    category: str | None = None,
    department_code: str | None = None,
    note: str | None = None,
    version: int | None = None,
) -> ClearResult:
    """Take a new category (:meth:`triage.store.rereview.RereviewService.correct`)."""
    return service.rereview.correct(
        case_no, actor, category=category, department_code=department_code, note=note, version=version
    )


def clear_flag(service: CaseService, case_no: str, actor: str, action: str, **details: Any) -> ClearResult:
    """Answer a re-review flag: ``dismiss`` or ``correct`` (``category``, ``department_code``,
    ``note``, ``version``)."""
    return service.rereview.clear(case_no, actor, action, **details)
