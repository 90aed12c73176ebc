"""Property-based fuzzing of every operation in our OpenAPI schema (schemathesis, bounded).

For generated requests (valid and schema-violating) the app must never answer 5xx, every
status must be documented, and every response body must match its documented schema.
Runs as an admin (widest access) on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

MAX_EXAMPLES = int(os.environ.get("TRIAGE_FUZZ_EXAMPLES", "8"))
load_all_checks()
ALL_CHECKS = CHECKS.get_all()  # the CLI's `--checks all`


@pytest.fixture(scope="module")
def fuzz_env(api_env):
    """The app on a fresh SQLite and PostgreSQL database, one user per role (tests/conftest.py)."""
    return api_env


@pytest.fixture
def api_schema(fuzz_env):
    schema = schemathesis.openapi.from_dict(fuzz_env.app.openapi())
    schema.app = fuzz_env.app
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_and_never_fails(case, fuzz_env) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_env.tokens['admin']}"}, checks=ALL_CHECKS)
