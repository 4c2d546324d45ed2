"""The return window, its mean and covariance kept up to date step by step.

A full re-estimation costs O(L N²) per step (L returns of N symbols: 62 million multiply-adds
for 250 × 500). Here the window lives in a ring buffer and each new return replaces the
oldest one with a symmetric rank-2 update of the covariance, O(N²):

    delta = x_new - x_old
    a     = x_old - mean + delta (n - 1) / (2 n)
    mean += delta / n
    cov  += (a delta' + delta a') / (n - 1)

(``M2 = sum (x - mean)(x - mean)'`` moves by ``(x_old - mean) delta' + delta (x_old - mean)' +
(1 - 1/n) delta delta'`` when ``x_old`` is replaced by ``x_new``; the window length ``n``
stays fixed.)

Rounding errors of the updates accumulate, so the window is re-estimated from scratch, exactly
as :func:`.estimates.estimate` does it, whenever

* the window is not full yet (warm-up), the history is another one or was not appended to
  (the previous close differs from the one seen), or more than ``L`` rows arrived at once;
* ``L`` returns have been added since the last full estimate (the error bound grows with the
  number of updates; amortised, this costs O(N²) per step);
* some symbol's variance fell below a quarter of the largest it had since the last full
  estimate: the accumulated error is proportional to the largest values that passed through
  the window, so a variance that collapses (a symbol that stops trading) would otherwise be
  known only to that absolute error.

Between those, covariance entries agree with a full re-estimation to about 1e-14 of
``sqrt(cov_ii cov_jj)`` (checked by the tests to 1e-12), and the historical return window is
the same numbers (in ring order: the oldest column is overwritten).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.linalg import blas  # type: ignore[import-untyped]

from ai_trading_core.market import FloatArray, History

from .estimates import RiskEstimates, estimate
from .measures import CovarianceLinks, IntArray, clusters_of_links, simple_returns
from .params import PortfolioLimitsParams

# A variance below this fraction of its largest value since the last full estimate triggers one.
_VARIANCE_DROP = 0.25


class RollingRiskEstimator:
    """Per-step :class:`RiskEstimates` from a return window kept in a ring buffer.

    The arrays of the estimates returned (return window, mean, covariance) are this object's
    buffers: they are valid until the next call of :meth:`estimate` with newer data.

    :param params: the check's parameters (``lookback`` = window length in returns).
    """

    def __init__(self, params: PortfolioLimitsParams) -> None:
        self.params = params
        self.full_estimates = 0  # how many times the window was estimated from scratch
        self._history: History | None = None
        self._count = -1  # history.count when the window was last brought up to date
        self._last_close: FloatArray | None = None
        self._ring: FloatArray | None = None  # (N, L) returns, column _pos is the oldest
        self._pos = 0
        self._mean: FloatArray | None = None
        self._cov: FloatArray | None = None  # (N, N), C order; updated in place
        self._peak_var: FloatArray | None = None
        self._since_full = 0
        self._last: RiskEstimates | None = None
        threshold = params.correlation_threshold
        self._link_test = None if threshold is None else CovarianceLinks(threshold)
        self._lhs: FloatArray | None = None  # (N, 2) and (2, N) operands of the rank-2 update
        self._rhs: FloatArray | None = None
        # the last links and their signs with the clusters they gave: a step whose links and
        # signs are the same has the same clusters (the graph and the spanning tree are equal)
        self._links: tuple[IntArray, IntArray, np.ndarray, tuple[IntArray, FloatArray, np.ndarray]] | None = None

    def estimate(self, history: History, timestamp: int, n_symbols: int) -> RiskEstimates:
        """The estimates at ``timestamp`` from ``history`` (the engine's rolling window)."""
        p = self.params
        if not p.needs_returns:
            return RiskEstimates(timestamp, 0, np.zeros((n_symbols, 0)))
        lookback = p.lookback
        k = history.count - self._count
        if self._last is not None and history is self._history and k == 0:
            last = self._last
            if last.timestamp != timestamp:
                last = dataclasses.replace(last, timestamp=timestamp)
                self._last = last
            return last
        if (
            self._ring is None
            or history is not self._history
            or self._ring.shape[0] != n_symbols
            or not 0 < k <= min(lookback, history.capacity - 1)
            or self._since_full + k > lookback
        ):
            return self._full(history, timestamp, n_symbols)
        closes = history.close(k + 1)
        assert self._last_close is not None
        if len(closes) != k + 1 or not np.array_equal(closes[0], self._last_close, equal_nan=True):
            return self._full(history, timestamp, n_symbols)
        returns = simple_returns(closes)  # (k, N), identical to the rows a full estimate computes
        for r in returns:
            self._slide(r)
        self._count = history.count
        self._last_close = closes[-1].copy()
        self._since_full += k
        if self._cov is not None:
            assert self._peak_var is not None
            var = np.diagonal(self._cov)
            if np.any(var < _VARIANCE_DROP * self._peak_var):
                return self._full(history, timestamp, n_symbols)
            np.maximum(self._peak_var, var, out=self._peak_var)
        return self._publish(timestamp)

    # ------------------------------------------------------------------ internals
    def _full(self, history: History, timestamp: int, n_symbols: int) -> RiskEstimates:
        est = estimate(self.params, history, timestamp, n_symbols, clusters=False)
        self.full_estimates += 1
        self._history = history
        self._count = history.count
        self._since_full = 0
        closes = history.close(1)
        self._last_close = closes[-1].copy() if len(closes) else None
        if est.n_obs < self.params.lookback or est.mean is None or self._last_close is None:
            self._ring = None  # warm-up: estimated from scratch until the window is full
            self._last = self._with_clusters(est)
            return self._last
        self._ring = est.returns_t  # a fresh (N, L) array, oldest column first
        self._pos = 0
        self._mean = est.mean
        self._cov = est.cov
        self._peak_var = None if est.cov is None else np.diagonal(est.cov).copy()
        return self._publish(timestamp)

    def _slide(self, x_new: FloatArray) -> None:
        """Replace the oldest return in the window by ``x_new`` (N,)."""
        ring, mean = self._ring, self._mean
        assert ring is not None and mean is not None
        n = ring.shape[1]
        x_old = ring[:, self._pos]  # a view: read before the column is overwritten below
        delta = x_new - x_old
        cov = self._cov
        if cov is not None:
            lhs, rhs = self._lhs, self._rhs
            if lhs is None or rhs is None or lhs.shape[0] != len(delta):
                lhs = self._lhs = np.empty((len(delta), 2), order="F")
                rhs = self._rhs = np.empty((2, len(delta)), order="F")
            a = lhs[:, 0]  # x_old - mean + delta (n - 1) / (2 n), the same floats, in place
            np.subtract(x_old, mean, out=a)
            a += delta * ((n - 1) / (2.0 * n))
            lhs[:, 1] = delta
            rhs[0] = delta
            rhs[1] = a
            # cov.T is the Fortran-ordered view of the same memory: BLAS adds in place
            out = blas.dgemm(1.0 / (n - 1), lhs, rhs, beta=1.0, c=cov.T, overwrite_c=True)
            if not np.shares_memory(out, cov):  # a BLAS build that copied: keep the result
                cov[...] = out.T
        mean += delta / n
        ring[:, self._pos] = x_new
        self._pos = (self._pos + 1) % n

    def _publish(self, timestamp: int) -> RiskEstimates:
        assert self._ring is not None
        est = RiskEstimates(timestamp, self._ring.shape[1], self._ring, self._mean, self._cov)
        self._last = self._with_clusters(est)
        return self._last

    def _with_clusters(self, est: RiskEstimates) -> RiskEstimates:
        if self._link_test is None or est.cov is None:
            return est
        n = est.cov.shape[0]
        ii, jj = self._link_test(est.cov)  # the pairs covariance_links gives, screened cheaply
        negative = est.cov[ii, jj] < 0
        prev = self._links
        if (
            prev is not None
            and len(prev[0]) == len(ii)
            and len(prev[3][0]) == n
            and np.array_equal(prev[0], ii)
            and np.array_equal(prev[1], jj)
            and np.array_equal(prev[2], negative)
        ):
            labels, orientation, mixed = prev[3]
        else:
            labels, orientation, mixed = clusters_of_links(est.cov, ii, jj)
            self._links = (ii, jj, negative, (labels, orientation, mixed))
        return RiskEstimates(
            est.timestamp, est.n_obs, est.returns_t, est.mean, est.cov, labels, orientation, mixed
        )
