"""The ``portfolio_limits`` risk check.

For each order, in the order given, the limits are evaluated on the pro-forma portfolio: the
current positions, the orders of the same batch approved before it, and the candidate order.

* An order that reduces a position (opposite side, not crossing zero) is always approved.
* Beyond ``max_drawdown`` only such orders pass; an order that would flip the position is
  resized to the closing quantity.
* Otherwise the order is approved when no limit is breached with it included; resized to
  the largest whole number of lots that breaches none (closed form for the linear limits,
  bisection for VaR and CVaR); rejected when there is none.

A resize never asks for more than requested, and every approved quantity is verified against
every limit before the verdict is given: an approved order never leaves a limit breached.
The verdict carries the binding limit's name (in ``reason``), its measured value and the
limit; for an approval, the most utilised limit.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

import numpy as np

from ai_trading_core.enums import RiskDecision, RiskLevel
from ai_trading_core.market import to_datetime
from ai_trading_core.models import Order, RiskVerdict
from ai_trading_core.protocols import RiskContext, RiskStateRequest
from ai_trading_core.registry import BuildContext

from .book import LimitSet, Measure, RiskBook
from .estimates import RiskEstimates
from .params import PortfolioLimitsParams
from .rolling import RollingRiskEstimator


def lot_of(quantity: Decimal) -> Decimal:
    """The quantity increment implied by a quantity's last decimal place (``12.50`` -> ``0.01``):
    the engine rounds every order to its instrument's lot, keeping the lot's exponent."""
    exp = quantity.as_tuple().exponent
    assert isinstance(exp, int)
    return Decimal(1).scaleb(min(exp, 0))


class PortfolioLimits:
    """Pre-trade portfolio limits (see the module docstring). ``update`` only refreshes the
    estimates; this check never changes the risk state (the circuit breaker does)."""

    def __init__(self, params: PortfolioLimitsParams, name: str = "portfolio_limits") -> None:
        self.name = name
        self.params = params
        self.limits = LimitSet(params)
        self.warmup = params.lookback + 1 if params.needs_returns else 0
        self._est: RiskEstimates | None = None
        self._estimator = RollingRiskEstimator(params)
        self._base: tuple[tuple[object, ...], RiskBook] | None = None
        self._steps_since = 0
        self._lots = {s: Decimal(v) for s, v in params.lot_sizes.items()}

    # ------------------------------------------------------------------ estimates
    def estimates(self, ctx: RiskContext) -> RiskEstimates:
        """The step's estimates, computed at most once per timestamp (and only every
        ``estimate_every`` steps): the return window's mean and covariance are updated with the
        returns that arrived since (O(N²) per return), not re-estimated from scratch."""
        est = self._est
        if est is not None and est.timestamp == ctx.timestamp:
            return est
        self._steps_since += 1
        if est is None or self._steps_since >= self.params.estimate_every or est.n_obs < self.params.lookback:
            est = self._estimator.estimate(ctx.history, ctx.timestamp, len(ctx.symbols))
            self._steps_since = 0
        else:
            est = dataclasses.replace(est, timestamp=ctx.timestamp)
        self._est = est
        return est

    def book(self, ctx: RiskContext) -> RiskBook:
        """A fresh pro-forma book of ``ctx``. The base book (P&L series, covariance products)
        is built once per portfolio state and copied for each ``check`` call."""
        est = self.estimates(ctx)
        key = (
            ctx.timestamp,
            float(ctx.equity),
            float(ctx.peak_equity),
            np.asarray(ctx.positions, dtype=float).tobytes(),
            np.asarray(ctx.prices, dtype=float).tobytes(),
        )
        base = self._base
        if base is None or base[0] != key or base[1].est is not est:
            base = (key, RiskBook(self.limits, ctx, est))
            self._base = base
        return base[1].copy()

    def update(self, ctx: RiskContext) -> RiskStateRequest | None:
        self.estimates(ctx)
        return None

    # ------------------------------------------------------------------ check
    def check(self, orders: Sequence[Order], ctx: RiskContext) -> Sequence[RiskVerdict]:
        if not orders:
            return []
        book = self.book(ctx)
        when = to_datetime(ctx.timestamp)
        return [self._decide(book, order, ctx, when) for order in orders]

    def _decide(self, book: RiskBook, order: Order, ctx: RiskContext, when: datetime) -> RiskVerdict:
        j = ctx.symbol_index.get(order.symbol)
        qty = order.quantity
        if j is None:
            return self._verdict(
                order, when, RiskDecision.REJECT, Decimal(0), None, f"unknown symbol {order.symbol!r}"
            )
        price = float(book.prices[j])
        if not (math.isfinite(price) and price > 0) or not book.equity > 0:
            return self._verdict(
                order,
                when,
                RiskDecision.REJECT,
                Decimal(0),
                None,
                f"cannot value the order: price {price!r}, equity {book.equity!r}",
            )
        s = 1 if order.signed_quantity > 0 else -1
        lot_d = self._lots.get(order.symbol) or lot_of(qty)
        lot = float(lot_d)
        n_req = int((qty / lot_d).to_integral_value(rounding=ROUND_FLOOR))
        q_req = float(qty)
        x0 = float(book.pos[j])
        reducible = abs(x0) if x0 * s < 0 else 0.0

        if q_req <= reducible * (1 + 1e-12):
            figures = book.measures(j, s * q_req)
            book.apply(j, s * q_req)
            return self._verdict(
                order,
                when,
                RiskDecision.APPROVE,
                qty,
                _most_used(figures),
                "reduces a position",
                RiskLevel.LOW,
            )

        n_floor = math.floor(reducible / lot + 1e-9)
        p = self.params
        if p.max_drawdown is not None and book.drawdown > p.max_drawdown:
            m = Measure("drawdown", book.drawdown, p.max_drawdown)
            return self._partial(book, order, when, j, s, n_floor, lot_d, m, "only reducing orders pass")

        figures = book.measures(j, s * q_req)
        breach = _first_breach(figures)
        if breach is None:
            book.apply(j, s * q_req)
            used = _most_used(figures)
            level = RiskLevel.MEDIUM if used is not None and used.utilisation > 0.8 else RiskLevel.LOW
            return self._verdict(order, when, RiskDecision.APPROVE, qty, used, "within every limit", level)

        g_req = _tail_excess(figures, len(figures) - book.n_tail)
        n = book.largest_feasible(j, s, n_req, lot, n_floor, g_req) if n_req > 0 else 0
        if n > n_floor:
            q = lot_d * n
            after = book.first_breach(j, s * float(q))
            if after is not None:  # defence: never approve a breach, even after rounding
                n = n_floor
        return self._partial(book, order, when, j, s, n, lot_d, breach, "")

    def _partial(
        self,
        book: RiskBook,
        order: Order,
        when: datetime,
        j: int,
        s: int,
        n: int,
        lot: Decimal,
        binding: Measure,
        why: str,
    ) -> RiskVerdict:
        q = min(lot * n, order.quantity)
        text = f"{binding.name} {binding.measured:.6g} > limit {binding.limit:.6g}"
        text += f": {why}" if why else f" with {order.side.value} {order.quantity}"
        if q <= 0:
            return self._verdict(
                order,
                when,
                RiskDecision.REJECT,
                Decimal(0),
                binding,
                f"{text}; no quantity keeps every limit",
                RiskLevel.HIGH,
            )
        book.apply(j, s * float(q))
        return self._verdict(
            order, when, RiskDecision.RESIZE, q, binding, f"{text}; resized to {q}", RiskLevel.MEDIUM
        )

    def _verdict(
        self,
        order: Order,
        when: datetime,
        decision: RiskDecision,
        approved: Decimal,
        measure: Measure | None,
        reason: str,
        level: RiskLevel = RiskLevel.HIGH,
    ) -> RiskVerdict:
        if measure is not None and decision is RiskDecision.APPROVE:
            reason = f"{reason}; most used: {measure.name} {measure.measured:.6g} of {measure.limit:.6g}"
        return RiskVerdict(
            check=self.name,
            decision=decision,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            limit=None if measure is None else measure.limit,
            measured=None if measure is None or math.isnan(measure.measured) else measure.measured,
            requested_quantity=order.quantity,
            approved_quantity=approved,
            reason=reason,
            level=level,
            timestamp=when,
            correlation_id=order.correlation_id,
        )


def _tail_excess(figures: list[Measure], start: int) -> float | None:
    """``max(measured / limit) - 1`` over the VaR/CVaR figures (the last ones of the list);
    None when there are none."""
    tail = figures[start:]
    if not tail:
        return None
    return max(math.inf if m[1] != m[1] else m[1] / m[2] for m in tail) - 1.0


def _first_breach(figures: list[Measure]) -> Measure | None:
    for m in figures:
        if not m.measured <= m.limit:
            return m
    return None


def _most_used(figures: list[Measure]) -> Measure | None:
    best = None
    ratio = -math.inf
    for m in figures:
        r = m[1] / m[2]
        if r > ratio:
            best, ratio = m, r
    return best


def build_portfolio_limits(params: PortfolioLimitsParams, ctx: BuildContext) -> PortfolioLimits:
    return PortfolioLimits(params, name=ctx.component_id or "portfolio_limits")
