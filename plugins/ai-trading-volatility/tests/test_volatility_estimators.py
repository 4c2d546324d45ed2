"""Estimators against independent references: pandas ewm, TA-Lib ATR, scikit-learn Ledoit-Wolf,
closed forms and scipy for equal risk contribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from ai_trading_volatility import (
    erc_weights,
    ewma_variance,
    inverse_vol_weights,
    lambda_from_halflife,
    ledoit_wolf,
    log_returns,
    risk_contributions,
    wilder_atr,
)
from scipy.optimize import minimize
from sklearn.covariance import LedoitWolf

from ai_trading_core.errors import DataError
from ai_trading_core.testing import random_walk_panel


def returns_with_gaps(seed: int = 1, t: int = 300, n: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, 0.015, size=(t, n)) * np.linspace(0.5, 2.0, n)
    r[5:40, 1] = np.nan  # a gap
    r[:120, 2] = np.nan  # listed late
    return r


# ----------------------------------------------------------------------- EWMA
@pytest.mark.parametrize("lam", [0.94, 0.97, 0.5])
def test_ewma_variance_equals_pandas_ewm_of_squared_returns(lam: float) -> None:
    r = returns_with_gaps()
    expected = pd.DataFrame(r**2).ewm(alpha=1.0 - lam, adjust=True).mean().iloc[-1].to_numpy()
    np.testing.assert_allclose(ewma_variance(r, lam), expected, rtol=1e-12)


def test_ewma_halflife_matches_pandas_halflife() -> None:
    r = returns_with_gaps(seed=2)
    expected = pd.DataFrame(r**2).ewm(halflife=10.0, adjust=True).mean().iloc[-1].to_numpy()
    np.testing.assert_allclose(ewma_variance(r, lambda_from_halflife(10.0)), expected, rtol=1e-12)
    assert lambda_from_halflife(10.0) ** 10 == pytest.approx(0.5)


def test_ewma_window_matches_the_riskmetrics_recursion_up_to_truncation() -> None:
    r = np.random.default_rng(3).normal(0.0, 0.01, size=(600, 2))
    var = r[0] ** 2
    for row in r[1:]:
        var = 0.94 * var + 0.06 * row**2
    # the last 400 returns carry all but 0.94^400 ≈ 1.8e-11 of the weight
    np.testing.assert_allclose(ewma_variance(r[-400:], 0.94), var, rtol=1e-8)


def test_ewma_needs_min_periods_finite_returns() -> None:
    r = returns_with_gaps()
    var = ewma_variance(r, 0.94, min_periods=200)
    assert np.isnan(var[2]) and np.isfinite(var[[0, 1, 3]]).all()  # column 2 has 180 returns
    assert np.isnan(ewma_variance(np.empty((0, 3)), 0.94)).all()


def test_log_returns_mark_missing_bars_nan() -> None:
    close = np.array([[100.0, 10.0], [110.0, np.nan], [99.0, 12.0]])
    r = log_returns(close)
    np.testing.assert_allclose(r[:, 0], np.log([1.1, 0.9]))
    assert np.isnan(r[:, 1]).all()


# ----------------------------------------------------------------------- ATR
def test_wilder_atr_equals_talib_on_the_same_rows() -> None:
    panel = random_walk_panel(200, 5, seed=4)
    for rows in (15, 16, 60, 200):
        ours = wilder_atr(panel.high[-rows:], panel.low[-rows:], panel.close[-rows:], 14)
        for j in range(5):
            ref = talib.ATR(
                panel.high[-rows:, j], panel.low[-rows:, j], panel.close[-rows:, j], timeperiod=14
            )[-1]
            assert ours[j] == pytest.approx(ref, rel=1e-12)


def test_wilder_atr_window_converges_to_talib_on_the_full_series() -> None:
    panel = random_walk_panel(1000, 2, seed=5)
    ours = wilder_atr(panel.high[-150:], panel.low[-150:], panel.close[-150:], 14)
    full = [
        talib.ATR(panel.high[:, j], panel.low[:, j], panel.close[:, j], timeperiod=14)[-1] for j in range(2)
    ]
    np.testing.assert_allclose(ours, full, rtol=1e-3)  # seed weight (13/14)^135 ≈ 4.6e-5


def test_wilder_atr_is_nan_without_enough_rows_or_with_gaps() -> None:
    panel = random_walk_panel(30, 2, seed=6)
    assert np.isnan(wilder_atr(panel.high[:14], panel.low[:14], panel.close[:14], 14)).all()
    close = panel.close.copy()
    close[10, 1] = np.nan
    atr = wilder_atr(panel.high, panel.low, close, 14)
    assert np.isfinite(atr[0]) and np.isnan(atr[1])


# ----------------------------------------------------------------------- Ledoit-Wolf
@pytest.mark.parametrize(("n", "p"), [(60, 5), (30, 40), (500, 3), (10, 2)])
def test_ledoit_wolf_equals_sklearn(n: int, p: int) -> None:
    rng = np.random.default_rng(n + p)
    x = rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) * 0.01 + 0.001
    cov, shrinkage = ledoit_wolf(x)
    ref = LedoitWolf().fit(x)
    np.testing.assert_allclose(cov, ref.covariance_, rtol=1e-10, atol=1e-16)
    assert shrinkage == pytest.approx(ref.shrinkage_, rel=1e-10, abs=1e-14)


def test_ledoit_wolf_single_variable_is_the_sample_variance() -> None:
    x = np.random.default_rng(0).normal(size=(50, 1))
    cov, s = ledoit_wolf(x)
    assert s == 0.0 and cov[0, 0] == pytest.approx(np.var(x))


# ----------------------------------------------------------------------- risk parity weights
def test_erc_of_a_diagonal_covariance_is_inverse_volatility() -> None:
    vols = np.array([0.1, 0.2, 0.4, 0.05])
    cov = np.diag(vols**2)
    np.testing.assert_allclose(erc_weights(cov), (1 / vols) / (1 / vols).sum(), rtol=1e-12)
    np.testing.assert_allclose(inverse_vol_weights(cov), (1 / vols) / (1 / vols).sum(), rtol=1e-15)


@pytest.mark.parametrize("rho", [-0.6, 0.0, 0.5, 0.9])
def test_erc_of_two_assets_is_inverse_volatility_whatever_the_correlation(rho: float) -> None:
    # RC_1 = w1²σ1² + w1w2ρσ1σ2, RC_2 = w2²σ2² + w1w2ρσ1σ2: equal iff w1σ1 = w2σ2.
    s1, s2 = 0.1, 0.2
    cov = np.array([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]])
    np.testing.assert_allclose(erc_weights(cov), [2 / 3, 1 / 3], rtol=1e-12)


def random_covariance(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(3 * n, n)) @ np.diag(rng.uniform(0.5, 3.0, n))
    return np.cov(a, rowvar=False) * 1e-4


@pytest.mark.parametrize(("n", "seed"), [(3, 0), (10, 1), (50, 2)])
def test_erc_risk_contributions_are_equal_to_1e_8(n: int, seed: int) -> None:
    cov = random_covariance(n, seed)
    w = erc_weights(cov)
    assert (w > 0).all() and w.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(risk_contributions(w, cov), np.full(n, 1.0 / n), rtol=0, atol=1e-8)


def test_erc_agrees_with_scipy_on_spinu_objective() -> None:
    cov = random_covariance(6, 7)
    sigma = cov / np.diag(cov).mean()
    b = np.full(6, 1 / 6)
    res = minimize(
        lambda y: 0.5 * y @ sigma @ y - b @ np.log(y),
        np.ones(6),
        jac=lambda y: sigma @ y - b / y,
        method="L-BFGS-B",
        bounds=[(1e-9, None)] * 6,
        options={"gtol": 1e-12, "ftol": 1e-15},
    )
    np.testing.assert_allclose(erc_weights(cov), res.x / res.x.sum(), rtol=1e-6)


def test_erc_with_a_negative_correlation_handles_a_short_leg() -> None:
    cov = np.array([[0.04, 0.018, 0.0], [0.018, 0.09, -0.01], [0.0, -0.01, 0.0225]])
    signs = np.array([1.0, -1.0, 1.0])
    w = erc_weights(cov * np.outer(signs, signs))
    np.testing.assert_allclose(risk_contributions(signs * w, cov), np.full(3, 1 / 3), atol=1e-10)


def test_erc_refuses_a_zero_variance() -> None:
    with pytest.raises(DataError, match="positive variances"):
        erc_weights(np.diag([0.01, 0.0]))
