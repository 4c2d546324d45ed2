"""Member weights: static, or proportional to rolling Sharpe ratios within bounds."""

from __future__ import annotations

import numpy as np

from ai_trading_core.market import FloatArray


def bounded_weights(raw: FloatArray, lo: float, hi: float) -> FloatArray:
    """Weights proportional to ``raw`` (>= 0, not all zero) that sum to 1 with every weight in
    [lo, hi]: ``w_i = clip(s × raw_i, lo, hi)`` with the scale ``s`` found by bisection. If
    the members with positive ``raw`` cannot absorb the total even at ``hi``, they sit at
    ``hi`` and the others share the remainder equally.

    :param lo: lowest weight (fraction); ``len(raw) × lo <= 1`` must hold.
    :param hi: highest weight (fraction); ``len(raw) × hi >= 1`` must hold.
    """
    raw = np.asarray(raw, dtype=np.float64)
    pos = raw > 0
    k = len(raw)
    if not pos.any():
        return np.full(k, 1.0 / k)
    if pos.sum() * hi + (k - pos.sum()) * lo < 1.0:
        rest = (1.0 - pos.sum() * hi) / (k - pos.sum())
        return np.where(pos, hi, rest)
    s_lo, s_hi = 0.0, 1.0
    while np.clip(s_hi * raw, lo, hi).sum() < 1.0:
        s_hi *= 2.0
    for _ in range(80):
        mid = 0.5 * (s_lo + s_hi)
        if np.clip(mid * raw, lo, hi).sum() < 1.0:
            s_lo = mid
        else:
            s_hi = mid
    w = np.clip(s_hi * raw, lo, hi)
    return w / w.sum()


def rolling_sharpe(returns: FloatArray) -> FloatArray:
    """Per-bar Sharpe ratio (mean / sample standard deviation) of each row of a (K, L) array
    of member returns (fractions); 0 where the deviation is 0 or fewer than two returns."""
    if returns.shape[1] < 2:
        return np.zeros(returns.shape[0])
    mean = returns.mean(axis=1)
    std = returns.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0, mean / std, 0.0)
