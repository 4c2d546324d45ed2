"""Simple-moving-average crossover on closes.

``trigger = "state"`` (the default): at each bar's close, target 1 while SMA(fast) >
SMA(slow), else 0 (long-only) or -1 (``long_only = false``). NaN until ``slow`` closes exist,
or when a window contains a missing bar (the previous target is kept).

``trigger = "cross"``: trade crossover events only. Target 1 on the bar where SMA(fast)
moves above SMA(slow) (it was at or below it on the previous bar), 0 or -1 on the bar where
it moves back to or below; NaN (keep the previous target) on every other bar. Both averages
must exist on the bar and on the one before it, so the first possible event is the bar after
the first bar where both exist (row ``slow``, 0-based): a run does not enter a position that
an earlier crossing would have opened, and a gap in the data interrupts the comparison.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ai_trading_core.enums import StrategyType, Timeframe
from ai_trading_core.market import BarPanel, FloatArray, History, MarketSlice


class SmaCrossoverParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fast: int = Field(default=10, ge=1, description="fast window, bars")
    slow: int = Field(default=30, ge=2, description="slow window, bars")
    long_only: bool = True
    trigger: Literal["state", "cross"] = Field(
        default="state",
        description=(
            "state: hold the side of the averages' order every bar; cross: trade only on the bars where they cross"
        ),
    )

    @model_validator(mode="after")
    def _order(self) -> SmaCrossoverParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


class SmaCrossover:
    strategy_type = StrategyType.TECHNICAL

    __slots__ = ("strategy_id", "fast", "slow", "low", "warmup", "cross")

    def __init__(self, params: SmaCrossoverParams | None = None, strategy_id: str = "sma_crossover") -> None:
        p = params or SmaCrossoverParams()
        self.strategy_id = strategy_id
        self.fast, self.slow = p.fast, p.slow
        self.low = 0.0 if p.long_only else -1.0
        self.cross = p.trigger == "cross"
        self.warmup = p.slow + 1 if self.cross else p.slow  # cross: the previous bar's averages too

    def prepare(self, symbols: tuple[str, ...], timeframe: Timeframe) -> None:
        return None

    def on_slice(self, market: MarketSlice, history: History) -> FloatArray:
        if history.count < self.warmup:
            return np.full(len(market.close), np.nan)
        window = history.close(self.slow)
        # np.add.reduce is what ndarray.sum calls (same result, without its Python wrapper)
        slow = np.add.reduce(window, axis=0) / self.slow
        fast = np.add.reduce(window[self.slow - self.fast:], axis=0) / self.fast
        state = self._signal(fast, slow)
        if not self.cross:
            return state
        before = history.close(self.slow + 1)[:-1]
        prev = self._signal(
            np.add.reduce(before[self.slow - self.fast:], axis=0) / self.fast,
            np.add.reduce(before, axis=0) / self.slow,
        )
        return self._events(state, prev)

    def signal_block(self, panel: BarPanel) -> FloatArray:
        """All targets at once; row t equals :meth:`on_slice` at t (same summation order)."""
        close = panel.close
        t, n = close.shape
        out = np.full((t, n), np.nan)
        if t < self.slow:
            return out
        windows = np.lib.stride_tricks.sliding_window_view(close, self.slow, axis=0)  # (t-slow+1, n, slow)
        w = np.moveaxis(windows, 2, 1)  # (rows, slow, n): the layout of on_slice's window
        # Summing axis 1 of this view reduces each window exactly as on_slice's
        # window.sum(axis=0) does (same order, same rounding): the results are bit-identical.
        slow = w.sum(axis=1) / self.slow
        fast = w[:, self.slow - self.fast:].sum(axis=1) / self.fast
        out[self.slow - 1:] = self._signal(fast, slow)
        if self.cross:
            events = np.full((t, n), np.nan)
            events[1:] = self._events(out[1:], out[:-1])
            return events
        return out

    @staticmethod
    def _events(state: FloatArray, prev: FloatArray) -> FloatArray:
        """The state where it changed from a known previous state; NaN elsewhere."""
        with np.errstate(invalid="ignore"):
            changed = np.isfinite(state) & np.isfinite(prev) & (state != prev)
        return np.where(changed, state, np.nan)

    def _signal(self, fast: FloatArray, slow: FloatArray) -> FloatArray:
        sig = np.where(fast > slow, 1.0, self.low)
        sig[~(np.isfinite(fast) & np.isfinite(slow))] = np.nan
        return sig

