"""A pro-forma view of the portfolio's risk: current figures, the figures with one candidate
order included (in O(1) for the linear and parametric limits, O(L) for the historical ones)
and the largest order quantity that keeps every limit.

Definitions (``v_i`` = position value of symbol ``i`` in currency, ``E`` = equity):

* gross exposure and leverage: ``sum |v_i| / E``; net exposure: ``|sum v_i| / E``;
* position weight: ``|v_j| / E`` of the order's symbol ``j``;
* cluster weight: ``sum |v_i| / E`` over the correlation cluster of ``j``;
* historical VaR/CVaR: of the P&L series ``sum_i v_i r_{t,i}`` over the lookback window,
  divided by ``E``; parametric: ``z sqrt(v' C v) - v' mu`` (the mean term only with
  ``include_mean``), divided by ``E``;
* drawdown: ``1 - E / peak_equity`` (does not depend on the order).

A limit is breached when the measured value is **greater** than the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ai_trading_core.protocols import RiskContext

from .estimates import RiskEstimates
from .measures import normal_cvar_factor, normal_quantile, tail_count
from .params import PortfolioLimitsParams


@dataclass(frozen=True, slots=True)
class Measure:
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
        "labels",
        "hist_k",
        "measurable",
        "drawdown",
    )

    def __init__(self, limits: LimitSet, ctx: RiskContext, est: RiskEstimates) -> None:
        self.limits = limits
        self.est = est
        p = limits.params
        self.equity = float(ctx.equity)
        self.peak = float(ctx.peak_equity)
        self.prices = np.asarray(ctx.prices, dtype=float)
        self.pos = np.array(ctx.positions, dtype=float)
        val = self.pos * self.prices
        val[self.pos == 0.0] = 0.0  # no position: value 0 even where no price is known yet
        self.val = val
        self.gross = float(np.abs(val).sum())
        self.net = float(val.sum())
        self.drawdown = 1.0 - self.equity / self.peak if self.peak > 0 else 0.0
        self.measurable = (
            not limits.var_levels
            and p.correlation_threshold is None
            or (est.n_obs >= p.min_observations and (est.cov is not None or not p.needs_covariance))
        )
        self.pnl = est.returns_t.T @ val if limits.hist and self.measurable else None
        self.hist_k = (
            [tail_count(est.n_obs, c) for _, c, _, _ in limits.var_levels] if self.pnl is not None else []
        )
        if limits.param and self.measurable and est.cov is not None:
            self.u = est.cov @ val
            self.var = float(val @ self.u)
            self.mean = float(est.mean @ val) if limits.include_mean and est.mean is not None else 0.0
        else:
            self.u = None
            self.var = 0.0
            self.mean = 0.0
        self.labels = est.labels if p.max_cluster_weight is not None and self.measurable else None
        self.cluster_gross = (
            np.bincount(self.labels, weights=np.abs(val)) if self.labels is not None else None
        )

    # ------------------------------------------------------------------ figures
    def measures(self, j: int, d: float) -> list[Measure]:
        """Every enabled limit's figure with ``d`` units of symbol ``j`` added."""
        p = self.limits.params
        e = self.equity
        price = self.prices[j]
        old = self.val[j]
        new = (self.pos[j] + d) * price
        dv = new - old
        out: list[Measure] = []
        if p.max_drawdown is not None:
            out.append(Measure("drawdown", self.drawdown, p.max_drawdown))
        gross = (self.gross - abs(old) + abs(new)) / e
        if p.max_gross_exposure is not None:
            out.append(Measure("gross_exposure", gross, p.max_gross_exposure))
        if p.max_leverage is not None:
            out.append(Measure("leverage", gross, p.max_leverage))
        if p.max_net_exposure is not None:
            out.append(Measure("net_exposure", abs(self.net + dv) / e, p.max_net_exposure))
        if p.max_position_weight is not None:
            out.append(Measure("position_weight", abs(new) / e, p.max_position_weight))
        if p.max_cluster_weight is not None:
            if self.cluster_gross is None or self.labels is None:
                out.append(Measure("cluster_weight", math.nan, p.max_cluster_weight))
            else:
                cg = self.cluster_gross[self.labels[j]] - abs(old) + abs(new)
                out.append(Measure("cluster_weight", cg / e, p.max_cluster_weight))
        levels = self.limits.var_levels
        if levels:
            if not self.measurable:
                out.extend(Measure(f"{name}_history", math.nan, lim) for name, _, lim, _ in levels)
                return out
            if self.pnl is not None:
                pnl = self.pnl + dv * self.est.returns_t[j] if dv else self.pnl
                part = np.partition(pnl, sorted({k - 1 for k in self.hist_k}))
                for (name, _, lim, is_cvar), k in zip(levels, self.hist_k, strict=True):
                    loss = -part[:k].mean() if is_cvar else -part[k - 1]
                    out.append(Measure(f"{name}_historical", float(loss) / e, lim))
            if self.u is not None:
                cov = self.est.cov
                assert cov is not None
                var = self.var + 2.0 * dv * self.u[j] + dv * dv * cov[j, j]
                sd = math.sqrt(var) if var > 0 else 0.0
                mean = self.mean
                if self.limits.include_mean and self.est.mean is not None:
                    mean += dv * self.est.mean[j]
                for (name, _, lim, _), z in zip(levels, self.limits.z, strict=True):
                    out.append(Measure(f"{name}_parametric", (z * sd - mean) / e, lim))
        return out

    def first_breach(self, j: int, d: float) -> Measure | None:
        for m in self.measures(j, d):
            if m.breached:
                return m
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
        if p.max_cluster_weight is not None and self.cluster_gross is not None and self.labels is not None:
            other = self.cluster_gross[self.labels[j]] - abs(old)
            bound = min(bound, (p.max_cluster_weight * e - other) / price)
        x_lo, x_hi = -bound, bound
        if p.max_net_exposure is not None:
            other = self.net - old
            x_lo = max(x_lo, (-p.max_net_exposure * e - other) / price)
            x_hi = min(x_hi, (p.max_net_exposure * e - other) / price)
        x0 = self.pos[j]
        if s > 0:
            return x_lo - x0, x_hi - x0
        return x0 - x_hi, x0 - x_lo

    def largest_feasible(self, j: int, s: int, n_req: int, lot: float, n_floor: int) -> int:
        """Largest number of lots ``n`` in ``(n_floor, n_req)`` whose order keeps every limit,
        or ``n_floor`` when there is none. ``n_req`` lots are known to breach a limit."""
        lo_q, hi_q = self.linear_interval(j, s)
        eps = 1e-9
        n_lo = max(n_floor + 1, math.ceil(lo_q / lot - eps) if math.isfinite(lo_q) else n_floor + 1)
        n_hi = min(n_req - 1, math.floor(hi_q / lot + eps) if math.isfinite(hi_q) else n_req - 1)
        if n_lo > n_hi:
            return n_floor
        if self.first_breach(j, s * n_hi * lot) is None:
            return n_hi
        if self.first_breach(j, s * n_lo * lot) is not None:
            return n_floor
        good, bad = n_lo, n_hi
        while bad - good > 1:
            mid = (good + bad) // 2
            if self.first_breach(j, s * mid * lot) is None:
                good = mid
            else:
                bad = mid
        return good

    # ------------------------------------------------------------------ updates
    def apply(self, j: int, d: float) -> None:
        """Include an approved order of ``d`` units of symbol ``j`` in the book."""
        if d == 0.0:
            return
        price = self.prices[j]
        old = self.val[j]
        self.pos[j] += d
        new = self.pos[j] * price
        dv = new - old
        self.val[j] = new
        self.gross += abs(new) - abs(old)
        self.net += dv
        if self.pnl is not None:
            self.pnl = self.pnl + dv * self.est.returns_t[j]
        if self.u is not None and self.est.cov is not None:
            cov = self.est.cov
            self.var += 2.0 * dv * self.u[j] + dv * dv * cov[j, j]
            self.u = self.u + dv * cov[:, j]
            if self.limits.include_mean and self.est.mean is not None:
                self.mean += dv * self.est.mean[j]
        if self.cluster_gross is not None and self.labels is not None:
            self.cluster_gross[self.labels[j]] += abs(new) - abs(old)
