"""The app's lifespan: what the service keeps for its whole life is out of the collector's reach."""

from __future__ import annotations

import gc

from support.api_env import running_app


def test_startup_objects_are_frozen_while_the_service_runs(tmp_path, store_triager) -> None:
    gc.unfreeze()
    with running_app(f"sqlite:///{tmp_path / 'app.db'}", store_triager) as env:
        # the model, the dictionary and the index: a full collection would walk them every time
        assert gc.get_freeze_count() > 10_000
        assert env.client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() == 0  # stopped: its objects can be collected again
