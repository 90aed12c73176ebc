"""Held-out splits of an export: the latest rows by time (what a city will face) or stratified."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime

from sklearn.model_selection import train_test_split

from training.datasets import Export


def split_indices(
    data: Export, holdout: float, seed: int, *, by_time: bool, min_count: int = 3
) -> tuple[list[int], list[int]] | None:
    """(train, held-out) row indices, or None when the data is too small to split.

    By time: the latest ``holdout`` fraction (file order breaks ties; rows without a parseable date
    count as the earliest, so they are never held out). Stratified: by first-level label, with rows
    of classes too small to stratify kept in training.
    """
    n = len(data)
    if holdout <= 0 or n < 4:
        return None
    if by_time:
        order = sorted(range(n), key=lambda i: (data.times[i] or datetime.min, i))
        n_test = math.ceil(holdout * n)
        if n - n_test < 2:
            return None
        return sorted(order[:-n_test]), sorted(order[-n_test:])
    labels = data.column(0)
    counts = Counter(labels)
    fixed = [i for i, label in enumerate(labels) if counts[label] < max(3, min_count)]
    rest = [i for i, label in enumerate(labels) if counts[label] >= max(3, min_count)]
    strata = Counter(labels[i] for i in rest)
    n_test = max(math.ceil(holdout * n), len(strata))
    if len(strata) < 2 or len(rest) - n_test < 2 * len(strata):
        return None
    train, test = train_test_split(
        rest, test_size=n_test, stratify=[labels[i] for i in rest], random_state=seed
    )
    return sorted(train + fixed), sorted(test)
