"""A live view of the portfolio's risk figures and a yes/no/how-much answer for a signal.

    monitor = RiskMonitor(PortfolioLimitsParams(max_gross_exposure=1.0, var_99=0.03))
    figures = monitor.update(ctx)                    # every step, from the engine's RiskContext
    answer = monitor.check_trade_signal(signal)      # or check_trade_signal(signal, quantity=...)
    if answer.approved:
        submit(answer.side, answer.approved_quantity)

``check_trade_signal(signal, quantity=None)`` reads ``signal.strength`` as the target
position value as a fraction of equity (``0.25`` = long a quarter of equity, ``-0.1`` = short
a tenth), or, when ``quantity`` is given, trades that many units in the direction of the
signal's sign. The answer (:class:`TradeCheck`) carries the decision (approve, resize,
reject), the requested and approved quantity, the binding limit with its measured value, and
the figures before and after the approved trade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from ai_trading_core.enums import RiskDecision, Side
from ai_trading_core.errors import RiskError
from ai_trading_core.market import to_datetime
from ai_trading_core.models import Order, Signal
from ai_trading_core.protocols import RiskContext

from .book import Measure
from .limits import PortfolioLimits
from .measures import (
    historical_cvar,
    historical_var,
    normal_cvar_factor,
    normal_quantile,
)
from .params import PortfolioLimitsParams


@dataclass(frozen=True)
class RiskFigures:
    """The portfolio's risk at one step. Exposures, weights, VaR and CVaR are fractions of
    equity; VaR and CVaR are one-step losses (positive). ``var`` holds every VaR/CVaR figure
    whether or not a limit is set on it (keys like ``var_99_historical``); it is empty before
    ``min_observations`` returns exist."""

    timestamp: datetime
    equity: float
    gross_exposure: float
    net_exposure: float
    leverage: float
    drawdown: float
    largest_position: str | None
    largest_position_weight: float
    var: dict[str, float] = field(default_factory=dict)
    clusters: list[tuple[list[str], float]] = field(default_factory=list)  # (symbols, signed exposure)
    breaches: list[Measure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp.isoformat(),
            "equity": self.equity,
            "gross_exposure": self.gross_exposure,
            "net_exposure": self.net_exposure,
            "leverage": self.leverage,
            "drawdown": self.drawdown,
            "largest_position": self.largest_position,
            "largest_position_weight": self.largest_position_weight,
            "var": dict(self.var),
            "clusters": [{"symbols": s, "weight": w} for s, w in self.clusters],
            "breaches": [{"limit": m.name, "measured": m.measured, "value": m.limit} for m in self.breaches],
        }


@dataclass(frozen=True)
class TradeCheck:
    """The answer to :meth:`RiskMonitor.check_trade_signal`."""

    decision: RiskDecision
    symbol: str
    side: Side | None
    requested_quantity: Decimal
    approved_quantity: Decimal
    limit_name: str | None
    measured: float | None
    limit: float | None
    reason: str
    before: RiskFigures
    after: RiskFigures | None = None

    @property
    def approved(self) -> bool:
        """True when some quantity may be traded (approve or resize)."""
        return self.decision is not RiskDecision.REJECT and self.approved_quantity > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "approved": self.approved,
            "decision": self.decision.value,
            "symbol": self.symbol,
            "side": None if self.side is None else self.side.value,
            "requested_quantity": str(self.requested_quantity),
            "approved_quantity": str(self.approved_quantity),
            "limit_name": self.limit_name,
            "measured": self.measured,
            "limit": self.limit,
            "reason": self.reason,
            "before": self.before.to_dict(),
            "after": None if self.after is None else self.after.to_dict(),
        }


class RiskMonitor:
    """Keeps the latest :class:`RiskFigures` and answers trade questions against the limits
    of ``params`` (the same rules as the ``portfolio_limits`` risk check).

    :param params: the limits; ``PortfolioLimitsParams()`` (no limit) when omitted.
    :param lot_size: quantity increment for quantities derived from a signal, units.
    """

    def __init__(
        self, params: PortfolioLimitsParams | None = None, *, lot_size: Decimal = Decimal("1")
    ) -> None:
        self.params = params or PortfolioLimitsParams()
        self.limits = PortfolioLimits(self.params, name="risk_monitor")
        self.lot_size = Decimal(lot_size)
        self._ctx: RiskContext | None = None
        self._figures: RiskFigures | None = None

    @property
    def figures(self) -> RiskFigures:
        if self._figures is None:
            raise RiskError("the risk monitor has not seen the portfolio yet: call update(ctx) first")
        return self._figures

    def update(self, ctx: RiskContext) -> RiskFigures:
        """Recompute every figure from the engine's risk context."""
        self._ctx = ctx
        self._figures = self._compute(ctx, ctx.positions)
        return self._figures

    def _compute(self, ctx: RiskContext, positions: np.ndarray[Any, np.dtype[np.float64]]) -> RiskFigures:
        p = self.params
        prices = np.asarray(ctx.prices, dtype=float)
        pos = np.asarray(positions, dtype=float)
        val = np.where(pos != 0.0, pos * prices, 0.0)
        e = float(ctx.equity)
        absval = np.abs(val)
        gross = float(absval.sum()) / e
        net = abs(float(val.sum())) / e
        drawdown = 1.0 - e / ctx.peak_equity if ctx.peak_equity > 0 else 0.0
        k = int(np.argmax(absval)) if len(val) else -1
        largest = ctx.symbols[k] if k >= 0 and absval[k] > 0 else None
        var: dict[str, float] = {}
        clusters: list[tuple[list[str], float]] = []
        est = self.limits.estimates(ctx)
        if est.n_obs >= p.min_observations and est.n_obs >= 2:
            pnl = est.returns_t.T @ val
            levels = [
                ("var_95", 0.95, False),
                ("var_99", 0.99, False),
                (f"cvar_{p.cvar_confidence * 100:g}", p.cvar_confidence, True),
            ]
            for name, c, is_cvar in levels:
                var[f"{name}_historical"] = (
                    historical_cvar(pnl, c) if is_cvar else historical_var(pnl, c)
                ) / e
            ret = est.returns_t.T
            centred = ret - ret.mean(axis=0)
            sd = float(np.std(centred @ val, ddof=1))
            mean = float(ret.mean(axis=0) @ val) if p.include_mean else 0.0
            for name, c, is_cvar in levels:
                factor = normal_cvar_factor(c) if is_cvar else normal_quantile(c)
                var[f"{name}_parametric"] = (factor * sd - mean) / e
            if est.labels is not None and est.orientation is not None and est.mixed is not None:
                for label in np.unique(est.labels):
                    members = np.flatnonzero(est.labels == label)
                    if len(members) > 1:
                        # the same signed exposure as the pre-trade limit (gross in a mixed cluster)
                        if est.mixed[label]:
                            w = float(absval[members].sum())
                        else:
                            w = abs(float(est.orientation[members] @ val[members]))
                        clusters.append(([ctx.symbols[i] for i in members], w / e))
        figures = RiskFigures(
            timestamp=to_datetime(ctx.timestamp),
            equity=e,
            gross_exposure=gross,
            net_exposure=net,
            leverage=gross,
            drawdown=drawdown,
            largest_position=largest,
            largest_position_weight=float(absval[k]) / e if largest else 0.0,
            var=var,
            clusters=clusters,
        )
        return _with_breaches(figures, p)

    def check_trade_signal(self, signal: Signal, quantity: Decimal | float | str | None = None) -> TradeCheck:
        """Would the limits let this signal trade, and how much?

        :param signal: ``symbol`` and ``strength``: without ``quantity``, ``strength`` is the
            target position value as a fraction of equity and the trade is the difference to
            the current position (rounded down to ``lot_size``); with ``quantity``, the sign of
            ``strength`` gives the side.
        :param quantity: units to trade (positive); optional.
        """
        ctx = self._ctx
        before = self.figures
        assert ctx is not None
        j = ctx.symbol_index.get(signal.symbol)
        if j is None:
            raise RiskError(f"unknown symbol {signal.symbol!r}")
        price = float(ctx.prices[j])
        if quantity is None:
            if not (math.isfinite(price) and price > 0):
                raise RiskError(f"{signal.symbol}: no price to size the signal with")
            delta = signal.strength * ctx.equity / price - float(ctx.positions[j])
            side = Side.BUY if delta > 0 else Side.SELL
            qty = (Decimal(repr(abs(delta))) / self.lot_size).to_integral_value(
                rounding="ROUND_FLOOR"
            ) * self.lot_size
        else:
            qty = Decimal(str(quantity))
            if qty < 0:
                raise RiskError("quantity must be positive; the signal's sign gives the side")
            side = Side.BUY if signal.strength > 0 else Side.SELL
            if signal.strength == 0:
                qty = Decimal(0)
        if qty == 0:
            return TradeCheck(
                RiskDecision.APPROVE,
                signal.symbol,
                None,
                Decimal(0),
                Decimal(0),
                None,
                None,
                None,
                "nothing to trade",
                before,
                before,
            )
        order = Order(
            client_order_id=f"signal:{signal.strategy_id}:{signal.symbol}:{ctx.timestamp}",
            symbol=signal.symbol,
            side=side,
            quantity=qty,
            strategy_id=signal.strategy_id,
            correlation_id=signal.correlation_id or "",
            created_at=signal.timestamp,
        )
        verdict = self.limits.check([order], ctx)[0]
        approved = verdict.approved_quantity or Decimal(0)
        after = None
        if approved > 0:
            pos = np.array(ctx.positions, dtype=float)
            pos[j] += float(approved) * side.sign
            after = self._compute(ctx, pos)
        name = verdict.reason.split(" ", 1)[0] if verdict.decision is not RiskDecision.APPROVE else None
        if verdict.decision is RiskDecision.APPROVE and "most used: " in verdict.reason:
            name = verdict.reason.rsplit("most used: ", 1)[1].split(" ", 1)[0]
        return TradeCheck(
            verdict.decision,
            signal.symbol,
            side,
            qty,
            approved,
            name,
            verdict.measured,
            verdict.limit,
            verdict.reason,
            before,
            after,
        )


