"""``Idempotency-Key`` for creating requests: a retry returns the first response and creates nothing.

Keys are scoped per user. The store keeps the key, a hash of the request and the response
in the same transaction as the new case (``CaseService.submit_idempotent``), so even a crash
or a retry that reaches another worker cannot create a second case; the same key with a
different body is a 422. Within one process, requests with the same key also wait for each
other (striped locks), which only saves the loser a wasted triage.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse

from api.errors import ApiError
from api.security import Principal
from triage.store.models import Case
from triage.store.service import CaseService

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 100
_LOCKS = [threading.Lock() for _ in range(64)]


def request_hash(method: str, path: str, payload: Any) -> str:
    blob = json.dumps([method, path, payload], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_CHARS or not key.isascii() or not key.isprintable():
        raise ApiError(
            422,
            "invalid_idempotency_key",
            f"{HEADER} must be 1-{MAX_KEY_CHARS} printable ASCII characters",
            field=HEADER,
        )
    return key


def submit_idempotent(
    service: CaseService,
    user: Principal,
    key: str | None,
    req_hash: str,
    fields: dict[str, Any],
    render: Callable[[Case], Any],
    *,
    on_created: Callable[[Case], None] | None = None,
    status_code: int = 201,
) -> JSONResponse:
    """Submit the case described by ``fields`` once per key; replay the stored answer afterwards."""
    if key is None:
        case = service.submit(**fields)
        if on_created is not None:
            on_created(case)
        return JSONResponse(render(case), status_code=status_code)
    key = _check_key(key)
    owner = str(user.id)
    with _LOCKS[hash(f"{owner}:{key}") % len(_LOCKS)]:
        outcome = service.submit_idempotent(
            idempotency_key=key,
            request_hash=req_hash,
            owner=owner,
            render=render,
            status_code=status_code,
            **fields,
        )
    if outcome.case is not None and on_created is not None:
        on_created(outcome.case)
    headers = {"Idempotent-Replayed": str(outcome.replayed).lower()}
    return JSONResponse(outcome.response, status_code=outcome.status_code, headers=headers)
