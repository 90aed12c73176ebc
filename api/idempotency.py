"""``Idempotency-Key`` for creating requests: a retry returns the first response and creates nothing.

Keys are scoped per user and stored by the case store with a hash of the request; the same
key with a different body is a 422. Requests with the same key are serialised inside the
process (striped locks), so a retry that overlaps a slow first attempt waits for it and
then replays its response instead of creating a second case.
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
from triage.store.db import Database
from triage.store.registry import idempotent_get, idempotent_put

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


def run_idempotent(
    db: Database,
    user: Principal,
    key: str | None,
    req_hash: str,
    create: Callable[[], tuple[int, Any]],
) -> JSONResponse:
    """Call ``create`` (→ status, JSON body) once per key; replay the stored answer afterwards."""
    if key is None:
        status, body = create()
        return JSONResponse(body, status_code=status)
    scoped = f"{user.id}:{_check_key(key)}"
    with _LOCKS[hash(scoped) % len(_LOCKS)]:
        row = idempotent_get(db, scoped, req_hash)
        if row is not None:
            return JSONResponse(
                row.response, status_code=row.status_code, headers={"Idempotent-Replayed": "true"}
            )
        status, body = create()
        row = idempotent_put(db, scoped, req_hash, body, status_code=status)
        replayed = row.response != body
        return JSONResponse(
            row.response, status_code=row.status_code, headers={"Idempotent-Replayed": str(replayed).lower()}
        )
