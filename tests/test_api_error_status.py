"""The HTTP status of every error class raised to the API, pinned: it comes from the class's
``status_code`` (api.errors.status_for), never from the error's name or code."""

from __future__ import annotations

import importlib

import pytest

from api.errors import status_for
from triage.errors import TriageError

# Every module that defines an error class the API may answer with.
MODULES = (
    "triage.errors",
    "triage.store.errors",
    "triage.store.model_registry",
    "triage.store.registry",
    "triage.store.rereview",
    "triage.store.attachments",
    "triage.store.attachment_files",
)

EXPECTED = {
    "TriageError": 422,
    "InputError": 422,
    "ModelLoadError": 503,
    "ConfigError": 503,
    "StoreError": 422,
    "CaseNotFoundError": 404,
    "IllegalTransitionError": 409,
    "CaseStateError": 409,
    "ProposalNotFoundError": 404,
    "DisputeNotFoundError": 404,
    "LeaseError": 409,
    "VersionConflictError": 409,
    "ValidationError": 422,
    "RegistryError": 409,
    "IdempotencyMismatchError": 422,
    "NotFlaggedError": 409,
    "RereviewActionError": 409,
    "UnsupportedFileError": 415,  # attachments: the content is not an accepted type
    "FileTooLargeError": 413,
    "AttachmentLimitError": 409,
    "CaseClosedError": 409,
    "AttachmentNotFoundError": 404,
}


def _error_classes() -> dict[str, type[TriageError]]:
    for name in MODULES:
        importlib.import_module(name)
    found: dict[str, type[TriageError]] = {}
    todo: list[type[TriageError]] = [TriageError]
    while todo:
        cls = todo.pop()
        if cls.__module__.split(".")[0] in ("triage", "api", "training"):
            found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


def _instance(cls: type[TriageError]) -> TriageError:
    """One instance, built without the class's own constructor arguments."""
    exc = cls.__new__(cls)
    TriageError.__init__(exc, "message")
    return exc


def test_every_error_class_is_pinned() -> None:
    """A new error class must state its status here (and, if not 422, in its ``status_code``)."""
    assert set(_error_classes()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_status_of_each_error_class(name: str) -> None:
    cls = _error_classes()[name]
    assert cls.status_code == EXPECTED[name]
    assert status_for(_instance(cls)) == EXPECTED[name]


def test_status_ignores_the_code() -> None:
    """A code that names a conflict or a missing thing does not change the class's status."""
    from triage.store.errors import CaseNotFoundError, ValidationError

    assert status_for(ValidationError("x", code="version_required")) == 422
    assert status_for(TriageError("x", code="lease_conflict")) == 422
    assert status_for(CaseNotFoundError("2026000000001")) == 404
