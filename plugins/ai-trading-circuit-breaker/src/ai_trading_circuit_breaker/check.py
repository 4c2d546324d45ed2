"""The ``circuit_breaker`` risk check: feeds the engine's equity to a :class:`CircuitBreaker`
every step and asks for its state while it is tripped."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core.batch import APPROVE, OrderBatch, VerdictBatch
from ai_trading_core.enums import RiskDecision, RiskLevel, RiskState, RunMode
from ai_trading_core.market import to_datetime
from ai_trading_core.models import Order, RiskVerdict
from ai_trading_core.protocols import RiskContext, RiskStateRequest
from ai_trading_core.registry import BuildContext

from .breaker import MAX_WINDOW_SECONDS, BreakerStatus, CircuitBreaker
from .state_file import state_path


class CircuitBreakerParams(BaseModel):
    """Parameters of the ``circuit_breaker`` risk check."""

    model_config = ConfigDict(extra="forbid")

    daily_loss_limit: float = Field(0.05, gt=0, le=1, description="fraction of day-start equity")
    rapid_loss_limit: float = Field(0.02, gt=0, le=1, description="fraction of the trailing window's high")
    rapid_loss_window: float = Field(
        900.0, gt=0, le=MAX_WINDOW_SECONDS, description="seconds (finite; at most a century)"
    )
    daily_loss_action: Literal["reducing", "halted"] = "halted"
    rapid_loss_action: Literal["reducing", "halted"] = "reducing"
    persist: bool | None = Field(
        None, description="keep the state in <state_dir>/circuit-breaker/<id>.json; default: not in backtests"
    )


class CircuitBreakerCheck:
    """RiskCheck wrapping a :class:`CircuitBreaker`.

    ``update`` feeds ``ctx.equity`` and ``ctx.equity - ctx.day_start_equity`` and returns a
    :class:`RiskStateRequest` for the breaker's state on every step while it is tripped (the
    engine only ever escalates). ``check`` approves everything while the breaker is ACTIVE:
    gating by state is the engine's job. As a second line of defence, a tripped breaker rejects
    every order in HALTED and every order that does not reduce a position in REDUCING.
    """

    __slots__ = ("name", "breaker")

    def __init__(self, breaker: CircuitBreaker, name: str = "circuit_breaker") -> None:
        self.name = name
        self.breaker = breaker

    def update(self, ctx: RiskContext) -> RiskStateRequest | None:
        b = self.breaker
        b.update_portfolio_value(ctx.equity, ctx.equity - ctx.day_start_equity, ctx.timestamp)
        if not b.is_tripped():
            return None
        st = b.status()
        return RiskStateRequest(st.state, st.reason, st.measured, st.limit)

    def check(self, orders: Sequence[Order], ctx: RiskContext) -> Sequence[RiskVerdict]:
        st = self.breaker.status()
        when = to_datetime(ctx.timestamp)
        verdicts = []
        for order in orders:
            approve, reason, level = _verdict(st, st.state is RiskState.REDUCING and _reduces(order, ctx))
            verdicts.append(
                RiskVerdict(
                    check=self.name,
                    decision=RiskDecision.APPROVE if approve else RiskDecision.REJECT,
                    client_order_id=order.client_order_id,
                    symbol=order.symbol,
                    limit=st.limit,
                    measured=st.measured,
                    requested_quantity=order.quantity,
                    approved_quantity=order.quantity if approve else Decimal(0),
                    reason=reason,
                    level=level,
                    timestamp=when,
                    correlation_id=order.correlation_id,
                )
            )
        return verdicts

    def check_batch(self, batch: OrderBatch, ctx: RiskContext) -> VerdictBatch:
        """The verdicts of :meth:`check` for a columnar batch (REDUCING: one array test of
        which rows reduce a position)."""
        st = self.breaker.status()
        n = len(batch)
        if st.state is RiskState.ACTIVE:
            out = VerdictBatch.approve_all(self.name, n, _verdict(st, False)[1])
        elif st.state is RiskState.REDUCING:
            reduces = _batch_reduces(batch, ctx)
            out = VerdictBatch.reject_all(self.name, n, _verdict(st, False)[1])
            out.decision[reduces] = APPROVE
            allowed = _verdict(st, True)[1]
            for r in np.flatnonzero(reduces).tolist():
                out.reasons[r] = allowed
        else:
            out = VerdictBatch.reject_all(self.name, n, _verdict(st, False)[1])
        if st.measured is not None:
            out.measured = dict.fromkeys(range(n), st.measured)
        if st.limit is not None:
            out.limits = dict.fromkeys(range(n), st.limit)
        return out


def _verdict(st: BreakerStatus, reduces: bool) -> tuple[bool, str, RiskLevel]:
    """(approved, reason, level) of an order under the breaker's status ``st``; ``reduces``:
    the order reduces a position (it matters only while REDUCING)."""
    if st.state is RiskState.ACTIVE:
        return True, "circuit breaker armed", RiskLevel.LOW
    if st.state is RiskState.REDUCING and reduces:
        return True, f"reduces a position while reducing: {st.reason}", RiskLevel.HIGH
    return False, f"circuit breaker {st.state.value}: {st.reason}", RiskLevel.CRITICAL


def _reduces(order: Order, ctx: RiskContext) -> bool:
    """True when the order moves the position toward zero without crossing it."""
    i = ctx.symbol_index.get(order.symbol)
    if i is None:
        return False
    current = float(ctx.positions[i])
    signed = float(order.signed_quantity)
    return current != 0.0 and (signed > 0) != (current > 0) and abs(signed) <= abs(current) + 1e-12


def _batch_reduces(batch: OrderBatch, ctx: RiskContext) -> np.ndarray:
    """:func:`_reduces` for every row of ``batch`` (boolean mask)."""
    i = ctx.batch_index(batch)
    known = i >= 0
    current = np.where(known, np.asarray(ctx.positions, dtype=float)[np.where(known, i, 0)], 0.0)
    signed = batch.side * (batch.units / float(10**batch.qty_scale))  # float(Decimal) of the quantity
    return known & (current != 0.0) & ((signed > 0) != (current > 0)) & (np.abs(signed) <= np.abs(current) + 1e-12)


def build_circuit_breaker(params: CircuitBreakerParams, ctx: BuildContext) -> CircuitBreakerCheck:
    persist = params.persist if params.persist is not None else ctx.mode is not RunMode.BACKTEST
    breaker = CircuitBreaker(
        params.daily_loss_limit,
        params.rapid_loss_limit,
        params.rapid_loss_window,
        daily_loss_state=RiskState(params.daily_loss_action),
        rapid_loss_state=RiskState(params.rapid_loss_action),
        state_file=state_path(ctx.state_dir, ctx.component_id) if persist else None,
        clock=ctx.clock,
    )
    return CircuitBreakerCheck(breaker, name=ctx.component_id or "circuit_breaker")
