"""Dependencies shared by the routers, as ``Annotated`` aliases (``SessionDep``, ``CurrentUser`` …).

The accessors are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in the
thread pool, which would cost a thread hop per dependency per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.batching import TriageBatcher
from api.errors import ApiError
from api.metrics import Metrics
from api.security import Principal, TokenCache
from triage.config import Settings
from triage.pipeline import Triager
from triage.store.db import Database
from triage.store.models import Role
from triage.store.service import CaseService


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_triager(request: Request) -> Triager:
    return request.app.state.triager


async def get_batcher(request: Request) -> TriageBatcher:
    return request.app.state.batcher


async def get_database(request: Request) -> Database:
    return request.app.state.db


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_service(request: Request) -> CaseService:
    return request.app.state.service


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
TriagerDep = Annotated[Triager, Depends(get_triager)]
BatcherDep = Annotated[TriageBatcher, Depends(get_batcher)]
DatabaseDep = Annotated[Database, Depends(get_database)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ServiceDep = Annotated[CaseService, Depends(get_service)]


def get_session(db: DatabaseDep) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    with db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="API token from `triage users add`.")


def unauthorized(message: str = "a valid bearer token is required") -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


async def principal_for_token(request: Request, token: str | None) -> Principal:
    if not token:
        raise unauthorized()
    # One indexed read per request even on a cache hit: a revoke or disable applies at once.
    cache: TokenCache = request.app.state.token_cache
    principal = await run_in_threadpool(cache.authenticate, request.app.state.db, token)
    if principal is None:
        raise unauthorized("invalid, expired or revoked token")
    request.state.principal = principal
    return principal


async def get_current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    return await principal_for_token(request, credentials.credentials if credentials else None)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def require_roles(roles: frozenset[Role]) -> Callable[..., object]:
    """Dependency: the caller must have one of ``roles`` (a role set of :mod:`api.access`), checked
    before the request body is read, so a role that may never call a router gets 403 first."""
    allowed = {r.value for r in roles}

    async def check(user: CurrentUser) -> Principal:
        if user.role not in allowed:
            raise ApiError(
                403,
                "forbidden",
                f"role {user.role!r} may not do this; allowed roles: {', '.join(sorted(allowed))}",
            )
        return user

    return check
