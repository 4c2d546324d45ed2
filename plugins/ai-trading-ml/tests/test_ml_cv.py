"""Purged and embargoed k-fold: no training label overlaps a test label, nothing starts in
the embargo, and every sample is tested exactly once."""

from __future__ import annotations

import numpy as np
import pytest
from ai_trading_ml.cv import PurgedKFold

from ai_trading_core.errors import ConfigError


def _brute_force_train(times: np.ndarray, test: np.ndarray, horizon: int, embargo: int) -> np.ndarray:
    """Training set by definition: drop any sample whose label [s, s + h] intersects a test
    label, or that starts within `embargo` bars after the last test label ends."""
    test_intervals = [(int(times[i]), int(times[i]) + horizon) for i in test]
    last_end = max(e for _, e in test_intervals)
    first_start = min(s for s, _ in test_intervals)
    keep = []
    for i, s in enumerate(times):
        s = int(s)
        overlaps = any(s <= e and a <= s + horizon for a, e in test_intervals)
        in_span = first_start <= s <= last_end
        embargoed = last_end < s <= last_end + embargo
        if not (overlaps or in_span or embargoed):
            keep.append(i)
    return np.array(keep, dtype=np.int64)


@pytest.mark.parametrize(("horizon", "embargo"), [(0, 0), (1, 0), (5, 0), (5, 3), (10, 20)])
def test_split_matches_the_definition(horizon: int, embargo: int) -> None:
    # two symbols per bar, bars 0..99 with a gap
    bars = np.r_[np.arange(0, 40), np.arange(45, 100)]
    times = np.repeat(bars, 2)
    tested = np.zeros(len(times), dtype=int)
    for train, test in PurgedKFold(5, horizon=horizon, embargo=embargo).split(times):
        np.testing.assert_array_equal(train, _brute_force_train(times, test, horizon, embargo))
        tested[test] += 1
        # explicit check of the two properties
        lo, hi = times[test].min(), times[test].max()
        tr = times[train]
        assert not ((tr + horizon >= lo) & (tr <= hi + horizon)).any(), "overlapping label kept"
        assert not ((tr > hi + horizon) & (tr <= hi + horizon + embargo)).any(), "embargoed sample kept"
    assert (tested == 1).all()


def test_purge_and_embargo_remove_exactly_the_overlapping_samples() -> None:
    """Hand-worked: 20 bars, 4 folds of 5 bars, horizon 2, embargo 1. Test fold 2 is bars
    5..9; its labels reach bar 11. Train keeps bars whose label ends before 5 (0..2) and bars
    after 11 + 1 (13..19): bars 3, 4 are purged, 10, 11 purged, 12 embargoed."""
    splits = list(PurgedKFold(4, horizon=2, embargo=1).split(np.arange(20)))
    train, test = splits[1]
    np.testing.assert_array_equal(test, np.arange(5, 10))
    np.testing.assert_array_equal(train, np.r_[0:3, 13:20])
    train0, test0 = splits[0]
    np.testing.assert_array_equal(test0, np.arange(0, 5))
    np.testing.assert_array_equal(train0, np.arange(8, 20))  # 5, 6 purged; 7 embargoed


def test_without_horizon_or_embargo_it_is_plain_contiguous_kfold() -> None:
    from sklearn.model_selection import KFold

    times = np.arange(50)
    ours = list(PurgedKFold(5, horizon=0, embargo=0).split(times))
    theirs = list(KFold(5).split(times))
    for (a_train, a_test), (b_train, b_test) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a_train, b_train)
        np.testing.assert_array_equal(a_test, b_test)


def test_bad_configuration_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        PurgedKFold(1)
    with pytest.raises(ConfigError):
        PurgedKFold(3, horizon=-1)
    with pytest.raises(ConfigError, match="distinct bars"):
        list(PurgedKFold(5).split([1, 1, 2, 2]))
