"""Typed errors shared by every entry point (API, CLI, batch).

Each error carries a stable machine-readable ``code``, a human message and, where it
applies, the ``field`` that was wrong, so callers can answer bad input precisely. Its
``status_code`` is the HTTP status the API answers it with (``api.errors.status_for``), so a
new error class states its own status where it is defined.
"""

from __future__ import annotations


class TriageError(Exception):
    """Base class: something the caller can fix or must be told about."""

    code = "triage_error"
    status_code: int = 422  # the caller's input cannot be used as given

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field

    def to_dict(self) -> dict[str, str]:
        out = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out

    def __str__(self) -> str:
        prefix = f"{self.field}: " if self.field else ""
        return f"{prefix}{self.message} [{self.code}]"


class InputError(TriageError):
    """The submitted text (or file, or column) cannot be triaged as given."""

    code = "invalid_input"


class ModelLoadError(TriageError):
    """A model file is missing, corrupt or was written by an incompatible version."""

    code = "model_load_error"
    status_code = 503  # the service cannot answer until a working model is installed


class ConfigError(TriageError):
    """The routing configuration (or another shipped config) is invalid."""

    code = "config_error"
    status_code = 503
