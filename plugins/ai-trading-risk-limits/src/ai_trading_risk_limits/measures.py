"""Risk measures as plain functions of arrays: Value at Risk and Conditional VaR (historical
and parametric), simple returns and correlation clusters (plain and signed).

Sign convention: VaR and CVaR are **losses**, positive numbers in the unit of the input
(a return series gives fractions, a P&L series gives currency). ``confidence`` is the
probability level, e.g. 0.95 or 0.99.

* Historical VaR at confidence ``c`` over ``n`` observations is ``-x_(k)``, the k-th smallest
  observation with ``k = ceil(n (1 - c))`` (the inverted empirical distribution function,
  numpy's ``method="inverted_cdf"``). Historical CVaR is ``-mean(x_(1), ..., x_(k))``: the
  average of the ``k`` worst outcomes, the VaR observation included.
* Parametric VaR assumes normal P&L with mean ``mu`` and standard deviation ``sigma``:
  ``z_c sigma - mu`` with ``z_c = Phi^-1(c)``; parametric CVaR is
  ``sigma phi(z_c) / (1 - c) - mu``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
from scipy.sparse.csgraph import breadth_first_order, connected_components  # type: ignore[import-untyped]
from scipy.stats import norm  # type: ignore[import-untyped]

from ai_trading_core.errors import RiskError
from ai_trading_core.market import FloatArray

IntArray = npt.NDArray[np.int64]


def tail_count(n: int, confidence: float) -> int:
    """Number of observations in the tail: ``ceil(n (1 - confidence))``, at least 1.

    A tolerance absorbs binary rounding (100 × (1 - 0.95) is 5.000000000000004, not 6)."""
    if not 0.0 < confidence < 1.0:
        raise RiskError(f"confidence must be in (0, 1), got {confidence!r}")
    if n < 1:
        raise RiskError("VaR needs at least one observation")
    return max(1, math.ceil(n * (1.0 - confidence) - 1e-9))


def historical_var(pnl: FloatArray, confidence: float) -> float:
    """Historical VaR of a P&L or return sample (loss, positive)."""
    x = np.asarray(pnl, dtype=float)
    k = tail_count(len(x), confidence)
    return float(-np.partition(x, k - 1)[k - 1])


def historical_cvar(pnl: FloatArray, confidence: float) -> float:
    """Historical CVaR (expected shortfall): mean loss of the ``k`` worst observations."""
    x = np.asarray(pnl, dtype=float)
    k = tail_count(len(x), confidence)
    return float(-np.partition(x, k - 1)[:k].mean())


def normal_quantile(confidence: float) -> float:
    """``z_c = Phi^-1(c)``."""
    if not 0.0 < confidence < 1.0:
        raise RiskError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(norm.ppf(confidence))


def normal_cvar_factor(confidence: float) -> float:
    """``phi(z_c) / (1 - c)``: parametric CVaR per unit of standard deviation."""
    z = normal_quantile(confidence)
    return float(norm.pdf(z) / (1.0 - confidence))


def parametric_var(mu: float, sigma: float, confidence: float) -> float:
    """Normal VaR: ``z_c sigma - mu``."""
    return normal_quantile(confidence) * sigma - mu


def parametric_cvar(mu: float, sigma: float, confidence: float) -> float:
    """Normal CVaR: ``sigma phi(z_c) / (1 - c) - mu``."""
    return normal_cvar_factor(confidence) * sigma - mu


def simple_returns(close: FloatArray) -> FloatArray:
    """Per-step simple returns of a (T, N) close window, shape (T-1, N). A return that needs
    a missing price is 0: a symbol without bars contributes no risk estimate (and no P&L)."""
    c = np.asarray(close, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = c[1:] / c[:-1] - 1.0
    r[~np.isfinite(r)] = 0.0
    out: FloatArray = r
    return out


def correlation_clusters(corr: FloatArray, threshold: float) -> IntArray:
    """Cluster labels (N,): symbols linked by a chain of pairwise correlations >= ``threshold``
    share a label (connected components of the graph with an edge for every such pair).
    NaN correlations (a constant series) link nothing."""
    c = np.asarray(corr, dtype=float)
    adj = np.nan_to_num(c, nan=-np.inf) >= threshold
    np.fill_diagonal(adj, False)
    _, labels = connected_components(csr_matrix(adj), directed=False)
    out: IntArray = np.asarray(labels, dtype=np.int64)
    return out


def signed_correlation_clusters(
    corr: FloatArray, threshold: float
) -> tuple[IntArray, FloatArray, npt.NDArray[np.bool_]]:
    """Clusters of symbols that move together **or opposite**, with each symbol's direction.

    Symbols linked by a chain of pairwise correlations with ``|rho| >= threshold`` share a
    label (connected components). Inside a cluster each symbol gets an orientation
    ``sigma_i = ±1``: the first symbol of the cluster is +1 and every link of a spanning tree
    passes the sign of its correlation on (``sigma_j = sigma_i sign(rho_ij)``), so ``sum sigma_i v_i`` is the
    cluster's net bet in the first symbol's direction. A cluster is *mixed* when some link
    disagrees with the orientations (a chain says "same way" where a direct link says
    "opposite"; impossible for thresholds above 0.5 within three symbols, possible along longer
    chains): nothing in a mixed cluster can be told to be a hedge.

    :param threshold: correlation (0 < threshold <= 1).
    :returns: ``(labels (N,), orientation (N,) of ±1.0, mixed (number of clusters,))``.
    """
    c = np.asarray(corr, dtype=float)
    if not 0.0 < threshold <= 1.0:
        raise RiskError(f"correlation threshold must be in (0, 1], got {threshold!r}")
    with np.errstate(invalid="ignore"):
        adj = np.abs(c) >= threshold  # NaN links nothing
    np.fill_diagonal(adj, False)
    ii, jj = np.nonzero(adj)
    return clusters_of_links(c, ii.astype(np.int64), jj.astype(np.int64))


def covariance_links(
    cov: FloatArray,
    threshold: float,
    work: FloatArray | None = None,
    mask: npt.NDArray[np.bool_] | None = None,
) -> tuple[IntArray, IntArray]:
    """The pairs ``(i, j)``, ``i != j``, whose correlation ``cov_ij / (sd_i sd_j)`` has
    magnitude ``>= threshold``, in row-major order (both directions): the edges of
    :func:`signed_correlation_clusters` computed from a covariance matrix in a few vectorised
    passes without building the correlation matrix. A symbol with zero or undefined variance
    links nothing. ``work`` (float, N × N) and ``mask`` (bool, N × N) are optional scratch
    buffers a caller reuses from step to step (no fresh 2 MB allocation per step at N = 500).
    """
    if not 0.0 < threshold <= 1.0:
        raise RiskError(f"correlation threshold must be in (0, 1], got {threshold!r}")
    c = np.asarray(cov, dtype=float)
    n = c.shape[0]
    buf = np.empty((n, n)) if work is None else work
    adj = np.empty((n, n), dtype=bool) if mask is None else mask
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.diag(c))
        sd[sd == 0.0] = np.nan  # 0/0 in the correlation matrix: no link
        np.multiply(sd[:, None], sd[None, :], out=buf)  # np.outer's products, in place
        np.divide(c, buf, out=buf)
        np.abs(buf, out=buf)
        np.greater_equal(buf, threshold, out=adj)
    np.fill_diagonal(adj, False)
    flat = np.flatnonzero(adj)  # row-major; an order of magnitude faster than 2-D nonzero
    ii, jj = np.divmod(flat, n)
    return ii.astype(np.int64), jj.astype(np.int64)


class CovarianceLinks:
    """:func:`covariance_links` of a covariance matrix that changes a little from call to
    call (the rolling estimator's), for the same answer at a fraction of the cost.

    The dense test divides every entry by ``sd_i sd_j`` (a broadcast product and a division
    over N² entries, about 0.5 ms at N = 500). Here two contiguous passes, block of rows by
    block of rows, screen the entries instead: ``cov_ij² >= Q_ij`` with ``Q = outer(q, q)``,
    ``q_k = g t sd0_k²``, where ``sd0`` are the standard deviations of the call that built
    ``Q`` and ``g = 0.8`` a safety factor. While every standard deviation is at least
    ``sqrt(g)`` (about 89 %) of its ``sd0``, ``Q_ij = (g t sd0_i sd0_j)²`` stays below
    ``(t sd_i sd_j)²`` by far more than rounding, so every entry that the dense test links
    passes the screen. ``Q`` is rebuilt when some standard deviation fell further (or a
    symbol without variance got one). The few entries that pass are then tested exactly as
    :func:`covariance_links` tests them (``|cov_ij / (sd_i sd_j)| >= t``, same floats), each
    direction on its own (the matrix need not be exactly symmetric), so the links are the
    same pairs in the same order; when many entries pass (a strongly correlated universe)
    the dense test is cheaper and is used.

    :param threshold: correlation magnitude, in (0, 1].
    """

    _SAFETY = 0.8  # g above: Q is (g t sd0_i sd0_j)², so sd may fall to sqrt(g) of sd0
    _DENSE = 8  # more candidates than N² / this: the dense test
    _ROWS = 64  # rows screened at a time (64 × 500 doubles: 256 kB)

    def __init__(self, threshold: float) -> None:
        if not 0.0 < threshold <= 1.0:
            raise RiskError(f"correlation threshold must be in (0, 1], got {threshold!r}")
        self.threshold = threshold
        self.rebuilds = 0  # how many times Q was built (tests and benchmarks read it)
        self._q: FloatArray | None = None  # (N, N) screen Q, or None before the first call
        self._floor: FloatArray | None = None  # (N,) the least sd for which Q is valid
        self._sq: FloatArray | None = None  # (rows, N) scratch: cov² of a block of rows
        self._hit: npt.NDArray[np.bool_] | None = None  # (rows, N) scratch: the screen's answer
        self._work: FloatArray | None = None  # (N, N) scratch of the dense test
        self._mask: npt.NDArray[np.bool_] | None = None

    def __call__(self, cov: FloatArray) -> tuple[IntArray, IntArray]:
        """The pairs ``(i, j)``, ``i != j``, with ``|cov_ij / (sd_i sd_j)| >= threshold``,
        in row-major order: exactly :func:`covariance_links` ``(cov, threshold)``."""
        c = np.asarray(cov, dtype=float)
        n = c.shape[0]
        with np.errstate(invalid="ignore"):
            sd = np.sqrt(np.diagonal(c))
        stale = self._q is None or self._q.shape[0] != n or not self._valid(sd)
        if stale and not self._build(sd):
            return self._dense(c)
        assert self._q is not None and self._sq is not None and self._hit is not None
        q, sq, hit = self._q, self._sq, self._hit
        found: list[IntArray] = []
        count = 0
        # in blocks of rows: the squares and the answers stay in the cache between the passes
        for r0 in range(0, n, self._ROWS):
            r1 = min(r0 + self._ROWS, n)
            m = r1 - r0
            np.multiply(c[r0:r1], c[r0:r1], out=sq[:m])
            np.greater_equal(sq[:m], q[r0:r1], out=hit[:m])
            if hit[:m].any():
                flat = hit[:m].reshape(-1)
                flat[np.arange(m) * (n + 1) + r0] = False  # the diagonal links nothing
                at = np.flatnonzero(flat)
                if len(at):
                    found.append(at + r0 * n)
                    count += len(at)
                    if count * self._DENSE > n * n:
                        return self._dense(c)
        if not found:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty.copy()
        flat = np.concatenate(found)  # row-major, as the blocks are
        ii, jj = np.divmod(flat, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd[sd == 0.0] = np.nan  # as covariance_links: no link
            keep = np.abs(c[ii, jj] / (sd[ii] * sd[jj])) >= self.threshold
        return ii[keep].astype(np.int64), jj[keep].astype(np.int64)

    def _valid(self, sd: FloatArray) -> bool:
        """Whether ``Q`` still screens conservatively for these standard deviations: each one
        at least its floor, or without variance (such a symbol links nothing)."""
        assert self._floor is not None
        with np.errstate(invalid="ignore"):
            return bool(np.all((sd >= self._floor) | ~(sd > 0.0)))

    def _build(self, sd: FloatArray) -> bool:
        """Build ``Q`` for ``sd``; False when it cannot be (non-finite products): the caller
        then uses the dense test."""
        n = len(sd)
        g = self._SAFETY
        with np.errstate(invalid="ignore", over="ignore"):
            positive = sd > 0.0
            # a symbol without variance links nothing: NaN in Q (cov² >= NaN is False), and a
            # floor of +inf so that Q is rebuilt once it has a variance
            q = np.where(positive, (g * self.threshold) * sd * sd, np.nan)
            floor = np.where(positive, sd * (math.sqrt(g) * (1.0 + 1e-9)), np.inf)
            top = float(np.nanmax(q)) if positive.any() else 0.0
        if not math.isfinite(top * top):
            return False
        if self._q is None or self._q.shape[0] != n:
            self._q = np.empty((n, n))
            self._sq = np.empty((min(self._ROWS, n), n))
            self._hit = np.empty((min(self._ROWS, n), n), dtype=bool)
        assert self._q is not None
        np.multiply.outer(q, q, out=self._q)
        self._floor = floor
        self.rebuilds += 1
        return True

    def _dense(self, c: FloatArray) -> tuple[IntArray, IntArray]:
        n = c.shape[0]
        if self._work is None or self._work.shape[0] != n:
            self._work = np.empty((n, n))
            self._mask = np.empty((n, n), dtype=bool)
        return covariance_links(c, self.threshold, self._work, self._mask)


def clusters_of_links(
    sign: FloatArray, ii: IntArray, jj: IntArray
) -> tuple[IntArray, FloatArray, npt.NDArray[np.bool_]]:
    """Labels, orientations and mixed flags (see :func:`signed_correlation_clusters`) of the
    graph whose edges are ``(ii[k], jj[k])`` (both directions, row-major order), each link's
    direction read from the sign of ``sign[i, j]`` (a correlation or covariance matrix)."""
    n = sign.shape[0]
    graph = csr_matrix((np.ones(len(ii), dtype=bool), (ii, jj)), shape=(n, n))
    n_clusters, labels = connected_components(graph, directed=False)
    labels = np.asarray(labels, dtype=np.int64)
    negative = sign[ii, jj] < 0
    c = sign
    # One breadth-first search over every cluster at once: a virtual node n is linked to the
    # first symbol of each cluster; each symbol's orientation is the product of the link signs
    # on its path from there, gathered by pointer jumping (log2(depth) vectorised passes).
    firsts = np.unique(labels, return_index=True)[1]
    virtual = np.full(len(firsts), n)
    rows = np.concatenate([ii, virtual, firsts])
    cols = np.concatenate([jj, firsts, virtual])
    tree = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n + 1, n + 1))
    _, pred = breadth_first_order(tree, n, directed=False, return_predecessors=True)
    parent = np.asarray(pred[:n], dtype=np.int64)
    inner = parent < n
    orient = np.ones(n)  # product of the link signs from each symbol up to up[symbol]
    kids = np.flatnonzero(inner)
    orient[kids] = np.where(c[kids, parent[kids]] < 0, -1.0, 1.0)
    up = np.where(inner, parent, np.arange(n))  # a cluster's first symbol points to itself
    while not np.array_equal(up[up], up):
        orient = orient * orient[up]
        up = up[up]
    bad = np.where(negative, -1.0, 1.0) != orient[ii] * orient[jj]
    mixed = np.zeros(n_clusters, dtype=bool)
    mixed[labels[ii[bad]]] = True
    out_orient: FloatArray = orient
    return labels, out_orient, mixed


def correlation_from_covariance(cov: FloatArray) -> FloatArray:
    sd = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(sd, sd)
    corr[~np.isfinite(corr)] = np.nan
    out: FloatArray = corr
    return out
