"""Risk-based portfolio weights: inverse volatility and equal risk contribution (ERC)."""

from __future__ import annotations

import numpy as np

from ai_trading_core.errors import DataError
from ai_trading_core.market import FloatArray

# Spinu's damping threshold: full Newton steps are safe once the Newton decrement is below
# 0.95 × (3 - √5) / 2 (self-concordance of the log-barrier objective).
_FULL_STEP = 0.95 * (3.0 - 5.0**0.5) / 2.0


def inverse_vol_weights(cov: FloatArray) -> FloatArray:
    """Weights proportional to ``1 / σ_i`` (σ from the diagonal), summing to 1."""
    inv = 1.0 / np.sqrt(np.diag(cov))
    out: FloatArray = inv / inv.sum()
    return out


def risk_contributions(weights: FloatArray, cov: FloatArray) -> FloatArray:
    """Each asset's share of portfolio variance, ``w_i (Σw)_i / wᵀΣw`` (sums to 1)."""
    marginal = cov @ weights
    rc: FloatArray = weights * marginal / float(weights @ marginal)
    return rc


def erc_weights(cov: FloatArray, tol: float = 1e-12, max_iter: int = 100) -> FloatArray:
    """Long-only weights (summing to 1) whose risk contributions are all equal.

    Spinu (2013), "An algorithm for computing risk parity weights": the ERC portfolio is
    ``y / Σ y`` for the unique minimiser ``y > 0`` of the strictly convex
    ``½ yᵀΣy - (1/n) Σ ln y_i``, found by damped Newton steps on its gradient
    ``Σy - b / y`` (``b_i = 1 / n``); convergence is quadratic near the solution. ``Σ`` is
    scaled to unit mean variance first, which changes ``y`` but not the weights.

    :param cov: (n, n) symmetric positive semi-definite covariance with a positive diagonal.
    :param tol: stop when the gradient's max-norm is below this (scaled units).
    :raises DataError: on a non-positive variance or when Newton fails to converge.
    """
    n = cov.shape[0]
    diag = np.diag(cov)
    if not np.all(diag > 0.0) or not np.all(np.isfinite(cov)):
        raise DataError("equal risk contribution needs a finite covariance with positive variances")
    sigma = cov / diag.mean()
    b = np.full(n, 1.0 / n)
    # Start from inverse-volatility weights scaled so that yᵀΣy = 1 (Spinu's initial point).
    y = 1.0 / np.sqrt(np.diag(sigma))
    y /= np.sqrt(y @ sigma @ y)
    for _ in range(max_iter):
        grad = sigma @ y - b / y
        if np.max(np.abs(grad)) < tol:
            break
        hess = sigma + np.diag(b / (y * y))
        step = np.linalg.solve(hess, grad)
        decrement = float(np.sqrt(step @ grad))
        y = y - step if decrement < _FULL_STEP else y - step / (1.0 + decrement)
    else:
        raise DataError(f"equal risk contribution did not converge in {max_iter} Newton steps")
    out: FloatArray = y / y.sum()
    return out
