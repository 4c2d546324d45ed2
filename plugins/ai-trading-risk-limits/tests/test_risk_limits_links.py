"""The screened correlation links (:class:`CovarianceLinks`, what the rolling estimator uses)
are exactly the dense test's (:func:`covariance_links`): the same pairs in the same order,
call after call, while variances drift, collapse and come back, entries sit on the
threshold, the matrix is not exactly symmetric, and nearly everything is linked."""

from __future__ import annotations

import numpy as np
import pytest
from ai_trading_risk_limits.measures import CovarianceLinks, covariance_links

from ai_trading_core.errors import RiskError


def factor_cov(n: int, rng: np.random.Generator, loading: float = 0.7) -> np.ndarray:
    """A covariance with a common factor, so that many correlations lie near 0.3-0.6."""
    beta = rng.uniform(-loading, loading, n)
    corr = np.outer(beta, beta)
    np.fill_diagonal(corr, 1.0)
    sd = rng.uniform(0.005, 0.03, n)
    cov: np.ndarray = corr * np.outer(sd, sd)
    return cov


def assert_same_links(test: CovarianceLinks, cov: np.ndarray, threshold: float) -> int:
    got_i, got_j = test(cov)
    want_i, want_j = covariance_links(cov, threshold)
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_array_equal(got_j, want_j)
    assert got_i.dtype == want_i.dtype == np.int64
    return len(want_i)


@pytest.mark.parametrize("threshold", [0.2, 0.4, 0.5, 1.0])
def test_drifting_covariances_give_the_dense_links(threshold: float) -> None:
    rng = np.random.default_rng(int(threshold * 10))
    n = 40
    cov = factor_cov(n, rng)
    test = CovarianceLinks(threshold)
    linked = 0
    for step in range(120):
        # a symmetric rank-2 move, as the rolling estimator makes
        a, d = rng.normal(0, 0.002, n), rng.normal(0, 0.002, n)
        cov = cov + (np.outer(a, d) + np.outer(d, a)) / 50
        np.fill_diagonal(cov, np.abs(np.diag(cov)) + 1e-6)
        if step % 17 == 5:  # one variance collapses (a rebuild of the screen is due)
            k = int(rng.integers(n))
            cov[k, :] *= 0.3
            cov[:, k] *= 0.3
        if step == 30:  # a symbol stops trading: no variance, no link
            cov[3, :] = 0.0
            cov[:, 3] = 0.0
        if step == 60:  # and trades again
            cov[3, :] = cov[4, :] * 0.9
            cov[:, 3] = cov[:, 4] * 0.9
            cov[3, 3] = cov[4, 4]
        linked += assert_same_links(test, cov, threshold)
    assert test.rebuilds >= 3  # the collapses and the symbol's return forced rebuilds
    if threshold < 1.0:
        assert linked > 0


def test_entries_on_the_threshold_and_an_asymmetric_matrix() -> None:
    """Correlations set to exactly the threshold (and one ulp either side), in one
    direction only: each direction is decided on its own, as the dense test decides it."""
    rng = np.random.default_rng(7)
    n, t = 12, 0.5
    cov = factor_cov(n, rng, loading=0.3)
    sd = np.sqrt(np.diag(cov))
    test = CovarianceLinks(t)
    assert_same_links(test, cov, t)  # builds the screen on these variances
    for i, j, scale in [(0, 1, 1.0), (2, 5, np.nextafter(1.0, 0.0)), (7, 3, np.nextafter(1.0, 2.0))]:
        cov[i, j] = -t * (sd[i] * sd[j]) * scale  # only (i, j); (j, i) keeps its value
    linked = assert_same_links(test, cov, t)
    assert linked >= 2


def test_a_universe_where_almost_everything_is_linked() -> None:
    """Most entries pass the screen: the dense test is used, with the same answer."""
    rng = np.random.default_rng(3)
    n = 30
    beta = rng.uniform(0.9, 1.0, n)
    corr = np.outer(beta, beta)
    np.fill_diagonal(corr, 1.0)
    cov = corr * 1e-4
    test = CovarianceLinks(0.5)
    assert assert_same_links(test, cov, 0.5) == n * (n - 1)


def test_sizes_change_and_odd_values() -> None:
    rng = np.random.default_rng(11)
    test = CovarianceLinks(0.3)
    for n in (1, 2, 65, 130, 7):  # across the screen's blocks of rows, and back
        cov = factor_cov(n, rng)
        assert_same_links(test, cov, 0.3)
    cov = factor_cov(9, rng)
    cov[2, 2] = -1e-20  # a rounding-negative variance: its symbol links nothing
    cov[4, 6] = np.nan
    assert_same_links(test, cov, 0.3)
    with pytest.raises(RiskError):
        CovarianceLinks(0.0)


def test_a_variance_that_falls_a_little_does_not_hide_a_link() -> None:
    """The screen is built on the variances of its first call; a standard deviation that
    then falls by 5 % (within the screen's margin, so no rebuild) while the correlation
    crosses the threshold still gives the link."""
    n, t = 6, 0.5
    sd = np.array([0.02, 0.01, 0.015, 0.03, 0.012, 0.025])
    corr = np.full((n, n), 0.3)
    np.fill_diagonal(corr, 1.0)
    cov = corr * np.outer(sd, sd)
    test = CovarianceLinks(t)
    assert assert_same_links(test, cov, t) == 0
    rebuilds = test.rebuilds
    sd_0 = sd[0] * 0.95
    cov[0, 0] = sd_0 * sd_0
    cov[0, 1] = cov[1, 0] = 0.51 * sd_0 * sd[1]
    assert assert_same_links(test, cov, t) == 2
    assert test.rebuilds == rebuilds  # the screen was not rebuilt: its margin covered the fall
