"""Per-step estimates shared by every order of the step: the return window, its mean and
covariance, and the correlation clusters. Computed once per timestamp, never per order: from
scratch here, incrementally in :mod:`.rolling`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ai_trading_core.market import FloatArray, History

from .measures import IntArray, correlation_from_covariance, signed_correlation_clusters, simple_returns
from .params import PortfolioLimitsParams


@dataclass(frozen=True, slots=True)
class RiskEstimates:
    """``returns_t`` is (N, L): symbol-major so that one symbol's returns are contiguous.
    ``mean`` (N,) and ``cov`` (N, N) are per-step simple-return moments (``cov`` with
    ddof 1); ``labels`` (N,) the correlation cluster of each symbol, ``orientation`` (N,)
    its direction in the cluster (±1) and ``mixed`` (per cluster) whether the cluster's
    correlations disagree on directions (see :func:`signed_correlation_clusters`)."""

    timestamp: int
    n_obs: int
    returns_t: FloatArray
    mean: FloatArray | None = None
    cov: FloatArray | None = None
    labels: IntArray | None = None
    orientation: FloatArray | None = None
    mixed: np.ndarray | None = None


def estimate(
    params: PortfolioLimitsParams,
    history: History,
    timestamp: int,
    n_symbols: int,
    *,
    clusters: bool = True,
) -> RiskEstimates:
    """The estimates from scratch: O(L N²) for L returns of N symbols. The check itself keeps
    them up to date step by step (:class:`~.rolling.RollingRiskEstimator`); this is the
    definition the rolling estimates are tested against. ``clusters=False`` leaves the
    correlation clusters out (the caller computes them)."""
    if not params.needs_returns:
        return RiskEstimates(timestamp, 0, np.zeros((n_symbols, 0)))
    close = history.close(params.lookback + 1)
    returns = simple_returns(close)
    n_obs = returns.shape[0]
    returns_t = np.ascontiguousarray(returns.T)
    if n_obs < max(params.min_observations, 2):
        return RiskEstimates(timestamp, n_obs, returns_t)
    mean = returns.mean(axis=0)
    cov = None
    labels = orientation = mixed = None
    if params.needs_covariance:
        centred = returns - mean
        cov = (centred.T @ centred) / (n_obs - 1)
        if clusters and params.correlation_threshold is not None:
            labels, orientation, mixed = signed_correlation_clusters(
                correlation_from_covariance(cov), params.correlation_threshold
            )
    return RiskEstimates(timestamp, n_obs, returns_t, mean, cov, labels, orientation, mixed)
