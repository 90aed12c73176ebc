"""Auto-dispatch threshold on synthetic calibration sets: target met, ties, infeasible, noise."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from triage.classify.dispatch import (
    METADATA_KEY,
    ThresholdChoice,
    apply_threshold,
    coverage_at_precision,
    threshold_at_precision,
)


def calibrated(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A calibrated model: a suggestion with confidence p is right with probability p."""
    rng = np.random.default_rng(seed)
    conf = rng.beta(4, 1.5, size=n)
    return conf, rng.random(n) < conf


def test_lowest_threshold_reaching_the_target() -> None:
    conf = [0.99, 0.97, 0.95, 0.90, 0.80, 0.70, 0.60, 0.50]
    ok = [True, True, True, True, False, True, False, False]
    choice = threshold_at_precision(conf, ok, 0.8)
    # kept sets: 1/1, 2/2, 3/3, 4/4, 4/5=0.8, 5/6≈0.83, 5/7≈0.71, 5/8 → lowest feasible is 0.70
    assert choice.threshold == 0.70
    assert choice.coverage == pytest.approx(6 / 8)
    assert choice.precision == pytest.approx(5 / 6)
    assert choice.n == 8 and choice.target_precision == 0.8
    assert choice.allows(0.70) and choice.allows(0.99) and not choice.allows(0.69)


def test_a_dip_higher_up_does_not_hide_a_lower_feasible_threshold() -> None:
    # the single top row is wrong; below it many right rows lift the kept set back above the target
    conf = [0.99] + [0.9] * 40 + [0.5] * 10
    ok = [False] + [True] * 40 + [False] * 10
    choice = threshold_at_precision(conf, ok, 0.95)
    assert choice.threshold == 0.9
    assert choice.precision == pytest.approx(40 / 41)
    assert choice.coverage == pytest.approx(41 / 51)


def test_ties_are_kept_or_dropped_together() -> None:
    # at 0.8 three rows tie: two right, one wrong. Splitting the tie would fake 4/4.
    conf = [0.9, 0.9, 0.8, 0.8, 0.8]
    ok = [True, True, True, True, False]
    choice = threshold_at_precision(conf, ok, 0.95)
    assert choice.threshold == 0.9 and choice.coverage == pytest.approx(2 / 5)
    # order of rows inside the tie must not matter
    again = threshold_at_precision(conf[::-1], ok[::-1], 0.95)
    assert again == choice
    assert not choice.allows(0.8)


def test_no_feasible_threshold_keeps_nothing() -> None:
    choice = threshold_at_precision([0.9, 0.8, 0.7], [False, True, False], 0.95)
    assert choice.coverage == 0.0 and not choice.feasible
    assert choice.threshold > 1.0 and math.isfinite(choice.threshold)
    assert not choice.allows(1.0)
    empty = threshold_at_precision([], [], 0.95)
    assert empty.n == 0 and empty.coverage == 0.0 and not empty.allows(1.0)


def test_all_correct_keeps_everything() -> None:
    choice = threshold_at_precision([0.3, 0.6, 0.2], [True, True, True])
    assert choice.threshold == 0.2 and choice.coverage == 1.0 and choice.precision == 1.0


def test_min_support_refuses_thresholds_justified_by_a_few_rows() -> None:
    conf = [0.99, 0.98] + [0.5] * 10
    ok = [True, True] + [False] * 10
    assert threshold_at_precision(conf, ok, 0.95).coverage == pytest.approx(2 / 12)
    assert not threshold_at_precision(conf, ok, 0.95, min_support=5).feasible


def test_calibrated_synthetic_set_holds_on_fresh_data() -> None:
    """Chosen on one sample, the threshold keeps ≈ the target precision on another of the same model."""
    conf, ok = calibrated(20_000, seed=1)
    choice = threshold_at_precision(conf, ok, 0.95)
    assert choice.feasible and choice.precision >= 0.95
    assert 0.05 < choice.coverage < 0.6  # only the confident tail of a calibrated model qualifies
    # exact cumulative precision check against a brute-force scan
    kept = conf >= choice.threshold
    assert ok[kept].mean() == pytest.approx(choice.precision)
    lower = np.sort(np.unique(conf[conf < choice.threshold]))[::-1][:50]
    assert all(ok[conf >= t].mean() < 0.95 for t in lower)
    fresh_conf, fresh_ok = calibrated(20_000, seed=2)
    coverage, precision = apply_threshold(choice, fresh_conf, fresh_ok)
    assert precision == pytest.approx(0.95, abs=0.015)
    assert coverage == pytest.approx(choice.coverage, abs=0.03)
    assert coverage_at_precision(conf, ok) == choice.coverage


def test_metadata_round_trip_and_validation() -> None:
    choice = threshold_at_precision([0.9, 0.8], [True, False], 0.95)
    metadata = {METADATA_KEY: choice.to_dict()}
    assert set(metadata[METADATA_KEY]) == {"threshold", "coverage", "precision", "n", "target_precision"}
    assert ThresholdChoice.from_metadata(metadata) == choice
    assert ThresholdChoice.from_metadata({}) is None
    with pytest.raises(ValueError, match="auto_dispatch"):
        ThresholdChoice.from_dict({"threshold": 0.5})
    with pytest.raises(ValueError, match="out of range"):
        ThresholdChoice.from_dict({"threshold": 0.5, "coverage": 2, "precision": 1, "n": 3})


