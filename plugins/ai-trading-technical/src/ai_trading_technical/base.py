"""``TechnicalStrategy``: the base for indicator-driven strategies.

A subclass writes two hooks:

* ``calculate_indicators(ta)`` asks ``ta`` (an :class:`~ai_trading_technical.indicators.Indicators`)
  for the indicators it needs and returns them by name. It must ask for the same indicators
  on every call.
* ``generate_signals(ind)`` turns them into targets in [-1, 1] (NaN = keep the previous
  target). It must work **element by element**: the same code runs on (T, N) arrays in a
  backtest and on (N,) arrays bar by bar, so it may combine the arrays it is given but must
  not look along the time axis (ask ``ta`` for ``lag=1`` values instead).

The two paths:

* ``signal_block(panel)`` (backtest): TA-Lib over whole columns, cached per symbol and
  timeframe in the strategy's :class:`~ai_trading_technical.indicators.IndicatorCache`.
* ``on_slice(market, history)`` (per bar, live): incremental indicator states updated with
  the newest bar only. If the engine hands over a history that already holds earlier bars
  on the first call, those are replayed into the states first.

Row t of ``signal_block`` equals ``on_slice`` at t up to floating-point rounding (the
windowed indicators sum in a different order); ``ai_trading_core.testing.lookahead`` checks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ai_trading_core.enums import StrategyType, Timeframe
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import FIELDS, BarPanel, FloatArray, History, MarketSlice

from .indicators import BlockIndicators, IncrementalIndicators, IndicatorCache, Indicators

IndicatorValues = Mapping[str, Any]


class TechnicalStrategy:
    """Base class; subclasses implement :meth:`calculate_indicators` and
    :meth:`generate_signals` and set :attr:`warmup` (bars before the first signal)."""

    strategy_type: StrategyType = StrategyType.TECHNICAL

    def __init__(self, strategy_id: str, *, warmup: int = 1, cache: IndicatorCache | None = None) -> None:
        self.strategy_id = strategy_id
        self.warmup = warmup
        self.cache = cache if cache is not None else IndicatorCache()
        self.symbols: tuple[str, ...] = ()
        self.timeframe = Timeframe.D1
        self._live: IncrementalIndicators | None = None

    # -------------------------------------------------------------- hooks for subclasses
    def calculate_indicators(self, ta: Indicators) -> IndicatorValues:
        raise NotImplementedError(f"{type(self).__name__} must implement calculate_indicators")

    def generate_signals(self, ind: IndicatorValues) -> FloatArray:
        raise NotImplementedError(f"{type(self).__name__} must implement generate_signals")

    # -------------------------------------------------------------- Strategy protocol
    def prepare(self, symbols: tuple[str, ...], timeframe: Timeframe) -> None:
        self.symbols = tuple(symbols)
        self.timeframe = timeframe
        self._live = None

    def on_slice(self, market: MarketSlice, history: History) -> FloatArray:
        live = self._live
        if live is None or live.n_symbols != len(market.symbols):
            if not self.symbols:
                self.symbols = market.symbols
            live = self._live = IncrementalIndicators(len(market.symbols), self.timeframe)
            for older in _older_rows(history, market):
                live.advance(older)
                self.calculate_indicators(live)
        live.advance(market)
        signals = np.asarray(self.generate_signals(self.calculate_indicators(live)), dtype=np.float64)
        return _clip(signals, (len(market.symbols),), self.strategy_id)

    def signal_block(self, panel: BarPanel) -> FloatArray:
        """Targets (T, N) for a whole panel, indicators computed by TA-Lib."""
        if panel.timeframe is not self.timeframe and self.symbols:
            raise ConfigError(
                f"{self.strategy_id}: prepared for {self.timeframe.value} bars, "
                f"given a {panel.timeframe.value} panel"
            )
        self.timeframe = panel.timeframe
        ta = BlockIndicators(panel, self.cache)
        signals = np.asarray(self.generate_signals(self.calculate_indicators(ta)), dtype=np.float64)
        return _clip(signals, panel.shape, self.strategy_id)


def _older_rows(history: History, market: MarketSlice) -> list[MarketSlice]:
    """The rows of ``history`` before ``market`` (which is its newest row), oldest first."""
    n = min(history.count, history.capacity) - 1
    if n <= 0:
        return []
    stamps = history.timestamps(n + 1)[:-1]
    wins = [history.window(f, n + 1)[:-1] for f in FIELDS]
    return [MarketSlice(int(stamps[i]), market.symbols, *(w[i] for w in wins)) for i in range(n)]


def _clip(signals: FloatArray, shape: tuple[int, ...], sid: str) -> FloatArray:
    if signals.shape != shape:
        raise ConfigError(f"{sid}: generate_signals returned shape {signals.shape}, expected {shape}")
    return np.clip(signals, -1.0, 1.0)
