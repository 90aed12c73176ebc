"""Micro-batching for live suggestions.

Concurrent ``POST /api/v1/triage`` requests are gathered while the previous batch runs and
then triaged together through ``suggest`` — ``CaseService.suggest``, which first catches the
duplicate index up with cases other workers stored, then calls ``Triager.triage_many``
(vectorised classifier, one thread hop) —
so latency under load grows far slower than with one call per request. A lone request
is triaged at once: there is no artificial wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from starlette.concurrency import run_in_threadpool

from triage.errors import InputError
from triage.result import TriageResult

Fields = Mapping[str, str | None] | None  # a case's location fields (district, street …) or None
SuggestFn = Callable[..., list[TriageResult | InputError]]  # (texts, *, fields=[Fields, …])


class TriageBatcher:
    def __init__(self, suggest: SuggestFn, *, max_batch: int = 64):
        self.suggest = suggest
        self.max_batch = max_batch
        self._pending: list[tuple[str, Fields, asyncio.Future[TriageResult | InputError]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def triage(self, text: str, fields: Fields = None) -> TriageResult:
        """Triage one text (``fields`` locate the case for the department model); bad input
        raises :class:`InputError` naming the ``text`` field."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[TriageResult | InputError] = loop.create_future()
        self._pending.append((text, fields, future))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        outcome = await future
        if isinstance(outcome, InputError):
            outcome.field = "text"
            raise outcome
        return outcome

    def _run(self, texts: list[str], fields: list[Fields]) -> list[TriageResult | InputError]:
        return self.suggest(texts, fields=fields)

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            texts = [text for text, _, _ in batch]
            fields = [f for _, f, _ in batch]
            try:
                results = await run_in_threadpool(self._run, texts, fields)
            except asyncio.CancelledError:
                for _, _, future in batch:
                    future.cancel()
                raise
            except Exception as exc:  # handed to every waiting request (→ 500 in contract shape)
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, _, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