@pytest.mark.parametrize(
    ("conf", "ok", "target", "message"),
    [
        ([0.5], [True, False], 0.95, "differ in length"),
        ([0.5], [True], 0.0, "target_precision"),
        ([float("nan")], [True], 0.95, "finite"),
    ],
)
def test_bad_input_is_named(conf, ok, target, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        threshold_at_precision(conf, ok, target)


# -- auto-dispatch in the case store (SQLite and PostgreSQL) ------------------------------------------
@pytest.fixture(scope="module")
def city(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The synthetic city profile and its triager (department model probabilities ≈ 0.35–0.45)."""
    from city_profile import build_city_profile

    from triage.config import Settings
    from triage.pipeline import Triager

    root = tmp_path_factory.mktemp("profiles")
    build_city_profile(root, "city")
    settings = Settings(profile="city", profiles_dir=root)
    return settings, Triager.load(settings=settings)


def _service(store_db, store_clock, city, *, enabled: bool, threshold: float | None):  # type: ignore[no-untyped-def]
    """A service whose live bundle carries ``threshold`` (None: no auto_dispatch record at all)."""
    import dataclasses

    from support.api_env import fresh_triager

    from triage.store.service import CaseService

    settings, triager = city
    clone = fresh_triager(triager)
    metadata = dict(triager.bundle.metadata)
    metadata.pop(METADATA_KEY, None)
    if threshold is not None:
        metadata[METADATA_KEY] = ThresholdChoice(threshold, 0.62, 0.96, 400).to_dict()
    clone.bundle = dataclasses.replace(triager.bundle, metadata=metadata)
    return CaseService(
        store_db, clone, settings=settings.model_copy(update={"auto_dispatch": enabled}), clock=store_clock
    )


TRAFFIC = "十字路口红绿灯坏了，车辆乱行，请交警尽快来疏导交通"
STALLS = "美兰区海甸岛人行道被流动摊贩占用，店铺占道经营，请城管来管理"


def test_auto_dispatch_above_threshold(store_db, store_clock, city, tmp_path: Path) -> None:
    from triage.store.autodispatch import AUTO_DISPATCHER

    service = _service(store_db, store_clock, city, enabled=True, threshold=0.2)
    case = service.submit(TRAFFIC)
    assert case.department_confidence is not None and case.department_confidence >= 0.2
    assert case.status == "dispatched" and case.dispatched_by == AUTO_DISPATCHER
    assert case.department == case.suggested_department == "市公安局交通警察支队"
    assert case.category == case.suggested_category and case.reviewed_by is None and not case.needs_review
    events = service.audit_trail(case.case_no)
    assert [e.action for e in events] == ["submit", "auto_dispatch"]
    auto = events[1]
    assert auto.actor == AUTO_DISPATCHER and auto.after["status"] == "dispatched"
    assert (
        auto.after["threshold"] == 0.2 and auto.after["department_confidence"] == case.department_confidence
    )
    assert service.queue_count() == 0
    standing = service.auto_dispatch.standing(case)
    assert standing["auto_dispatched"] and standing["above"] and standing["gap"] > 0
    # not a reviewer's decision: the training export leaves it out
    from triage.store.export import export_training

    assert export_training(store_db, tmp_path / "reviewed.csv") == 0


def test_below_threshold_goes_to_the_queue(store_db, store_clock, city) -> None:
    service = _service(store_db, store_clock, city, enabled=True, threshold=0.99)
    case = service.submit(STALLS)
    assert case.status == "pending_review" and case.dispatched_by is None
    assert service.auto_dispatch.blocker(case) == "below_threshold"
    standing = service.auto_dispatch.standing(case)
    assert standing["threshold"] == 0.99 and not standing["above"] and standing["gap"] < 0
    assert standing["coverage"] == 0.62 and standing["enabled"]
    assert [e.action for e in service.audit_trail(case.case_no)] == ["submit"]
    assert service.queue_count() == 1


def test_off_by_default_and_without_threshold(store_db, store_clock, city) -> None:
    off = _service(store_db, store_clock, city, enabled=False, threshold=0.2)
    assert city[0].auto_dispatch is False  # the setting's default
    case = off.submit(TRAFFIC)
    assert case.status == "pending_review" and off.auto_dispatch.blocker(case) == "disabled"
    assert off.auto_dispatch.standing(case)["above"]  # the reviewer still sees it would clear
    none = _service(store_db, store_clock, city, enabled=True, threshold=None)
    other = none.submit(STALLS)
    assert other.status == "pending_review" and none.auto_dispatch.blocker(other) == "no_threshold"
    assert none.auto_dispatch.standing(other)["threshold"] is None


def test_likely_duplicates_wait_for_a_reviewer(store_db, store_clock, city) -> None:
    service = _service(store_db, store_clock, city, enabled=True, threshold=0.2)
    first = service.submit(STALLS)
    again = service.submit(STALLS)
    assert first.status == "dispatched"
    assert again.duplicate_candidates and again.status == "pending_review"
    assert service.auto_dispatch.blocker(again) == "possible_duplicate"


def test_tipdm_bundle_has_no_threshold(case_service) -> None:
    """The shipped TipDM bundle has no department model threshold: nothing skips review."""
    assert case_service.auto_dispatch.choice is None or not case_service.auto_dispatch.active
