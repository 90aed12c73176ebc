"""The loaded objects are frozen out of the collector's reach by every long-running entry point."""

from __future__ import annotations

import gc

from triage.batch import worker
from triage.heap import freeze_loaded_objects, thaw_loaded_objects


def test_freeze_moves_live_objects_out_of_collection_and_thaw_undoes_it() -> None:
    kept = [[i] for i in range(1000)]  # tracked containers alive at "load" time

    def collected() -> set[int]:
        return {id(o) for generation in range(3) for o in gc.get_objects(generation=generation)}

    try:
        freeze_loaded_objects()
        assert gc.get_freeze_count() >= len(kept)
        walked = collected()
        assert not any(id(x) in walked for x in kept)  # no collection visits them any more
    finally:
        thaw_loaded_objects()
    assert gc.get_freeze_count() == 0
    walked = collected()
    assert all(id(x) in walked for x in kept)


def test_batch_worker_freezes_after_loading_its_model(monkeypatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(worker, "freeze_loaded_objects", lambda: calls.append("frozen"))
    spec = worker.ModelSpec(model_path=None, routing_path=None)
    monkeypatch.setattr(worker, "_TRIAGERS", {})
    triager = worker.get_triager(spec)
    assert calls == ["frozen"]
    assert worker.get_triager(spec) is triager  # loaded once, frozen once
    assert calls == ["frozen"]
