"""Where chunks run: in this process, in a local process pool, or on a Dask cluster.

Every engine maps a picklable function over chunks and yields the results in input order,
with a bounded number of chunks in flight so memory stays flat however long the input is.
Workers load the model once (see :mod:`triage.batch.worker`) and reuse it for every chunk.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

from triage.errors import ConfigError

T = TypeVar("T")
DEFAULT_CHUNK_SIZE = 500  # records per chunk: one checkpoint (and one transaction) per chunk


class Engine(Protocol):
    workers: int

    def map(
        self, fn: Callable[..., Any], items: Iterable[tuple[T, Any]], *args: Any
    ) -> Iterator[tuple[T, Any]]:
        """For ``(tag, payload)`` items yield ``(tag, fn(*args, payload))`` in input order;
        only the payload travels to the worker."""
        ...

    def close(self) -> None: ...


def _ordered(
    submit: Callable[[Any], Any], items: Iterable[tuple[T, Any]], window: int
) -> Iterator[tuple[T, Any]]:
    pending: deque[tuple[T, Any]] = deque()
    for tag, payload in items:
        pending.append((tag, submit(payload)))
        if len(pending) >= window:
            head, fut = pending.popleft()
            yield head, fut.result()
    while pending:
        head, fut = pending.popleft()
        yield head, fut.result()


class InlineEngine:
    """Runs chunks in the calling process (``--workers 1``): no pickling, no start-up cost."""

    workers = 1

    def __init__(self, init: Callable[..., Any] | None = None, init_args: tuple[Any, ...] = ()) -> None:
        if init is not None:
            init(*init_args)

    def map(
        self, fn: Callable[..., Any], items: Iterable[tuple[T, Any]], *args: Any
    ) -> Iterator[tuple[T, Any]]:
        for tag, payload in items:
            yield tag, fn(*args, payload)

    def close(self) -> None:
        pass


def _watch_parent(pid: int, every: float = 1.0) -> None:
    """Exit when the job's process is gone. After a kill -9 nothing else would tell us: the
    task queue's write end is held by the workers themselves, so they would wait forever."""
    import time

    while True:
        time.sleep(every)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass


def _pool_init(parent: int, init: Callable[..., Any] | None, init_args: tuple[Any, ...]) -> None:
    """Workers ignore Ctrl-C (the parent handles it, checkpoints and shuts the pool down) and
    die with the parent; then they load the model."""
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="watch-parent").start()
    if init is not None:
        init(*init_args)


class ProcessEngine:
    """A pool of worker processes; ``init`` runs once in each (load the model there)."""

    def __init__(
        self, workers: int, init: Callable[..., Any] | None = None, init_args: tuple[Any, ...] = ()
    ) -> None:
        self.workers = workers
        # forkserver: workers never inherit the parent's threads (progress bar) or locks.
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=mp.get_context(method),
            initializer=_pool_init,
            initargs=(os.getpid(), init, init_args),
        )

    def map(
        self, fn: Callable[..., Any], items: Iterable[tuple[T, Any]], *args: Any
    ) -> Iterator[tuple[T, Any]]:
        def submit(payload: Any) -> Future[Any]:
            return self._pool.submit(fn, *args, payload)

        yield from _ordered(submit, items, window=self.workers * 2)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskEngine:
    """Runs chunks on a ``dask.distributed`` cluster; workers must have this package installed
    and see the same model and routing files (shared path or identical install)."""

    def __init__(self, scheduler: str | Any, init: Callable[..., Any] | None = None, init_args=()) -> None:
        try:
            from distributed import Client
        except ImportError as exc:  # dask is in the batch extra
            message = "the dask engine needs dask[distributed]: pip install 'petition-triage[batch]'"
            raise ConfigError(message) from exc
        if not scheduler:
            raise ConfigError("--engine dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
        try:
            self._client = Client(scheduler, timeout="20s") if isinstance(scheduler, str) else scheduler
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        self._own_client = isinstance(scheduler, str)
        info = self._client.scheduler_info()
        self.workers = max(sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()), 1)
        if init is not None:
            self._client.run(init, *init_args)  # warm every worker once, before the first chunk

    def map(
        self, fn: Callable[..., Any], items: Iterable[tuple[T, Any]], *args: Any
    ) -> Iterator[tuple[T, Any]]:
        def submit(payload: Any) -> Any:
            return self._client.submit(fn, *args, payload, pure=False)

        yield from _ordered(submit, items, window=self.workers * 2 + 1)

    def close(self) -> None:
        if self._own_client:
            self._client.close()


def make_engine(
    engine: str = "local",
    *,
    workers: int = 1,
    scheduler: str | Any = None,
    init: Callable[..., Any] | None = None,
    init_args: tuple[Any, ...] = (),
) -> Engine:
    if engine == "dask":
        return DaskEngine(scheduler, init, init_args)
    if engine != "local":
        raise ConfigError(f"unknown engine {engine!r}; use 'local' or 'dask'")
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    if workers == 1:
        return InlineEngine(init, init_args)
    return ProcessEngine(workers, init, init_args)
