"""Bounded proportional weights and rolling Sharpe ratios, against hand-worked values."""

from __future__ import annotations

import numpy as np
import pytest
from ai_trading_ensemble import bounded_weights, rolling_sharpe


def test_unbounded_weights_are_proportional() -> None:
    np.testing.assert_allclose(bounded_weights(np.array([1.0, 3.0]), 0.0, 1.0), [0.25, 0.75])


def test_cap_redistributes_the_excess_proportionally() -> None:
    # 0.8 capped at 0.5; the other two share 0.5 in proportion 1:1
    np.testing.assert_allclose(bounded_weights(np.array([0.8, 0.1, 0.1]), 0.1, 0.5), [0.5, 0.25, 0.25])
    # 6:3:1 with a floor of 0.2: the small one is lifted to 0.2, the rest share 0.8 as 2:1
    np.testing.assert_allclose(
        bounded_weights(np.array([6.0, 3.0, 1.0]), 0.2, 1.0), [0.8 * 2 / 3, 0.8 / 3, 0.2]
    )


def test_only_positive_members_at_the_cap_leave_the_rest_to_the_others() -> None:
    np.testing.assert_allclose(bounded_weights(np.array([1.0, 0.0, 0.0]), 0.1, 0.5), [0.5, 0.25, 0.25])
    np.testing.assert_allclose(bounded_weights(np.array([1.0, 0.0]), 0.2, 0.8), [0.8, 0.2])
    np.testing.assert_allclose(bounded_weights(np.zeros(4), 0.0, 1.0), [0.25] * 4)


@pytest.mark.parametrize("seed", range(20))
def test_random_weights_sum_to_one_within_bounds(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 7))
    lo = float(rng.uniform(0, 1 / k))
    hi = float(rng.uniform(1 / k, 1))
    raw = rng.exponential(size=k) * (rng.random(k) > 0.3)
    w = bounded_weights(raw, lo, hi)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert (w >= lo - 1e-9).all() and (w <= hi + 1e-9).all()
    inside = (w > lo + 1e-9) & (w < hi - 1e-9) & (raw > 0)
    if inside.sum() >= 2:  # unclipped members keep their proportions
        ratio = w[inside] / raw[inside]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)


def test_rolling_sharpe_is_mean_over_sample_std() -> None:
    r = np.array([[0.01, 0.02, -0.01, 0.03], [0.0, 0.0, 0.0, 0.0]])
    expected = np.mean(r[0]) / np.std(r[0], ddof=1)
    np.testing.assert_allclose(rolling_sharpe(r), [expected, 0.0])
    np.testing.assert_array_equal(rolling_sharpe(r[:, :1]), [0.0, 0.0])
