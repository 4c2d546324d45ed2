"""Volatility estimators on (T, N) arrays, vectorised across symbols.

Returns are log returns of closes; NaN marks a missing bar and propagates to the returns on
either side of it.
"""

from __future__ import annotations

import math

import numpy as np

from ai_trading_core.market import FloatArray

RISKMETRICS_LAMBDA = 0.94  # J.P. Morgan RiskMetrics (1996) decay for daily data


def log_returns(close: FloatArray) -> FloatArray:
    """Log returns ``ln(c_t / c_{t-1})`` of a (T, N) close window: shape (T - 1, N)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.diff(np.log(close), axis=0)
    return np.where(np.isfinite(r), r, np.nan)


def lambda_from_halflife(halflife: float) -> float:
    """Decay ``λ`` whose weights halve every ``halflife`` bars: ``λ = 0.5 ** (1 / halflife)``."""
    return math.exp(math.log(0.5) / halflife)


def ewma_variance(returns: FloatArray, lam: float, min_periods: int = 1) -> FloatArray:
    """RiskMetrics EWMA variance per bar, ``Σ_k λ^k r²_{t-k} / Σ_k λ^k`` over the window.

    :param returns: (T, N) per-bar returns (fraction), oldest first; NaN rows of a symbol
        are skipped but keep their place in the decay (as pandas ``ewm(adjust=True)``).
    :param lam: decay ``λ`` in (0, 1); the newest return has weight 1.
    :param min_periods: fewer finite returns than this give NaN.
    :return: (N,) variance forecast for the next bar (fraction² per bar), zero-mean returns.

    Equals the last value of ``(r ** 2).ewm(alpha=1 - λ, adjust=True).mean()`` in pandas and,
    up to the truncated weight ``λ^T``, the recursion ``σ²_t = λ σ²_{t-1} + (1 - λ) r²_t``.
    """
    t = returns.shape[0]
    weights = lam ** np.arange(t - 1, -1, -1, dtype=np.float64)
    finite = np.isfinite(returns)
    sq = np.where(finite, returns * returns, 0.0)
    num = weights @ sq
    den = weights @ finite.astype(np.float64)
    count = finite.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = num / den
    var[count < max(min_periods, 1)] = np.nan
    return var


def wilder_atr(high: FloatArray, low: FloatArray, close: FloatArray, period: int = 14) -> FloatArray:
    """Wilder's average true range at the last row of (T, N) windows (currency per unit).

    True range ``TR_t = max(h_t - l_t, |h_t - c_{t-1}|, |l_t - c_{t-1}|)`` for ``t >= 1``;
    ``ATR`` is seeded with the mean of the first ``period`` true ranges and then smoothed by
    ``ATR_t = ATR_{t-1} + (TR_t - ATR_{t-1}) / period`` (as TA-Lib's ``ATR``). The recursion is
    evaluated as one weighted sum across all symbols. Fewer than ``period + 1`` rows, or a
    NaN anywhere in a symbol's window, give NaN for that symbol.
    """
    m = high.shape[0] - 1  # number of true ranges
    if m < period:
        return np.full(high.shape[1], np.nan)
    prev = close[:-1]
    tr = np.maximum(high[1:] - low[1:], np.maximum(np.abs(high[1:] - prev), np.abs(low[1:] - prev)))
    alpha = 1.0 / period
    decay = 1.0 - alpha
    weights = np.empty(m)
    weights[:period] = decay ** (m - period) / period
    weights[period:] = alpha * decay ** np.arange(m - period - 1, -1, -1, dtype=np.float64)
    atr: FloatArray = weights @ tr
    return atr
