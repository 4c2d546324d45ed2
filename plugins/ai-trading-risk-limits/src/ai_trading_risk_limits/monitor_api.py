"""The original design's risk monitor for scripts and notebooks, over the configured risk
checks (``[[risk]]``: ``portfolio_limits``, ``circuit_breaker``, ``kill_switch`` ...)::

    risk_monitor = RiskMonitor(config.risk)
    risk_monitor.update_positions({"SPY": 100})
    risk_monitor.update_portfolio_metrics({"equity": 100_000, "cash": 55_000, "prices": {"SPY": 450}})
    answer = await risk_monitor.check_trade_signal(signal)   # truthy when allowed
    answer.reasons                                          # why not, one line per check

Nothing is re-implemented: each check is built by its own plugin's factory, exactly as a run
builds it, and sees the same :class:`~ai_trading_core.protocols.RiskContext` fields; the risk
state follows the engine's rules (ACTIVE, REDUCING: only orders that reduce a position,
HALTED: nothing). Not to be confused with :class:`ai_trading_risk_limits.RiskMonitor`, the
figures view of the ``portfolio_limits`` rules inside a run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import numpy as np

from ai_trading_core.clock import Clock, WallClock
from ai_trading_core.config import AppConfig, ComponentConfig
from ai_trading_core.enums import RiskDecision, RiskState, RunMode, Side
from ai_trading_core.errors import ConfigError, RiskError
from ai_trading_core.market import History, MarketSlice, to_ns
from ai_trading_core.models import Order, PortfolioState, Position, RiskVerdict, Signal
from ai_trading_core.plugins import PluginHost, create_plugin_host
from ai_trading_core.protocols import RiskCheck, RiskContext
from ai_trading_core.registry import BuildContext

_RANK = {RiskState.ACTIVE: 0, RiskState.REDUCING: 1, RiskState.HALTED: 2}
_METRIC_NAMES = ("equity", "total_value", "cash", "peak_equity", "day_start_equity", "prices", "timestamp")


@dataclass(frozen=True)
class SignalCheck:
    """The answer of :meth:`RiskMonitor.check_trade_signal`; true when the signal may trade.

    ``requested_quantity`` and ``approved_quantity`` are units (``approved`` is what is left
    after every RESIZE); ``reasons`` names each check that resized or refused, and the risk
    state when it alone refused."""

    allowed: bool
    symbol: str
    side: Side | None
    requested_quantity: Decimal
    approved_quantity: Decimal
    reasons: tuple[str, ...] = ()
    verdicts: tuple[RiskVerdict, ...] = ()
    state: RiskState = RiskState.ACTIVE

    def __bool__(self) -> bool:
        return self.allowed


@dataclass
class _Book:
    equity: float = 0.0
    cash: float = 0.0
    peak_equity: float = 0.0
    day_start_equity: float = 0.0
    positions: dict[str, Decimal] = field(default_factory=dict)
    prices: dict[str, float] = field(default_factory=dict)
    timestamp: datetime | None = None


def _component_configs(risk: Any) -> list[ComponentConfig]:
    if isinstance(risk, AppConfig):
        return list(risk.risk)
    if risk is None:
        return []
    if isinstance(risk, ComponentConfig | Mapping):
        risk = [risk]
    out = []
    for item in risk:
        out.append(item if isinstance(item, ComponentConfig) else ComponentConfig.model_validate(item))
    return out


class RiskMonitor:
    """Risk checks of a config, fed by hand.

    :param risk: ``config.risk`` (a list of ``[[risk]]`` components or dicts), a whole
        :class:`~ai_trading_core.config.AppConfig`, or None (no check: only the risk state).
    :param host: the plugin host to build the checks with (default: every installed plugin).
    :param state_dir: where stateful checks keep their state (the kill switch's halt file,
        the circuit breaker's state): the same directory as the runs to share it with them.
    :param initial_cash: currency, for checks that need the starting capital.
    :param lot_size: quantity increment of quantities derived from a signal, units.
    :param history: rows of price history kept for VaR-style checks (one per update).
    """

    def __init__(
        self,
        risk: Sequence[ComponentConfig | Mapping[str, Any]] | AppConfig | None = None,
        *,
        host: PluginHost | None = None,
        state_dir: str | Path = ".ai-trading",
        initial_cash: Decimal | int | str = Decimal("100000"),
        currency: str = "USD",
        mode: RunMode = RunMode.PAPER,
        lot_size: Decimal | int | str = Decimal("1"),
        history: int = 252,
        clock: Clock | None = None,
    ) -> None:
        configs = _component_configs(risk)
        self.clock: Clock = clock if clock is not None else WallClock()
        self.lot_size = Decimal(str(lot_size))
        if self.lot_size <= 0:
            raise ConfigError(f"lot_size must be positive, got {lot_size}")
        self.history_rows = history
        host = host if host is not None else create_plugin_host()
        registry = host.registries.risk_checks
        self.checks: list[RiskCheck] = []
        for cc in configs:
            ctx = BuildContext(
                component_id=cc.instance_id,
                mode=mode,
                initial_cash=Decimal(str(initial_cash)),
                currency=currency,
                state_dir=Path(state_dir),
                clock=self.clock,
            )
            self.checks.append(registry.get(cc.name).build(cc.params, ctx))
        self.state = RiskState.ACTIVE
        self.state_reason = ""
        self._book = _Book(equity=float(initial_cash), cash=float(initial_cash))
        self._book.peak_equity = self._book.day_start_equity = self._book.equity
        self._symbols: tuple[str, ...] = ()
        self._history: History | None = None

    # ------------------------------------------------------------------ feeding
    def update_positions(self, positions: Mapping[str, Any] | Iterable[Position]) -> None:
        """Replace the held positions: ``{symbol: units}`` (signed; Decimal, int, str or
        float) or :class:`~ai_trading_core.models.Position` objects, whose ``market_price``
        also updates the symbol's price."""
        book: dict[str, Decimal] = {}
        items = positions.items() if isinstance(positions, Mapping) else ((p.symbol, p) for p in positions)
        for symbol, value in items:
            if isinstance(value, Position):
                book[symbol] = value.quantity
                if value.market_price is not None:
                    self._book.prices[symbol] = float(value.market_price)
            elif isinstance(value, Mapping):
                book[symbol] = Decimal(str(value.get("quantity", 0)))
                if value.get("price") is not None:
                    self._book.prices[symbol] = float(value["price"])
            else:
                book[symbol] = Decimal(str(value))
        self._book.positions = book

    def update_portfolio_metrics(self, metrics: Mapping[str, Any] | PortfolioState | object) -> RiskState:
        """Mark the portfolio and let every check update the risk state.

        :param metrics: a :class:`~ai_trading_core.models.PortfolioState`, or a mapping (or an
            object with these attributes) with
            ``equity`` (alias ``total_value``, currency), ``cash`` (currency), optional
            ``peak_equity`` and ``day_start_equity`` (currency), ``prices``
            (``{symbol: price}``, currency per unit) and ``timestamp`` (timezone-aware).
        :return: the risk state after the checks' requests (only ever escalated here;
            re-arming is the checks' own explicit action).
        """
        b = self._book
        if isinstance(metrics, PortfolioState):
            data: dict[str, Any] = {"equity": metrics.equity, "cash": metrics.cash, "timestamp": metrics.timestamp}
            self.update_positions(metrics.positions)
        elif isinstance(metrics, Mapping):
            data = dict(metrics)
        else:  # an object with attributes (a dataclass, a model): the same names
            data = {k: getattr(metrics, k) for k in _METRIC_NAMES if getattr(metrics, k, None) is not None}
        equity = data.get("equity", data.get("total_value"))
        if equity is not None:
            b.equity = float(equity)
        if data.get("cash") is not None:
            b.cash = float(data["cash"])
        b.peak_equity = float(data.get("peak_equity") or max(b.peak_equity, b.equity))
        if data.get("day_start_equity") is not None:
            b.day_start_equity = float(data["day_start_equity"])
        for symbol, price in (data.get("prices") or {}).items():
            b.prices[symbol] = float(price)
        b.timestamp = data.get("timestamp") or self.clock.now()
        ctx = self._context()
        if ctx.symbols:
            self._push(ctx)
            ctx = self._context()
        for check in self.checks:
            request = check.update(ctx)
            if request is not None and _RANK[request.state] > _RANK[self.state]:
                self.state, self.state_reason = request.state, f"{check.name}: {request.reason}"
        return self.state

    # ------------------------------------------------------------------ the question
    async def check_trade_signal(
        self, signal: Signal, quantity: Decimal | int | str | None = None, *, price: float | None = None
    ) -> SignalCheck:
        """May ``signal`` trade, and how much?

        Without ``quantity``, ``signal.strength`` is the target position as a fraction of
        equity (0.05 = long 5 %); the order is the difference to the held position, rounded
        down to ``lot_size``. With ``quantity`` (units, positive) the sign of the strength
        gives the side. ``price`` (currency per unit) overrides the last known price.
        """
        b = self._book
        if price is not None:
            b.prices[signal.symbol] = float(price)
        px = b.prices.get(signal.symbol)
        held = b.positions.get(signal.symbol, Decimal(0))
        if quantity is None:
            if px is None or not (math.isfinite(px) and px > 0):
                raise RiskError(f"{signal.symbol}: no price to size the signal with (update_portfolio_metrics prices)")
            target = Decimal(repr(signal.strength * b.equity / px))
            delta = target - held
            qty = (abs(delta) / self.lot_size).quantize(Decimal(1), rounding=ROUND_DOWN) * self.lot_size
            side = Side.BUY if delta > 0 else Side.SELL
        else:
            qty = Decimal(str(quantity))
            if qty < 0:
                raise RiskError("quantity must be positive; the signal's sign gives the side")
            side = Side.BUY if signal.strength > 0 else Side.SELL
            if signal.strength == 0:
                qty = Decimal(0)
        if qty == 0:
            return SignalCheck(True, signal.symbol, None, qty, qty, ("nothing to trade",), (), self.state)
        reduces = (side is Side.SELL and held > 0 and qty <= held) or (side is Side.BUY and held < 0 and qty <= -held)
        if self.state is RiskState.HALTED or (self.state is RiskState.REDUCING and not reduces):
            allowed_now = "only risk-reducing orders" if self.state is RiskState.REDUCING else "nothing"
            reason = f"risk state {self.state.value} ({self.state_reason}): {allowed_now} may trade"
            return SignalCheck(False, signal.symbol, side, qty, Decimal(0), (reason,), (), self.state)
        ctx = self._context(extra=signal.symbol)
        verdicts: list[RiskVerdict] = []
        reasons: list[str] = []
        approved = qty
        for check in self.checks:
            order = Order(
                client_order_id=f"signal:{signal.strategy_id}:{signal.symbol}:{ctx.timestamp}",
                symbol=signal.symbol,
                side=side,
                quantity=approved,
                strategy_id=signal.strategy_id,
                correlation_id=signal.correlation_id or "",
                created_at=signal.timestamp,
            )
            verdict = check.check([order], ctx)[0]
            verdicts.append(verdict)
            if verdict.decision is RiskDecision.REJECT:
                reasons.append(f"{verdict.check or check.name}: {verdict.reason}")
                return SignalCheck(
                    False, signal.symbol, side, qty, Decimal(0), tuple(reasons), tuple(verdicts), self.state
                )
            if verdict.decision is RiskDecision.RESIZE:
                approved = min(approved, verdict.approved_quantity or Decimal(0))
                reasons.append(f"{verdict.check or check.name}: {verdict.reason}")
                if approved <= 0:
                    return SignalCheck(
                        False, signal.symbol, side, qty, Decimal(0), tuple(reasons), tuple(verdicts), self.state
                    )
        return SignalCheck(True, signal.symbol, side, qty, approved, tuple(reasons), tuple(verdicts), self.state)

    # ------------------------------------------------------------------ internals
    def _context(self, extra: str | None = None) -> RiskContext:
        b = self._book
        symbols = tuple(dict.fromkeys([*b.positions, *b.prices, *([extra] if extra else [])]))
        if symbols != self._symbols:
            self._symbols = symbols
            self._history = None  # a new universe starts a new price history
        if self._history is None:
            self._history = History(self.history_rows, len(symbols))
        stamp = b.timestamp or self.clock.now()
        return RiskContext(
            timestamp=to_ns(stamp),
            symbols=symbols,
            prices=np.array([b.prices.get(s, np.nan) for s in symbols], dtype=np.float64),
            positions=np.array([float(b.positions.get(s, 0)) for s in symbols], dtype=np.float64),
            equity=b.equity,
            cash=b.cash,
            peak_equity=b.peak_equity,
            day_start_equity=b.day_start_equity,
            history=self._history,
            state=self.state,
            symbol_index={s: i for i, s in enumerate(symbols)},
        )

    def _push(self, ctx: RiskContext) -> None:
        assert self._history is not None
        p = ctx.prices
        if self._history.count and int(self._history.timestamps(1)[-1]) >= ctx.timestamp:
            return  # one row per distinct timestamp
        self._history.push(MarketSlice(ctx.timestamp, ctx.symbols, p, p, p, p, np.zeros_like(p)))
