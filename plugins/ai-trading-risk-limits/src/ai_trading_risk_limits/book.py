"""A pro-forma view of the portfolio's risk: current figures, the figures with one candidate
order included (in O(1) for the linear and parametric limits, O(L) for the historical ones)
and the largest order quantity that keeps every limit.

Definitions (``v_i`` = position value of symbol ``i`` in currency, ``E`` = equity):

* gross exposure and leverage: ``sum |v_i| / E``; net exposure: ``|sum v_i| / E``;
* position weight: ``|v_j| / E`` of the order's symbol ``j``;
* cluster weight: the **signed** exposure of the correlation cluster of ``j`` (symbols linked
  by ``|rho| >= threshold``): ``|sum sigma_i v_i| / E`` with ``sigma_i = ±1`` each symbol's
  direction in the cluster (see :func:`~.measures.signed_correlation_clusters`). A short in a
  symbol that moves opposite to a long adds to it (a doubled bet); a short in a symbol that
  moves with the long offsets it (a hedge). In a *mixed* cluster, whose correlations disagree
  on directions, nothing offsets: ``sum |v_i| / E``;
* historical VaR/CVaR: of the P&L series ``sum_i v_i r_{t,i}`` over the lookback window,
  divided by ``E``; parametric: ``z sqrt(v' C v) - v' mu`` (the mean term only with
  ``include_mean``), divided by ``E``;
* drawdown: ``1 - E / peak_equity`` (does not depend on the order).

A limit is breached when the measured value is **greater** than the limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ai_trading_core.market import FloatArray
from ai_trading_core.protocols import RiskContext

from .estimates import RiskEstimates
from .measures import normal_cvar_factor, normal_quantile, tail_count
from .params import PortfolioLimitsParams


class Measure(NamedTuple):
    """One limit's figure: ``name``, measured value and limit (same unit)."""

    name: str
    measured: float
    limit: float

    @property
    def breached(self) -> bool:
        return not self.measured <= self.limit  # NaN counts as breached

    @property
    def utilisation(self) -> float:
        return self.measured / self.limit


class BlockFigures:
    """The figures of a block of orders (see :meth:`RiskBook.block_figures`): ``measured[i, k]``
    is limit ``names[i]``'s figure (its limit ``limits[i]``) for order ``k`` with the block's
    earlier orders included; the running sums let :meth:`RiskBook.apply_block` include a
    prefix of the block in the book."""

    __slots__ = (
        "js", "pos_after", "new", "dv", "gross", "net", "pnl", "var", "mean", "clusters", "names", "limits", "rows",
    )

    def __init__(
        self, js: list[int], pos_after: FloatArray, new: FloatArray, dv: FloatArray, gross: FloatArray, net: FloatArray
    ) -> None:
        self.js = js
        self.pos_after = pos_after  # units, each symbol's position after its order
        self.new = new  # currency, the position values after each order
        self.dv = dv
        self.gross = gross  # (K + 1,): the book's sums before each order and after the last
        self.net = net
        self.pnl: FloatArray | None = None  # (K + 1, L)
        self.var: FloatArray | None = None  # (K + 1,)
        self.mean: FloatArray | None = None  # (K + 1,)
        self.clusters: list[tuple[int, float, float]] = []  # (cluster, gross, net) after each order
        self.names: list[str] = []
        self.limits: list[float] = []
        self.rows: list[FloatArray] = []

    def add(self, name: str, values: FloatArray, limit: float) -> None:
        self.names.append(name)
        self.rows.append(values)
        self.limits.append(limit)

    def values(self, k: int) -> list[float]:
        """Order ``k``'s figures, as :meth:`RiskBook.values` lists them."""
        return [float(r[k]) for r in self.rows]

    def measures(self, k: int) -> list[Measure]:
        """Order ``k``'s figures, as :meth:`RiskBook.measures` lists them."""
        return list(map(Measure, self.names, self.values(k), self.limits))


