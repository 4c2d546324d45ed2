"""Strategies written in the original design's style, run by the engine unchanged::

    class Momentum(TechnicalStrategy):
        def __init__(self) -> None:
            super().__init__("momentum_5m", strategy_type=StrategyType.MOMENTUM,
                             timeframe=TimeFrame.MINUTE_5, allocation=Decimal("0.30"),
                             risk_level=RiskLevel.MEDIUM)

        def calculate_indicators(self, data):            # one symbol's bars, a DataFrame
            return {"sma_fast": data.close.tail(10).mean(), "sma_slow": data.close.tail(30).mean()}

        def generate_signals(self, market_data, portfolio_metrics, positions):
            return [self.signal(symbol, 1.0 if ind["sma_fast"] > ind["sma_slow"] else -1.0)
                    for symbol, data in market_data.items()
                    if (ind := self.calculate_indicators(data))]

Either hook may be ``async def`` (awaiting nothing that suspends). This is the bar-by-bar,
pandas-per-symbol path: convenient, not fast. For speed write the array style of
:class:`ai_trading_technical.TechnicalStrategy` (TA-Lib over whole columns, block mode).

In the engine a strategy does not see the account (sizers and risk checks do), so
``portfolio_metrics`` is this strategy's own view (:class:`StrategyView`) and ``positions`` its
current targets per symbol (strength in [-1, 1]). Targets are the signals' strengths times
``allocation``; a symbol without a signal keeps its target.

Run it through a plugin object: ``create_plugin_host(extra_plugins={"mine":
strategy_plugin("momentum_5m", Momentum)})`` and ``[[strategies]] name = "momentum_5m"``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from ai_trading_core import hookimpl
from ai_trading_core.enums import RiskLevel, StrategyType, Timeframe
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import FloatArray, History, MarketSlice, to_datetime
from ai_trading_core.models import Signal
from ai_trading_core.registry import BuildContext, StrategyRegistry

_FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class StrategyView:
    """What a seed-style strategy knows of its portfolio inside the engine."""

    timestamp: datetime
    allocation: Decimal  # fraction of equity this strategy's targets are scaled to
    bars: int  # bars seen so far


def _resolve(value: Any, where: str) -> Any:
    """The result of a hook that may be ``async def``: a coroutine is driven to its end here,
    synchronously (the engine's step is synchronous); one that really suspends is an error."""
    if not inspect.iscoroutine(value):
        return value
    try:
        value.send(None)
    except StopIteration as done:
        return done.value
    except RuntimeError as exc:
        if "event loop" not in str(exc):
            raise
        raise ConfigError(f"{where} awaited something that suspends; strategy hooks must compute, not wait") from exc
    value.close()
    raise ConfigError(f"{where} awaited something that suspends; strategy hooks must compute, not wait")


class TechnicalStrategy:
    """Base of seed-style strategies (see the module docstring).

    :param strategy_id: the id (a run replaces it by the config's ``id``).
    :param strategy_type: e.g. ``StrategyType.MOMENTUM``.
    :param timeframe: the bars it is written for (informational; the run's data decides).
    :param allocation: fraction of equity its targets are scaled to (``Decimal("0.30")``).
    :param risk_level: informational, recorded with the strategy.
    :param lookback: bars of history handed to ``calculate_indicators`` per symbol.
    """

    def __init__(
        self,
        strategy_id: str,
        *,
        strategy_type: StrategyType = StrategyType.TECHNICAL,
        timeframe: Timeframe = Timeframe.D1,
        allocation: Decimal | str | float = Decimal("1"),
        risk_level: RiskLevel = RiskLevel.MEDIUM,
        lookback: int = 100,
    ) -> None:
        self.strategy_id = strategy_id
        self.strategy_type = strategy_type
        self.timeframe = timeframe
        self.allocation = Decimal(str(allocation))
        if not Decimal(0) < self.allocation <= Decimal(1):
            raise ConfigError(f"{strategy_id}: allocation must be a fraction in (0, 1], got {allocation}")
        self.risk_level = risk_level
        if lookback < 1:
            raise ConfigError(f"{strategy_id}: lookback must be at least 1 bar, got {lookback}")
        self.lookback = lookback
        self.warmup = lookback  # the engine keeps this much history
        self.symbols: tuple[str, ...] = ()
        self._targets: FloatArray = np.zeros(0)
        self._bars = 0
        self._now: datetime | None = None

    # -------------------------------------------------------------- hooks for subclasses
    def calculate_indicators(self, data: Any) -> Mapping[str, Any]:
        """Indicators of one symbol from ``data``, a pandas DataFrame of its last ``lookback``
        bars (columns open, high, low, close, volume; UTC index of bar open times)."""
        raise NotImplementedError(f"{type(self).__name__} must implement calculate_indicators")

    def generate_signals(
        self, market_data: Mapping[str, Any], portfolio_metrics: StrategyView, positions: Mapping[str, float]
    ) -> Sequence[Signal]:
        """Signals for this bar: ``market_data`` maps each symbol with a bar to its DataFrame."""
        raise NotImplementedError(f"{type(self).__name__} must implement generate_signals")

    def signal(self, symbol: str, strength: float, *, confidence: float = 1.0, **metadata: Any) -> Signal:
        """A :class:`~ai_trading_core.models.Signal` of this strategy at the current bar."""
        if self._now is None:
            raise ConfigError(f"{self.strategy_id}: signal() is only available while generating signals")
        return Signal(
            strategy_id=self.strategy_id,
            symbol=symbol,
            timestamp=self._now,
            strength=strength,
            confidence=confidence,
            metadata=metadata,
        )

    # -------------------------------------------------------------- Strategy protocol
    def prepare(self, symbols: tuple[str, ...], timeframe: Timeframe) -> None:
        self.symbols = tuple(symbols)
        self.timeframe = timeframe
        self._targets = np.full(len(symbols), np.nan)
        self._bars = 0

    def on_slice(self, market: MarketSlice, history: History) -> FloatArray:
        import pandas as pd  # type: ignore[import-untyped]  # no stubs in the environment

        if len(self._targets) != len(market.symbols):
            self.prepare(market.symbols, self.timeframe)
        self._bars += 1
        self._now = to_datetime(market.timestamp)
        n = min(history.count, history.capacity, self.lookback)
        index = pd.to_datetime(history.timestamps(n), utc=True)
        block = np.stack([history.window(f, n) for f in _FIELDS], axis=-1)  # (n, N, 5)
        frames = {}
        for j, symbol in enumerate(market.symbols):
            if not np.isfinite(market.close[j]):
                continue  # no bar for this symbol now
            rows = np.isfinite(block[:, j, 3])  # bars this symbol had
            frames[symbol] = pd.DataFrame(block[rows, j, :], index=index[rows], columns=list(_FIELDS))
        view = StrategyView(self._now, self.allocation, self._bars)
        held = {s: float(t) for s, t in zip(market.symbols, self._targets, strict=True) if np.isfinite(t)}
        try:
            signals = _resolve(self.generate_signals(frames, view, held), f"{self.strategy_id}.generate_signals")
        finally:
            self._now = None
        out = np.full(len(market.symbols), np.nan)
        index_of = {s: j for j, s in enumerate(market.symbols)}
        for sig in signals or ():
            at = index_of.get(sig.symbol)
            if at is None:
                raise ConfigError(f"{self.strategy_id}: signal for {sig.symbol!r}, not in the run's symbols")
            out[at] = sig.strength * float(self.allocation)
        self._targets = np.where(np.isfinite(out), out, self._targets)
        return out


def strategy_plugin(name: str, factory: Callable[[], TechnicalStrategy], description: str = "") -> object:
    """A plugin object registering ``factory()`` as strategy ``name``; pass it to
    ``create_plugin_host(extra_plugins={...})`` to run it with ``run_config``."""

    class _SeedStrategies:
        @hookimpl
        def ai_trading_register_strategies(self, registry: StrategyRegistry) -> None:
            def build(params: Any, ctx: BuildContext) -> TechnicalStrategy:
                strategy = factory()
                strategy.strategy_id = ctx.component_id
                return strategy

            registry.register(name, build, description=description or f"seed-style strategy {name}")

    return _SeedStrategies()
