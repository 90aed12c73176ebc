"""Reveal a reporter's contact for a call back (回访, 核实): the one audited way to see the number.

Everywhere else (pages, API, exports) the contact is masked for every role. The department handling
the case, operators and admins may reveal it with this explicit action (:data:`api.access.REVEAL_CONTACT`);
the store writes the audit event (who, when, which case) in the same transaction as the read, so there
is no way to see the number without a trace. The JSON router and the case page both call :func:`reveal`.
"""

from __future__ import annotations

from api import access
from api.actions.cases import load_visible
from api.schemas import ContactOut
from api.security import Principal
from triage.store.service import CaseService


def reveal(service: CaseService, user: Principal, case_no: str, reason: str | None = None) -> ContactOut:
    """The stored name and contact of ``case_no``; 403 for other roles and out-of-scope cases."""
    case = load_visible(service, user, case_no)  # 404 unknown, 403 outside the caller's scope
    access.require_reveal_contact(user, case)
    case = service.reveal_contact(case_no, user.username, reason=reason)
    return ContactOut(
        case_no=case.case_no, reporter_name=case.reporter_name, reporter_contact=case.reporter_contact
    )