def _with_breaches(f: RiskFigures, p: PortfolioLimitsParams) -> RiskFigures:
    pairs: list[tuple[str, float | None, float | None]] = [
        ("gross_exposure", f.gross_exposure, p.max_gross_exposure),
        ("net_exposure", f.net_exposure, p.max_net_exposure),
        ("leverage", f.leverage, p.max_leverage),
        ("drawdown", f.drawdown, p.max_drawdown),
        ("position_weight", f.largest_position_weight, p.max_position_weight),
    ]
    for method in p.var_methods:
        pairs += [
            (f"var_95_{method}", f.var.get(f"var_95_{method}"), p.var_95),
            (f"var_99_{method}", f.var.get(f"var_99_{method}"), p.var_99),
            (
                f"cvar_{p.cvar_confidence * 100:g}_{method}",
                f.var.get(f"cvar_{p.cvar_confidence * 100:g}_{method}"),
                p.cvar,
            ),
        ]
    if p.max_cluster_weight is not None:
        worst = max([w for _, w in f.clusters] + [f.largest_position_weight])
        pairs.append(("cluster_weight", worst, p.max_cluster_weight))
    breaches = [Measure(n, m, lim) for n, m, lim in pairs if m is not None and lim is not None and m > lim]
    return RiskFigures(**{**f.__dict__, "breaches": breaches})
