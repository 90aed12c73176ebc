"""Typed errors of the case store; all are :class:`triage.errors.TriageError` with a stable code
and the HTTP ``status_code`` the API answers with (422 unless the class says otherwise)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from triage.errors import InputError, TriageError


class StoreError(TriageError):
    code = "store_error"


class CaseNotFoundError(StoreError):
    code = "case_not_found"
    status_code = 404

    def __init__(self, case_no: str) -> None:
        super().__init__(f"no case numbered {case_no!r}", field="case_no")
        self.case_no = case_no


class ProposalNotFoundError(StoreError):
    code = "proposal_not_found"
    status_code = 404

    def __init__(self, proposal_id: int) -> None:
        super().__init__(f"no proposal numbered {proposal_id}", field="proposal_id")


class DisputeNotFoundError(StoreError):
    code = "dispute_not_found"
    status_code = 404

    def __init__(self, dispute_id: int) -> None:
        super().__init__(f"no dispute numbered {dispute_id}", field="dispute_id")


class IllegalTransitionError(StoreError):
    """The case's status does not allow the requested change."""

    code = "illegal_transition"
    status_code = 409

    def __init__(self, case_no: str, from_status: str, to_status: str, allowed: Iterable[str]) -> None:
        self.case_no, self.from_status, self.to_status = case_no, str(from_status), str(to_status)
        self.allowed = sorted(str(a) for a in allowed)
        targets = ", ".join(self.allowed) or "none (final status)"
        message = f"case {case_no} cannot go from {self.from_status} to {self.to_status}"
        super().__init__(f"{message}; allowed from {self.from_status}: {targets}", field="status")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "from": self.from_status, "to": self.to_status, "allowed": self.allowed}


class LeaseError(StoreError):
    """Another reviewer holds the case (code ``lease_held``)."""

    code = "lease_held"
    status_code = 409


class VersionConflictError(StoreError):
    """The case changed since the caller read it (optimistic locking)."""

    code = "version_conflict"
    status_code = 409


class CaseStateError(StoreError):
    """The case is in no state for this step (e.g. escalating a closed case, reporting in twice)."""

    code = "invalid_case_state"
    status_code = 409


class ValidationError(InputError):
    """A value the caller sent is not allowed (unknown category, department, ...).

    ``allowed`` lists the accepted values when there is a fixed set.
    """

    code = "invalid_value"
    allowed: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(super().to_dict())
        if self.allowed is not None:
            out["allowed"] = self.allowed
        return out


def unknown_value(field: str, value: object, allowed: Iterable[str], *, code: str) -> ValidationError:
    allowed = sorted(allowed)
    shown = ", ".join(allowed[:60]) + (" ..." if len(allowed) > 60 else "")
    err = ValidationError(f"unknown {field} {value!r}; allowed: {shown}", code=code, field=field)
    err.allowed = allowed
    return err
