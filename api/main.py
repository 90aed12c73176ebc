"""The FastAPI application: ``create_app(settings=None) -> FastAPI``.

JSON API under ``/api/v1``, Open311 GeoReport v2 under ``/open311/v2``, operations at
``/healthz`` and ``/metrics``. The web UI (pages under ``/``) plugs in as the optional
module ``api.web``: when it exists, its ``router`` is included and its ``setup(app)`` (static
files, templates, session middleware …) is called.

Start-up (lifespan) loads the Triager once, creates the database and applies migrations
if needed, and rebuilds the duplicate index from open cases.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import anyio.to_thread
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api import logs, uploads
from api.batching import TriageBatcher
from api.errors import BodySizeLimitMiddleware, install_error_handlers, max_body_bytes
from api.metrics import Metrics, MetricsMiddleware
from api.security import TokenCache
from api.timeouts import BodyTimeoutMiddleware
from triage.config import Settings, get_settings
from triage.heap import freeze_loaded_objects, thaw_loaded_objects
from triage.pipeline import Triager
from triage.store.db import PG_MAX_OVERFLOW, PG_POOL_SIZE, Database
from triage.store.model_registry import live_model_path
from triage.store.registry import sync_departments
from triage.store.service import CaseService
from triage.store.shadow import ShadowRunner
from triage.store.webhook import DeadlineMonitor

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"
# Worker threads for blocking endpoints (store calls): about the database pool's size, so
# requests queue here rather than on the pool, and memory stays bounded.
THREADS = PG_POOL_SIZE + PG_MAX_OVERFLOW


def _limit_malloc_arenas(n: int = 2) -> None:
    """glibc gives each thread its own malloc arena (up to 8 per core), which inflates the
    service's RSS by tens of MB under load; two are plenty for one event loop plus workers."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").mallopt(-8, n)  # M_ARENA_MAX


def _start_store(app: FastAPI) -> None:
    """Blocking start-up work: model, schema, duplicate index (runs in a worker thread)."""
    settings: Settings = app.state.settings
    if app.state.db is None:
        app.state.db = Database(settings=settings)
        app.state.owns_db = True
    app.state.db.ensure_schema(upgrade=settings.auto_migrate)
    if app.state.triager is None:  # the registry's live bundle of the profile, unless a path is set
        explicit = "model_path" in settings.model_fields_set
        live = None if explicit else live_model_path(app.state.db, settings.profile)
        app.state.triager = Triager.load(live, settings=settings)
    shadow = ShadowRunner.load(app.state.db, settings.profile, settings)
    # rebuilds the duplicate index
    service = CaseService(app.state.db, app.state.triager, settings=settings, shadow=shadow)
    sync_departments(app.state.db, service.catalog, profile=settings.profile)
    app.state.service = service


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Re-entrant: a second lifespan on the same app (test clients) reuses what the first started.
    if app.state.service is None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        await run_in_threadpool(_start_store, app)
        # Share the service's lock: the duplicate index must not change while a batch reads it.
        service = cast(CaseService, app.state.service)  # set by _start_store
        app.state.batcher = TriageBatcher(service.suggest)
        app.state.metrics.model_info.labels(app.state.triager.model_version).set(1)
        log.info(
            "triage service ready: model %s, database %s",
            app.state.triager.model_version,
            app.state.db.dialect,
        )
        freeze_loaded_objects()  # the model, the dictionary and the index live as long as we do
    if app.state.lifespans == 0:  # deadline alerts and their webhook, while the app runs
        store = cast(CaseService, app.state.service)
        app.state.deadline_monitor = DeadlineMonitor(store.db, app.state.settings, store.clock)
        app.state.deadline_monitor.start()
    app.state.lifespans += 1
    try:
        yield
    finally:
        app.state.lifespans -= 1
        if app.state.lifespans == 0 and app.state.deadline_monitor is not None:
            app.state.deadline_monitor.stop()
        if app.state.lifespans == 0 and app.state.owns_db:
            app.state.db.dispose()
        if app.state.lifespans == 0:
            thaw_loaded_objects()  # what the service kept can be collected once it stops


def create_app(
    settings: Settings | None = None,
    *,
    triager: Triager | None = None,
    database: Database | None = None,
) -> FastAPI:
    """Build the app. ``triager``/``database`` let tests share a loaded model or an engine."""
    _limit_malloc_arenas()
    logs.install()  # no token or phone number in any log line, access log included
    from api.routers import (
        attachments,
        cases,
        contact,
        health,
        jobs,
        ledgers,
        lists,
        notifications,
        open311,
        proposals,
        rereview,
        review,
        supervision,
        triage,
    )

    app = FastAPI(
        title="Petition triage service",
        version=API_VERSION,
        description="Classify, route and de-duplicate citizen petitions; review queue and case lifecycle.",
        lifespan=lifespan,
    )
    app.state.settings = settings or get_settings()
    app.state.triager = triager
    app.state.db = database
    app.state.owns_db = False
    app.state.lifespans = 0
    app.state.service = None
    app.state.deadline_monitor = None
    app.state.batcher = None
    app.state.metrics = Metrics()
    app.state.token_cache = TokenCache()

    install_error_handlers(app)
    body_limit = max_body_bytes(app.state.settings.max_text_chars)  # admits every text the intake takes
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=body_limit)
    uploads.setup(app, body_limit)  # the upload paths admit files; the files' directory is checked
    # Outside the size limit, which reads the body first: a body that never ends gets 408.
    app.add_middleware(BodyTimeoutMiddleware, timeout=app.state.settings.request_body_timeout_seconds)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)  # outermost: counts 413s too

    routers = (health, triage, cases, contact, attachments, review, rereview, lists, open311, jobs)
    for module in (*routers, notifications, supervision, proposals, ledgers):
        app.include_router(module.router)
    _include_web_ui(app)
    return app


def _include_web_ui(app: FastAPI) -> None:
    try:
        web = importlib.import_module("api.web")
    except ModuleNotFoundError as exc:
        if exc.name != "api.web":
            raise
        return
    if hasattr(web, "setup"):
        web.setup(app)
    if hasattr(web, "router"):
        app.include_router(web.router)
