"""The API app for attachment tests: its own database and attachments directory (never var/)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from support.api_env import ApiEnv, postgres_available, running_app, temporary_database

BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def attachment_app(
    backend: str, tmp: Path, triager: Any, max_bytes: int = 300_000, per_case: int = 4
) -> Iterator[ApiEnv]:
    if backend == "postgresql" and not postgres_available():
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    with (
        temporary_database(backend, tmp) as url,
        running_app(
            url,
            triager,
            attachments_dir=tmp / "attachments",
            attachment_max_bytes=max_bytes,
            attachment_max_per_case=per_case,
        ) as env,
    ):
        yield env
