"""VaR, CVaR and correlation clusters against closed forms, scipy and hand-worked samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ai_trading_risk_limits import (
    correlation_clusters,
    historical_cvar,
    historical_var,
    parametric_cvar,
    parametric_var,
    signed_correlation_clusters,
    simple_returns,
)
from ai_trading_risk_limits.measures import tail_count
from scipy import integrate
from scipy.stats import norm

from ai_trading_core.errors import RiskError


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.975, 0.99])
@pytest.mark.parametrize(("mu", "sigma"), [(0.0, 0.01), (0.0005, 0.02), (-0.001, 0.035)])
def test_parametric_var_is_the_normal_quantile(confidence: float, mu: float, sigma: float) -> None:
    # VaR is minus the (1 - c) quantile of N(mu, sigma^2)
    expected = -norm.ppf(1 - confidence, loc=mu, scale=sigma)
    assert parametric_var(mu, sigma, confidence) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("confidence", [0.95, 0.975, 0.99])
def test_parametric_cvar_is_the_normal_tail_mean(confidence: float) -> None:
    mu, sigma = 0.0003, 0.015
    q = norm.ppf(1 - confidence, loc=mu, scale=sigma)
    tail_mean, _ = integrate.quad(lambda x: x * norm.pdf(x, mu, sigma), -np.inf, q)
    expected = -tail_mean / (1 - confidence)
    assert parametric_cvar(mu, sigma, confidence) == pytest.approx(expected, rel=1e-8)
    # closed form for the standard normal at 97.5 %: phi(1.95996) / 0.025 = 2.33780
    assert parametric_cvar(0.0, 1.0, 0.975) == pytest.approx(2.3378, abs=1e-4)


def test_historical_var_converges_to_the_normal_quantile_on_a_normal_sample() -> None:
    rng = np.random.default_rng(42)
    sample = rng.normal(0.0, 0.02, 400_000)
    for c in (0.95, 0.99):
        assert historical_var(sample, c) == pytest.approx(parametric_var(0.0, 0.02, c), rel=0.01)
    assert historical_cvar(sample, 0.975) == pytest.approx(parametric_cvar(0.0, 0.02, 0.975), rel=0.01)


def test_historical_var_and_cvar_on_a_hand_made_sample() -> None:
    # 20 outcomes -5, -4, ..., 14, shuffled
    sample = np.array([3, -5, 14, 0, -1, 7, 9, -4, 2, 11, -3, 5, 1, 13, -2, 6, 8, 4, 12, 10], dtype=float)
    # c = 95 %: k = ceil(20 * 0.05) = 1 -> the worst outcome, -5
    assert historical_var(sample, 0.95) == 5.0
    assert historical_cvar(sample, 0.95) == 5.0
    # c = 90 %: k = 2 -> VaR = 4, CVaR = (5 + 4) / 2
    assert historical_var(sample, 0.90) == 4.0
    assert historical_cvar(sample, 0.90) == 4.5
    # c = 80 %: k = 4 -> VaR = 2, CVaR = (5 + 4 + 3 + 2) / 4 = 3.5
    assert historical_var(sample, 0.80) == 2.0
    assert historical_cvar(sample, 0.80) == 3.5
    # numpy's inverted-cdf quantile agrees where n (1 - c) is exact in binary (k = 5 and 10);
    # at c = 0.95 it takes 20 * 0.05 = 1.0000000000000009 for more than one observation
    for c in (0.75, 0.5):
        assert historical_var(sample, c) == -np.quantile(sample, 1 - c, method="inverted_cdf")
    assert -np.quantile(sample, 1 - 0.95, method="inverted_cdf") == 4.0


def test_tail_count_absorbs_binary_rounding() -> None:
    assert 100 * (1 - 0.95) > 5  # the reason for the tolerance
    assert tail_count(100, 0.95) == 5
    assert tail_count(250, 0.99) == 3  # 2.5 -> 3
    assert tail_count(10, 0.99) == 1
    with pytest.raises(RiskError):
        tail_count(10, 1.0)
    with pytest.raises(RiskError):
        historical_var(np.array([]), 0.95)


def test_simple_returns_zero_where_a_price_is_missing() -> None:
    close = np.array([[100.0, np.nan], [110.0, 50.0], [99.0, 55.0]])
    r = simple_returns(close)
    assert r[:, 0] == pytest.approx([0.1, -0.1])
    assert r[0, 1] == 0.0 and r[1, 1] == pytest.approx(0.1)


def test_correlation_clusters_hand_case() -> None:
    #        A     B     C     D     E
    corr = np.array(
        [
            [1.00, 0.90, 0.70, 0.10, 0.00],
            [0.90, 1.00, 0.85, 0.20, 0.00],
            [0.70, 0.85, 1.00, 0.10, 0.00],
            [0.10, 0.20, 0.10, 1.00, 0.95],
            [0.00, 0.00, 0.00, 0.95, 1.00],
        ]
    )
    labels = correlation_clusters(corr, 0.8)
    # A-B (0.90) and B-C (0.85) chain A, B, C together although A-C is only 0.70; D-E pair up
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4] != labels[0]
    labels = correlation_clusters(corr, 0.92)
    assert len(set(labels[:3].tolist())) == 3 and labels[3] == labels[4]
    # a NaN correlation (constant series) links nothing
    corr[0, 1] = corr[1, 0] = math.nan
    labels = correlation_clusters(corr, 0.8)
    assert labels[1] == labels[2] and labels[0] != labels[1]


def test_signed_correlation_clusters_orient_each_symbol_and_flag_mixed_clusters() -> None:
    #        A      B      C      D      E
    corr = np.array(
        [
            [1.00, -0.95, 0.90, 0.10, 0.00],
            [-0.95, 1.00, -0.85, 0.20, 0.00],
            [0.90, -0.85, 1.00, 0.10, 0.00],
            [0.10, 0.20, 0.10, 1.00, -0.70],
            [0.00, 0.00, 0.00, -0.70, 1.00],
        ]
    )
    labels, orient, mixed = signed_correlation_clusters(corr, 0.8)
    # B moves opposite to A and C: one cluster, B oriented against them
    assert labels[0] == labels[1] == labels[2] and orient[:3].tolist() == [1.0, -1.0, 1.0]
    # D and E (|rho| 0.70 < 0.8) stand alone; no cluster is mixed
    assert len({labels[0], labels[3], labels[4]}) == 3 and not mixed.any()
    labels, orient, _ = signed_correlation_clusters(corr, 0.7)
    assert labels[3] == labels[4] and orient[4] == -orient[3]
    # a chain A~B~C~D "same way" with a direct A~D "opposite" link: no orientation fits
    chain = np.eye(4)
    for a, b, r in ((0, 1, 0.9), (1, 2, 0.9), (2, 3, 0.9), (0, 3, -0.9)):
        chain[a, b] = chain[b, a] = r
    labels, _, mixed = signed_correlation_clusters(chain, 0.8)
    assert len(set(labels.tolist())) == 1 and mixed.tolist() == [True]
    with pytest.raises(RiskError, match="threshold"):
        signed_correlation_clusters(corr, 0.0)


def _orient_by_walking(corr: np.ndarray, threshold: float) -> tuple[list[int], list[float], set[int]]:
    """Plain depth-first walk over the links, cluster by cluster, and a check of every link."""
    n = len(corr)
    linked = [[j for j in range(n) if j != i and abs(corr[i, j]) >= threshold] for i in range(n)]
    label, orient = [-1] * n, [0.0] * n
    for start in range(n):
        if label[start] >= 0:
            continue
        label[start], orient[start] = start, 1.0
        stack = [start]
        while stack:
            i = stack.pop()
            for j in linked[i]:
                if label[j] < 0:
                    label[j], orient[j] = start, orient[i] * math.copysign(1.0, corr[i, j])
                    stack.append(j)
    mixed = {
        label[i] for i in range(n) for j in linked[i] if math.copysign(1.0, corr[i, j]) != orient[i] * orient[j]
    }
    return label, orient, mixed


def test_signed_clusters_agree_with_a_plain_walk_on_random_books() -> None:
    rng = np.random.default_rng(5)
    for _ in range(25):
        n, k = int(rng.integers(3, 60)), int(rng.integers(1, 4))
        returns = rng.normal(size=(120, k)) @ rng.normal(size=(k, n)) + rng.normal(size=(120, n))
        corr = np.corrcoef(returns.T)
        threshold = float(rng.uniform(0.2, 0.9))
        labels, orient, mixed = signed_correlation_clusters(corr, threshold)
        ref_label, ref_orient, ref_mixed = _orient_by_walking(corr, threshold)
        for i in range(n):
            for j in range(n):
                assert (labels[i] == labels[j]) == (ref_label[i] == ref_label[j])
        assert {ref_label[i] for i in range(n) if mixed[labels[i]]} == ref_mixed
        for i in range(n):  # same orientation up to the sign of the whole cluster
            first = ref_label[i]
            if first not in ref_mixed:
                assert orient[i] * orient[first] == ref_orient[i] * ref_orient[first]
