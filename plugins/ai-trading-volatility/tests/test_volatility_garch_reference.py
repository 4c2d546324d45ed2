"""The GARCH(1,1) estimator of ``vol_target`` against references: an independent maximum-
likelihood fit written here (scipy's optimiser on the normal log-likelihood, the same
back-cast start as ``arch``), ``arch``'s own fit and forecast on the sizer's window of real
S&P 500 closes (the data file inside the ``arch`` wheel), and parameters recovered from a
simulated GARCH(1,1) process."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ai_trading_volatility import VolTargetParams, VolTargetSizer
from ai_trading_volatility.garch import fit_garch
from arch import arch_model
from scipy.optimize import minimize

from ai_trading_core.enums import Timeframe
from ai_trading_core.market import History, MarketSlice
from ai_trading_core.protocols import SizingContext


def sp500_closes() -> np.ndarray:
    import arch.data.sp500

    return arch.data.sp500.load()["Adj Close"].to_numpy(dtype=float)


def garch_filter(r: np.ndarray, omega: float, alpha: float, beta: float) -> tuple[np.ndarray, float]:
    """Conditional variances ``h_t`` of a zero-mean GARCH(1,1) and the next bar's forecast.
    The recursion starts from the back-cast ``s² = Σ w_i r_i²`` over the first 75 returns
    with weights ``0.94^i`` (normalised): ``h_0 = ω + α s² + β s²``."""
    tau = min(75, len(r))
    w = 0.94 ** np.arange(tau)
    s2 = float(np.sum(r[:tau] ** 2 * w / w.sum()))
    h = np.empty(len(r))
    prev_r2, prev_h = s2, s2
    for t in range(len(r)):
        h[t] = omega + alpha * prev_r2 + beta * prev_h
        prev_r2, prev_h = r[t] ** 2, h[t]
    return h, omega + alpha * prev_r2 + beta * prev_h


def log_likelihood(r: np.ndarray, omega: float, alpha: float, beta: float) -> float:
    h, _ = garch_filter(r, omega, alpha, beta)
    return float(-0.5 * np.sum(np.log(2 * np.pi) + np.log(h) + r**2 / h))


def reference_fit(r: np.ndarray) -> tuple[float, float, float]:
    """Maximum likelihood by SLSQP under ω > 0, α, β >= 0, α + β < 1 (r in percent)."""
    var = float(np.mean(r**2))
    result = minimize(
        lambda x: -log_likelihood(r, *x),
        x0=np.array([0.05 * var, 0.08, 0.88]),
        method="SLSQP",
        bounds=[(1e-8 * var, 10 * var), (0.0, 1.0), (0.0, 1.0)],
        constraints=[{"type": "ineq", "fun": lambda x: 0.99999 - x[1] - x[2]}],
        options={"ftol": 1e-12, "maxiter": 500},
    )
    assert result.success, result.message
    omega, alpha, beta = (float(x) for x in result.x)
    return omega, alpha, beta


def test_fit_matches_an_independent_maximum_likelihood_fit_on_sp500() -> None:
    closes = sp500_closes()[-1_001:]  # the last 1,000 daily returns of the file (2015-2018)
    r = np.diff(np.log(closes)) * 100.0  # percent, as both fits are best conditioned there
    fitted = fit_garch(r / 100.0)
    assert fitted is not None
    omega, alpha, beta, next_var = fitted
    ours = (omega * 1e4, alpha, beta)
    ref = reference_fit(r)
    # the same optimum: equal likelihoods, parameters and forecast to optimiser precision
    assert log_likelihood(r, *ours) == pytest.approx(log_likelihood(r, *ref), abs=1e-3)
    assert alpha == pytest.approx(ref[1], abs=5e-3) and beta == pytest.approx(ref[2], abs=5e-3)
    assert ours[0] == pytest.approx(ref[0], rel=0.05)
    _, ref_next = garch_filter(r, *ref)
    assert next_var * 1e4 == pytest.approx(ref_next, rel=0.01)
    # and fit_garch's forecast is its own parameters run through the recursion
    assert next_var * 1e4 == pytest.approx(garch_filter(r, *ours)[1], rel=1e-6)
    assert 0.9 < alpha + beta < 1.0  # equity index volatility is persistent


def test_vol_target_forecast_equals_arch_fit_on_the_sizers_window() -> None:
    closes = sp500_closes()[-401:]
    lookback = 300
    n = len(closes)
    history = History(lookback + 1, 1)
    t0 = 1_420_070_400 * 10**9
    for t, c in enumerate(closes):
        row = np.array([c])
        history.push(MarketSlice(t0 + t * 86_400 * 10**9, ("SPX",), row, row, row, row, np.zeros(1)))
    sizer = VolTargetSizer(VolTargetParams(estimator="garch", lookback=lookback, target_vol=0.1, max_leverage=10))
    ctx = SizingContext(
        timestamp=t0 + (n - 1) * 86_400 * 10**9,
        symbols=("SPX",),
        prices=np.array([closes[-1]]),
        equity=1_000_000.0,
        cash=1_000_000.0,
        positions=np.zeros(1),
        history=history,
        instruments=[],
        timeframe=Timeframe.D1,
    )
    units = sizer.target_positions(np.ones(1), ctx)
    # arch, called directly on the last `lookback` log returns (percent)
    r = np.diff(np.log(closes[-(lookback + 1) :])) * 100.0
    res = arch_model(r, mean="Zero", vol="GARCH", p=1, q=1, dist="normal", rescale=False).fit(disp="off")
    arch_var = float(res.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0]) / 1e4
    assert sizer._variance is not None
    assert sizer._variance[0] == pytest.approx(arch_var, rel=1e-9)
    vol = math.sqrt(arch_var * 252)
    assert units[0] == pytest.approx(0.1 / vol * 1_000_000.0 / closes[-1], rel=1e-9)


def test_fit_recovers_the_parameters_of_a_simulated_process() -> None:
    rng = np.random.default_rng(2024)
    omega, alpha, beta = 2e-6, 0.08, 0.90  # fraction² per bar; unconditional vol ≈ 1 %/bar
    n = 6_000
    r = np.empty(n)
    h = omega / (1 - alpha - beta)
    for t in range(n):
        r[t] = math.sqrt(h) * rng.standard_normal()
        h = omega + alpha * r[t] ** 2 + beta * h
    fitted = fit_garch(r)
    assert fitted is not None
    w, a, b, next_var = fitted
    assert a == pytest.approx(alpha, abs=0.02)
    assert b == pytest.approx(beta, abs=0.03)
    assert a + b == pytest.approx(alpha + beta, abs=0.015)
    assert w / (1 - a - b) == pytest.approx(omega / (1 - alpha - beta), rel=0.25)
    assert next_var == pytest.approx(h, rel=0.2)  # the true next-bar variance of the simulation