class LimitSet:
    """The enabled limits of a parameter set, resolved once (quantiles, names)."""

    __slots__ = (
        "params",
        "linear",
        "var_levels",
        "hist",
        "param",
        "z",
        "cvar_factor",
        "include_mean",
    )

    def __init__(self, params: PortfolioLimitsParams) -> None:
        self.params = params
        p = params
        self.linear = any(
            x is not None
            for x in (
                p.max_gross_exposure,
                p.max_net_exposure,
                p.max_leverage,
                p.max_position_weight,
                p.max_cluster_weight,
            )
        )
        # (name, confidence, limit, is_cvar)
        levels: list[tuple[str, float, float, bool]] = []
        if p.var_95 is not None:
            levels.append(("var_95", 0.95, p.var_95, False))
        if p.var_99 is not None:
            levels.append(("var_99", 0.99, p.var_99, False))
        if p.cvar is not None:
            levels.append((f"cvar_{p.cvar_confidence * 100:g}", p.cvar_confidence, p.cvar, True))
        self.var_levels = levels
        self.hist = bool(levels) and "historical" in p.var_methods
        self.param = bool(levels) and "parametric" in p.var_methods
        self.z = [normal_cvar_factor(c) if is_cvar else normal_quantile(c) for _, c, _, is_cvar in levels]
        self.include_mean = p.include_mean


