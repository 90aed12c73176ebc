"""Micro-batching for live suggestions.

Concurrent ``POST /api/v1/triage`` requests are gathered while the previous batch runs and
then triaged together with ``Triager.triage_many`` (vectorised classifier, one thread hop),
so latency under load grows far slower than with one call per request. A lone request
is triaged at once: there is no artificial wait.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from starlette.concurrency import run_in_threadpool

from triage.errors import InputError
from triage.pipeline import Triager
from triage.result import TriageResult


class TriageBatcher:
    def __init__(
        self, triager: Triager, *, lock: AbstractContextManager[Any] | None = None, max_batch: int = 64
    ):
        self.triager = triager
        self.lock = lock if lock is not None else nullcontext()
        self.max_batch = max_batch
        self._pending: list[tuple[str, asyncio.Future[TriageResult | InputError]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def triage(self, text: str) -> TriageResult:
        """Triage one text; bad input raises :class:`InputError` naming the ``text`` field."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[TriageResult | InputError] = loop.create_future()
        self._pending.append((text, future))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        outcome = await future
        if isinstance(outcome, InputError):
            outcome.field = "text"
            raise outcome
        return outcome

    def _run(self, texts: list[str]) -> list[TriageResult | InputError]:
        with self.lock:
            return self.triager.triage_many(texts, skip_invalid=True)

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            texts = [text for text, _ in batch]
            try:
                results = await run_in_threadpool(self._run, texts)
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            except Exception as exc:  # handed to every waiting request (→ 500 in contract shape)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
