"""GARCH(1,1) one-step variance forecasts, re-fitted periodically with the ``arch`` package.

Fitting is expensive (a maximum-likelihood optimisation per symbol), so the parameters are
re-estimated every ``refit_every`` bars; in between, the forecast is rolled forward with the
GARCH recursion ``h_{t+1} = ω + α r_t² + β h_t``, vectorised across symbols.
"""

from __future__ import annotations

import warnings

import numpy as np
from arch import arch_model

from ai_trading_core.market import FloatArray

_SCALE = 100.0  # arch's optimiser is best conditioned on returns in percent


def fit_garch(returns: FloatArray) -> tuple[float, float, float, float] | None:
    """Fit a zero-mean GARCH(1,1) with normal innovations to one symbol's returns.

    :param returns: 1-D per-bar returns (fraction), NaN-free, oldest first.
    :return: ``(omega, alpha, beta, next_variance)`` in fraction² per bar, or None when the
        optimiser did not converge.
    """
    model = arch_model(returns * _SCALE, mean="Zero", vol="GARCH", p=1, q=1, dist="normal", rescale=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence is checked below, not warned about
        res = model.fit(disp="off", show_warning=False)
    if res.convergence_flag != 0:
        return None
    omega, alpha, beta = (float(res.params[k]) for k in ("omega", "alpha[1]", "beta[1]"))
    next_var = float(res.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0])
    s2 = _SCALE * _SCALE
    return omega / s2, alpha, beta, next_var / s2


class GarchForecaster:
    """Per-symbol GARCH(1,1) state for one run.

    :param refit_every: re-estimate the parameters every this many bars (bars).
    :param min_obs: finite returns needed to fit a symbol (returns); fewer give NaN.
    """

    __slots__ = ("refit_every", "min_obs", "omega", "alpha", "beta", "variance", "bars_since_fit", "fits")

    def __init__(self, refit_every: int, min_obs: int) -> None:
        self.refit_every = refit_every
        self.min_obs = min_obs
        self.omega = self.alpha = self.beta = self.variance = np.empty(0)
        self.bars_since_fit = 0
        self.fits = 0  # number of re-estimations so far (each fits every symbol)

    def refit(self, returns: FloatArray) -> None:
        """Fit every symbol on its finite returns of the (T, N) window; the variance is the
        forecast for the bar after the window's last row."""
        n = returns.shape[1]
        if len(self.variance) != n:
            self.omega, self.alpha, self.beta, self.variance = (np.full(n, np.nan) for _ in range(4))
        for j in range(n):
            col = returns[:, j]
            col = col[np.isfinite(col)]
            fitted = fit_garch(col) if len(col) >= self.min_obs else None
            if fitted is not None:
                self.omega[j], self.alpha[j], self.beta[j], self.variance[j] = fitted
            # On failure a symbol keeps its previous parameters and forecast (NaN if none).
        self.bars_since_fit = 0
        self.fits += 1

    def step(self, returns: FloatArray, new_rows: int) -> FloatArray:
        """Advance by ``new_rows`` bars whose returns are the last rows of the (T, N) window:
        re-fit when ``refit_every`` bars have passed since the last fit (or never fitted),
        else roll the forecasts through the new returns. Returns the (N,) forecast for the
        next bar (fraction² per bar)."""
        if self.fits == 0:
            self.refit(returns)
            return self.variance
        self.bars_since_fit += new_rows
        # Roll first: a symbol whose re-fit fails keeps its old parameters and an up-to-date
        # forecast; a successful re-fit overwrites both.
        for newest in returns[max(len(returns) - new_rows, 0) :]:
            self.roll(newest)
        if self.bars_since_fit >= self.refit_every:
            self.refit(returns)
        return self.variance

    def roll(self, newest: FloatArray) -> None:
        """Roll the forecasts one bar forward with the newest (N,) returns; a NaN return
        leaves that symbol's forecast unchanged."""
        rolled = self.omega + self.alpha * newest * newest + self.beta * self.variance
        self.variance = np.where(np.isfinite(newest), rolled, self.variance)