class RiskBook:
    """Positions, exposures and risk sums of one step, updated order by order.

    Per-symbol scalars are kept in Python lists: the per-order arithmetic is scalar and
    NumPy scalars are several times slower than floats there.

    :param ctx: the engine's risk context (positions in units, prices in currency).
    :param est: the step's estimates (returns, covariance, clusters).
    """

    __slots__ = (
        "limits",
        "est",
        "equity",
        "peak",
        "prices",
        "pos",
        "val",
        "gross",
        "net",
        "pnl",
        "u",
        "var",
        "mean",
        "cluster_gross",
        "cluster_net",
        "cluster_mixed",
        "orient",
        "labels",
        "kth",
        "hist_k",
        "measurable",
        "drawdown",
        "cov_diag",
        "mu",
        "n_tail",
        "tail_names",
        "tail_limits",
        "names",
        "limit_values",
        "_memo",
        "_buf",
    )

    def __init__(self, limits: LimitSet, ctx: RiskContext, est: RiskEstimates) -> None:
        self.limits = limits
        self.est = est
        self._memo: list[tuple[int, float, list[float]]] = []
        self._buf: FloatArray | None = None  # scratch of _tail_values
        p = limits.params
        self.equity = float(ctx.equity)
        self.peak = float(ctx.peak_equity)
        prices = np.asarray(ctx.prices, dtype=float)
        pos = np.asarray(ctx.positions, dtype=float)
        val = pos * prices
        val[pos == 0.0] = 0.0  # no position: value 0 even where no price is known yet
        absval = np.abs(val)
        self.prices: list[float] = prices.tolist()
        self.pos: list[float] = pos.tolist()
        self.val: list[float] = val.tolist()
        self.gross = float(absval.sum())
        self.net = float(val.sum())
        self.drawdown = 1.0 - self.equity / self.peak if self.peak > 0 else 0.0
        needs_history = bool(limits.var_levels) or p.correlation_threshold is not None
        self.measurable = not needs_history or (
            est.n_obs >= p.min_observations and (est.cov is not None or not p.needs_covariance)
        )
        self.pnl: FloatArray | None = None
        self.hist_k: list[int] = []
        self.kth: list[int] = []
        if limits.hist and self.measurable:
            self.pnl = est.returns_t.T @ val
            self.hist_k = [tail_count(est.n_obs, c) for _, c, _, _ in limits.var_levels]
            self.kth = sorted({k - 1 for k in self.hist_k})
        self.u: FloatArray | None = None
        self.var = 0.0
        self.mean = 0.0
        self.cov_diag: list[float] = []
        self.mu: list[float] = []
        if limits.param and self.measurable and est.cov is not None:
            self.u = est.cov @ val
            self.var = float(val @ self.u)
            self.cov_diag = np.diag(est.cov).tolist()
            if limits.include_mean and est.mean is not None:
                self.mean = float(est.mean @ val)
                self.mu = est.mean.tolist()
        self.tail_names: list[str] = []  # the VaR and CVaR figures, in the order measures() lists them
        self.tail_limits: list[float] = []
        if not self.measurable:
            kinds = ["_history"]  # one NaN figure per level
        else:
            kinds = ["_historical"] * (self.pnl is not None) + ["_parametric"] * (self.u is not None)
        for kind in kinds:
            self.tail_names += [name + kind for name, _, _, _ in limits.var_levels]
            self.tail_limits += [lim for _, _, lim, _ in limits.var_levels]
        self.n_tail = len(self.tail_names)
        linear = [
            ("drawdown", p.max_drawdown),
            ("gross_exposure", p.max_gross_exposure),
            ("leverage", p.max_leverage),
            ("net_exposure", p.max_net_exposure),
            ("position_weight", p.max_position_weight),
            ("cluster_weight", p.max_cluster_weight),
        ]
        enabled = [(name, limit) for name, limit in linear if limit is not None]
        self.names = [name for name, _ in enabled] + self.tail_names  # every figure values() gives
        self.limit_values = [limit for _, limit in enabled] + self.tail_limits
        self.labels: list[int] | None = None
        self.cluster_gross: list[float] | None = None
        self.cluster_net: list[float] | None = None
        self.cluster_mixed: list[bool] = []
        self.orient: list[float] = []
        if p.max_cluster_weight is not None and self.measurable and est.labels is not None:
            assert est.orientation is not None and est.mixed is not None
            self.labels = est.labels.tolist()
            n_clusters = len(est.mixed)
            self.cluster_gross = np.bincount(est.labels, weights=absval, minlength=n_clusters).tolist()
            self.cluster_net = np.bincount(
                est.labels, weights=est.orientation * val, minlength=n_clusters
            ).tolist()
            self.cluster_mixed = est.mixed.tolist()
            self.orient = est.orientation.tolist()

    def copy(self) -> RiskBook:
        """An independent copy (the mutable sums are copied, the estimates shared)."""
        new = object.__new__(RiskBook)
        for name in RiskBook.__slots__:
            setattr(new, name, getattr(self, name))
        new._memo = []
        new._buf = None
        new.pos = list(self.pos)
        new.val = list(self.val)
        if self.cluster_gross is not None:
            new.cluster_gross = list(self.cluster_gross)
        if self.cluster_net is not None:
            new.cluster_net = list(self.cluster_net)
        return new  # pnl and u are replaced, never mutated in place, by apply()

    # ------------------------------------------------------------------ figures
    def measures(self, j: int, d: float, linear: bool = True) -> list[Measure]:
        """Every enabled limit's figure with ``d`` units of symbol ``j`` added; only the VaR and
        CVaR figures with ``linear=False``."""
        if not linear:
            dv = (self.pos[j] + d) * self.prices[j] - self.val[j]
            return list(map(Measure, self.tail_names, self._tail_values(j, dv), self.tail_limits))
        return list(map(Measure, self.names, self.values(j, d), self.limit_values))

    def values(self, j: int, d: float) -> list[float]:
        """:meth:`measures` as bare figures, in the order of ``names`` and ``limit_values``
        (the per-order path builds a :class:`Measure` only for the limit it reports)."""
        p = self.limits.params
        e = self.equity
        old = self.val[j]
        new = (self.pos[j] + d) * self.prices[j]
        dv = new - old
        out: list[float] = []
        if p.max_drawdown is not None:
            out.append(self.drawdown)
        gross = (self.gross - abs(old) + abs(new)) / e
        if p.max_gross_exposure is not None:
            out.append(gross)
        if p.max_leverage is not None:
            out.append(gross)
        if p.max_net_exposure is not None:
            out.append(abs(self.net + dv) / e)
        if p.max_position_weight is not None:
            out.append(abs(new) / e)
        if p.max_cluster_weight is not None:
            out.append(self._cluster_after(j, old, new) / e)
        if self.tail_names:
            out += self._tail_values(j, dv)
        return out

    def _cluster_after(self, j: int, old: float, new: float) -> float:
        """The cluster exposure of ``j`` (currency) with its position value moved from ``old``
        to ``new``: signed, or gross in a mixed cluster; NaN when clusters are unknown."""
        if self.cluster_gross is None or self.cluster_net is None or self.labels is None:
            return math.nan
        c = self.labels[j]
        if self.cluster_mixed[c]:
            return self.cluster_gross[c] - abs(old) + abs(new)
        return abs(self.cluster_net[c] + self.orient[j] * (new - old))

    def _tail_values(self, j: int, dv: float) -> list[float]:
        """The VaR and CVaR figures (as ``tail_names`` lists them) with the position value of
        ``j`` moved by ``dv``. The last two answers are kept: a resize search ends where it
        looked last, and the verification of its answer asks again."""
        for memo in self._memo:
            if memo[0] == j and memo[1] == dv:
                return memo[2]
        e = self.equity
        levels = self.limits.var_levels
        if not self.measurable:
            return [math.nan] * len(levels)
        out: list[float] = []
        if self.pnl is not None:
            pnl = self._buf  # pnl + dv r_j, the same floats as that expression, without allocating
            if pnl is None or len(pnl) != len(self.pnl):
                pnl = self._buf = np.empty_like(self.pnl)
            if dv:
                np.multiply(self.est.returns_t[j], dv, out=pnl)
                pnl += self.pnl
            else:
                pnl[:] = self.pnl
            last = self.kth[-1]  # one partition at the largest tail count, then sort that few
            pnl.partition(last)
            worst = sorted(pnl[: last + 1].tolist())
            for (_, _, _, is_cvar), k in zip(levels, self.hist_k, strict=True):
                loss = -math.fsum(worst[:k]) / k if is_cvar else -worst[k - 1]
                out.append(loss / e)
        if self.u is not None:
            var = self.var + 2.0 * dv * float(self.u[j]) + dv * dv * self.cov_diag[j]
            sd = math.sqrt(var) if var > 0 else 0.0
            mean = self.mean + dv * self.mu[j] if self.mu else 0.0
            for z in self.limits.z:
                out.append((z * sd - mean) / e)
        self._memo = (self._memo + [(j, dv, out)])[-2:]
        return out

    def first_breach(self, j: int, d: float) -> Measure | None:
        for name, measured, limit in zip(self.names, self.values(j, d), self.limit_values, strict=True):
            if not measured <= limit:
                return Measure(name, measured, limit)
        return None

    # ------------------------------------------------------------------ search
    def linear_interval(self, j: int, s: int) -> tuple[float, float]:
        """The interval of quantities ``q >= 0`` (units) in direction ``s`` (+1 buy, -1 sell)
        allowed by the linear limits (exposures, weight, cluster); may be empty (lo > hi)."""
        p = self.limits.params
        e = self.equity
        price = self.prices[j]
        old = self.val[j]
        bound = math.inf  # on |x|, x = position after the order (units)
        caps = [c for c in (p.max_gross_exposure, p.max_leverage) if c is not None]
        if caps:
            bound = min(bound, (min(caps) * e - (self.gross - abs(old))) / price)
        if p.max_position_weight is not None:
            bound = min(bound, p.max_position_weight * e / price)
        signed_cluster: tuple[float, float] | None = None  # (orientation of j, the others' net)
        if p.max_cluster_weight is not None and self.cluster_gross is not None and self.labels is not None:
            c = self.labels[j]
            if self.cluster_mixed[c] or self.cluster_net is None:
                other = self.cluster_gross[c] - abs(old)
                bound = min(bound, (p.max_cluster_weight * e - other) / price)
            else:
                signed_cluster = (self.orient[j], self.cluster_net[c] - self.orient[j] * old)
        x_lo, x_hi = -bound, bound
        if signed_cluster is not None:
            # |other + sigma x price| <= limit E
            sigma, other = signed_cluster
            a = (-p.max_cluster_weight * e - other) / price  # type: ignore[operator]
            b = (p.max_cluster_weight * e - other) / price  # type: ignore[operator]
            lo, hi = (a, b) if sigma > 0 else (-b, -a)
            x_lo, x_hi = max(x_lo, lo), min(x_hi, hi)
        if p.max_net_exposure is not None:
            other = self.net - old
            x_lo = max(x_lo, (-p.max_net_exposure * e - other) / price)
            x_hi = min(x_hi, (p.max_net_exposure * e - other) / price)
        x0 = self.pos[j]
        if s > 0:
            return x_lo - x0, x_hi - x0
        return x0 - x_hi, x0 - x_lo

    def excess(self, j: int, d: float, linear: bool = True) -> float:
        """``max(measured / limit) - 1`` over the enabled limits (> 0: some limit is breached;
        an unmeasurable figure counts as an infinite breach)."""
        if linear:
            figures = zip(self.values(j, d), self.limit_values, strict=True)
        else:
            dv = (self.pos[j] + d) * self.prices[j] - self.val[j]
            figures = zip(self._tail_values(j, dv), self.tail_limits, strict=True)
        worst = -math.inf
        for measured, limit in figures:
            if measured != measured:  # NaN
                return math.inf
            r = measured / limit  # every limit is > 0
            if r > worst:
                worst = r
        return worst - 1.0

    def largest_feasible(
        self,
        j: int,
        s: int,
        n_req: int,
        lot: float,
        n_floor: int,
        g_req: float | None = None,
        units: Callable[[int], float] | None = None,
    ) -> int:
        """Largest number of lots ``n`` in ``(n_floor, n_req)`` whose order keeps every limit,
        or ``n_floor`` when there is none. ``n_req`` lots are known to breach a limit;
        ``g_req`` is the request's VaR/CVaR excess (see :meth:`excess`) when already known.

        The linear limits give the range in closed form; inside it, the boundary of the
        non-linear ones (VaR, CVaR) is found by regula falsi on the lot count (exact in a few
        steps where the figure is piecewise linear in the quantity, as historical VaR is),
        falling back to bisection whenever a step fails to halve the bracket. Inside the
        linear range only the VaR and CVaR figures are computed; the caller re-checks the
        answer against every limit. ``units(n)``: the quantity of ``n`` lots (default
        ``n * lot``; the caller passes the exact quantity it will verify and approve)."""
        if units is None:
            units = lot.__mul__
        lo_q, hi_q = self.linear_interval(j, s)
        eps = 1e-9
        n_lo = max(n_floor + 1, math.ceil(lo_q / lot - eps) if math.isfinite(lo_q) else n_floor + 1)
        n_hi = min(n_req - 1, math.floor(hi_q / lot + eps) if math.isfinite(hi_q) else n_req - 1)
        if n_lo > n_hi:
            return n_floor
        if n_hi == n_req - 1 and g_req is not None and g_req > 0:
            bad, g_bad = n_req, g_req  # the request's own figures bracket from above
        else:
            g_bad = self.excess(j, s * units(n_hi), linear=False)
            if g_bad <= 0:
                return n_hi
            bad = n_hi
        g_good = self.excess(j, s * units(n_lo), linear=False)
        if g_good > 0:
            return n_floor
        good = n_lo
        # Illinois: when the same end is kept twice in a row, its excess is halved for the
        # next interpolation (plain regula falsi creeps from one side on a convex figure)
        kept = 0  # +1: good kept last time, -1: bad kept
        slow = 0  # steps in a row that did not halve the bracket
        while bad - good > 1:
            width = bad - good
            if slow < 2 and math.isfinite(g_bad) and g_bad > g_good:
                mid = good + int((bad - good) * (-g_good) / (g_bad - g_good))
                mid = min(max(mid, good + 1), bad - 1)
            else:
                mid = (good + bad) // 2
            g = self.excess(j, s * units(mid), linear=False)
            if g <= 0:
                good, g_good = mid, g
                if kept == -1:
                    g_bad *= 0.5
                kept = -1
            else:
                bad, g_bad = mid, g
                if kept == 1:
                    g_good *= 0.5
                kept = 1
            slow = slow + 1 if (bad - good) * 2 > width else 0
        return good

    # ------------------------------------------------------------------ blocks
    def block_figures(self, js: list[int], ds: list[float]) -> BlockFigures:
        """Every enabled limit's figure for each order of a block (``ds[k]`` units of symbol
        ``js[k]``) with the block's earlier orders included, as if each were approved at the
        quantity asked: what :meth:`measures` gives order by order with :meth:`apply` in
        between, computed for the whole block with array operations.

        The symbols must be distinct (an order's position value before it is then the
        book's). Every running sum is accumulated in the order :meth:`apply` adds (``cumsum``
        adds sequentially) and every figure is formed as :meth:`measures` forms it, so the
        figures are the same floats as the order-by-order ones."""
        p = self.limits.params
        e = self.equity
        k_rows = len(js)
        ja = np.asarray(js, dtype=np.intp)
        price = np.array([self.prices[j] for j in js])
        old = np.array([self.val[j] for j in js])
        pos_after = np.array([self.pos[j] for j in js]) + np.asarray(ds, dtype=float)
        new = pos_after * price
        dv = new - old
        abs_old, abs_new = np.abs(old), np.abs(new)
        gross = np.empty(k_rows + 1)
        gross[0] = self.gross
        gross[1:] = abs_new - abs_old
        np.cumsum(gross, out=gross)
        net = np.empty(k_rows + 1)
        net[0] = self.net
        net[1:] = dv
        np.cumsum(net, out=net)
        fig = BlockFigures(js, pos_after, new, dv, gross, net)
        if p.max_drawdown is not None:
            fig.add("drawdown", np.full(k_rows, self.drawdown), p.max_drawdown)
        g = (gross[:-1] - abs_old + abs_new) / e
        if p.max_gross_exposure is not None:
            fig.add("gross_exposure", g, p.max_gross_exposure)
        if p.max_leverage is not None:
            fig.add("leverage", g, p.max_leverage)
        if p.max_net_exposure is not None:
            fig.add("net_exposure", np.abs(net[1:]) / e, p.max_net_exposure)
        if p.max_position_weight is not None:
            fig.add("position_weight", abs_new / e, p.max_position_weight)
        if p.max_cluster_weight is not None:
            fig.add("cluster_weight", self._block_clusters(fig, old) / e, p.max_cluster_weight)
        levels = self.limits.var_levels
        if levels and not self.measurable:
            for name, _, lim, _ in levels:
                fig.add(f"{name}_history", np.full(k_rows, math.nan), lim)
        elif levels:
            if self.pnl is not None:
                pnl = np.empty((k_rows + 1, len(self.pnl)))
                pnl[0] = self.pnl
                np.multiply(dv[:, None], self.est.returns_t[ja], out=pnl[1:])
                np.cumsum(pnl, axis=0, out=pnl)
                fig.pnl = pnl
                last = self.kth[-1]
                part = pnl[1:].copy()
                part.partition(last, axis=1)
                worst = np.sort(part[:, : last + 1], axis=1)
                for (name, _, lim, is_cvar), k in zip(levels, self.hist_k, strict=True):
                    loss = -worst[:, k - 1]
                    if is_cvar:  # the exactly rounded mean of the k worst, as _tail_values computes it
                        loss = np.array([-math.fsum(r) / k for r in worst[:, :k].tolist()])
                    fig.add(name + "_historical", loss / e, lim)
            if self.u is not None and self.est.cov is not None:
                u = np.empty((k_rows + 1, k_rows))
                u[0] = self.u[ja]
                np.multiply(dv[:, None], self.est.cov[np.ix_(ja, ja)], out=u[1:])
                np.cumsum(u, axis=0, out=u)
                diag = np.arange(k_rows)
                step = 2.0 * dv * u[diag, diag]  # u[j_k]: before order k
                quad = dv * dv * np.array([self.cov_diag[j] for j in js])
                var = np.empty(k_rows + 1)
                var[0] = self.var
                var[1:] = step + quad
                np.cumsum(var, out=var)
                fig.var = var
                v = var[:-1] + step + quad
                sd = np.sqrt(np.where(v > 0, v, 0.0))
                mean_k = np.zeros(k_rows)
                if self.mu:
                    mean = np.empty(k_rows + 1)
                    mean[0] = self.mean
                    mean[1:] = dv * np.array([self.mu[j] for j in js])
                    np.cumsum(mean, out=mean)
                    fig.mean = mean
                    mean_k = mean[1:]
                for (name, _, lim, _), z in zip(levels, self.limits.z, strict=True):
                    fig.add(name + "_parametric", (z * sd - mean_k) / e, lim)
        return fig

    def _block_clusters(self, fig: BlockFigures, old: FloatArray) -> FloatArray:
        """The cluster exposure of each order's symbol with it and the block's earlier orders
        included (as :meth:`_cluster_after`, currency); records each cluster's sums after each
        order in ``fig.clusters`` for :meth:`apply_block`."""
        js = fig.js
        if self.cluster_gross is None or self.cluster_net is None or self.labels is None:
            return np.full(len(js), math.nan)
        gross: dict[int, float] = {}  # cluster -> running sums within the block
        net: dict[int, float] = {}
        out = np.empty(len(js))
        rows = zip(js, old.tolist(), fig.new.tolist(), fig.dv.tolist(), strict=True)
        for k, (j, o, n, d) in enumerate(rows):
            c = self.labels[j]
            g0 = gross.get(c, self.cluster_gross[c])
            n0 = net.get(c, self.cluster_net[c])
            out[k] = g0 - abs(o) + abs(n) if self.cluster_mixed[c] else abs(n0 + self.orient[j] * (n - o))
            gross[c] = g0 + (abs(n) - abs(o))
            net[c] = n0 + self.orient[j] * d
            fig.clusters.append((c, gross[c], net[c]))
        return out

    def apply_block(self, fig: BlockFigures, count: int) -> None:
        """Include the block's first ``count`` orders, at the quantities asked, in the book:
        the same state as :meth:`apply` order by order."""
        if count <= 0:
            return
        self._memo = []
        js = fig.js[:count]
        for j, x, v in zip(js, fig.pos_after[:count].tolist(), fig.new[:count].tolist(), strict=True):
            self.pos[j] = x
            self.val[j] = v
        self.gross = float(fig.gross[count])
        self.net = float(fig.net[count])
        if fig.pnl is not None:
            self.pnl = fig.pnl[count].copy()
        if fig.var is not None and self.u is not None and self.est.cov is not None:
            self.var = float(fig.var[count])
            u = np.empty((count + 1, len(self.u)))
            u[0] = self.u
            np.multiply(fig.dv[:count, None], self.est.cov[np.asarray(js, dtype=np.intp)], out=u[1:])
            np.cumsum(u, axis=0, out=u)
            self.u = u[-1].copy()
        if fig.mean is not None:
            self.mean = float(fig.mean[count])
        if self.cluster_gross is not None and self.cluster_net is not None:
            for c, g, n in fig.clusters[:count]:
                self.cluster_gross[c] = g
                self.cluster_net[c] = n

    # ------------------------------------------------------------------ updates
    def apply(self, j: int, d: float) -> None:
        """Include an approved order of ``d`` units of symbol ``j`` in the book."""
        if d == 0.0:
            return
        self._memo = []
        old = self.val[j]
        x = self.pos[j] + d
        new = x * self.prices[j]
        dv = new - old
        self.pos[j] = x
        self.val[j] = new
        self.gross += abs(new) - abs(old)
        self.net += dv
        if self.pnl is not None:
            self.pnl = self.pnl + dv * self.est.returns_t[j]
        if self.u is not None and self.est.cov is not None:
            self.var += 2.0 * dv * float(self.u[j]) + dv * dv * self.cov_diag[j]
            self.u = self.u + dv * self.est.cov[j]  # row j = column j: C is symmetric, rows contiguous
            if self.mu:
                self.mean += dv * self.mu[j]
        if self.cluster_gross is not None and self.labels is not None:
            self.cluster_gross[self.labels[j]] += abs(new) - abs(old)
        if self.cluster_net is not None and self.labels is not None:
            self.cluster_net[self.labels[j]] += self.orient[j] * dv
