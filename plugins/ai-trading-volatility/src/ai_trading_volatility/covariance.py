"""Ledoit-Wolf shrinkage of the sample covariance towards a scaled identity."""

from __future__ import annotations

import numpy as np

from ai_trading_core.market import FloatArray


def ledoit_wolf(x: FloatArray) -> tuple[FloatArray, float]:
    """Ledoit & Wolf (2004) "A well-conditioned estimator for large-dimensional covariance
    matrices": ``Σ = (1 - s) S + s μ I`` with ``S`` the maximum-likelihood sample covariance
    (divided by ``n``), ``μ = tr(S) / p`` and the shrinkage ``s`` in [0, 1] that minimises the
    estimated Frobenius risk.

    :param x: (n, p) observations (rows) of p variables, NaN-free; centred here.
    :return: ``(Σ, s)``. Same estimator as ``sklearn.covariance.LedoitWolf``.
    """
    n, p = x.shape
    xc = x - x.mean(axis=0)
    s_mat = xc.T @ xc / n
    if p == 1:
        return s_mat, 0.0
    mu = float(np.trace(s_mat)) / p
    x2 = xc * xc
    # beta: average squared distance of the rank-one terms x_k x_kᵀ from S (sampling error);
    # delta: squared distance of S from the target μI (dispersion of the true covariance).
    beta_sum = float(np.sum(x2.T @ x2))
    delta_sum = float(np.sum(s_mat * s_mat))
    beta = (beta_sum / n - delta_sum) / (p * n)
    delta = (delta_sum - 2.0 * mu * float(np.trace(s_mat)) + p * mu * mu) / p
    beta = min(beta, delta)
    shrinkage = 0.0 if beta == 0.0 else beta / delta
    shrunk = (1.0 - shrinkage) * s_mat
    shrunk[np.diag_indices(p)] += shrinkage * mu
    return shrunk, shrinkage
