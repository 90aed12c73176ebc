"""Property-based fuzzing of every operation in our OpenAPI schema (schemathesis, bounded).

Every check schemathesis has (the CLI's ``--checks all``) runs on every generated request,
valid and schema-violating: never a 5xx, every status and body as documented, schema-violating
data refused, ``Allow`` on 405 listing the path's methods, authentication enforced …

One check is narrowed: ``positive_data_acceptance`` fails any 4xx for schema-valid data, but
the API also has rules a JSON schema cannot state (a text without Chinese, a category the
catalog does not know, ``date_from`` after ``date_to``, a date outside the accepted range).
Those answer 422 with their own error code; schema-valid data refused as *malformed* (400, or
422 ``validation_error`` from request validation) still fails, since then the schema is wrong.

Runs as an admin (widest access) on SQLite and on PostgreSQL. ``TRIAGE_FUZZ_EXAMPLES`` raises
the examples per operation for a longer local run (CI keeps the bounded default).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import positive_data_acceptance

MAX_EXAMPLES = int(os.environ.get("TRIAGE_FUZZ_EXAMPLES", "8"))
load_all_checks()
MALFORMED = {(400, "malformed_json"), (400, "bad_request"), (422, "validation_error")}


class RejectedAsMalformed(Failure):
    """Schema-valid data refused as malformed: the schema promises more than the API accepts."""


def positive_data_passes_request_validation(ctx, response, case) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    if (response.status_code, code) in MALFORMED or code is None:
        raise RejectedAsMalformed(
            operation=case.operation.label,
            title="Schema-valid request rejected as malformed",
            message=f"{response.status_code} {code}: {response.text[:300]}",
        )
    return None


CHECKS_ALL = [c for c in CHECKS.get_all() if c is not positive_data_acceptance]
CHECKS_ALL.append(positive_data_passes_request_validation)


@pytest.fixture(scope="module")
def fuzz_env(api_env):
    """The app on a fresh SQLite and PostgreSQL database, one user per role (tests/conftest.py)."""
    return api_env


@pytest.fixture
def api_schema(fuzz_env):
    schema = schemathesis.openapi.from_dict(fuzz_env.app.openapi())
    schema.app = fuzz_env.app
    # Configured credentials, so generation knows they are always sent (no "missing token" cases
    # that the call would then fill in) …
    schema.config.update(headers=_auth(fuzz_env))
    return schema


def _auth(env) -> dict[str, str]:
    return {"Authorization": f"Bearer {env.tokens['admin']}"}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_and_never_fails(case, fuzz_env) -> None:
    # … and passed again here, so `ignored_auth` knows they are real and probes without them.
    case.call_and_validate(headers=_auth(fuzz_env), checks=CHECKS_ALL)
