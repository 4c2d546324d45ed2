"""Simple-moving-average crossover on closes.

At each bar's close: target 1 while SMA(fast) > SMA(slow), else 0 (long-only) or -1
(``long_only = false``). NaN until ``slow`` closes exist, or when a window contains a
missing bar (the previous target is kept).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ai_trading_core.enums import StrategyType, Timeframe
from ai_trading_core.market import BarPanel, FloatArray, History, MarketSlice


class SmaCrossoverParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fast: int = Field(default=10, ge=1, description="fast window, bars")
    slow: int = Field(default=30, ge=2, description="slow window, bars")
    long_only: bool = True

    @model_validator(mode="after")
    def _order(self) -> SmaCrossoverParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


class SmaCrossover:
    strategy_type = StrategyType.TECHNICAL

    __slots__ = ("strategy_id", "fast", "slow", "low", "warmup")

    def __init__(self, params: SmaCrossoverParams | None = None, strategy_id: str = "sma_crossover") -> None:
        p = params or SmaCrossoverParams()
        self.strategy_id = strategy_id
        self.fast, self.slow = p.fast, p.slow
        self.low = 0.0 if p.long_only else -1.0
        self.warmup = p.slow

    def prepare(self, symbols: tuple[str, ...], timeframe: Timeframe) -> None:
        return None

    def on_slice(self, market: MarketSlice, history: History) -> FloatArray:
        if history.count < self.slow:
            return np.full(len(market.close), np.nan)
        window = history.close(self.slow)
        # np.add.reduce is what ndarray.sum calls (same result, without its Python wrapper)
        slow = np.add.reduce(window, axis=0) / self.slow
        fast = np.add.reduce(window[self.slow - self.fast:], axis=0) / self.fast
        return self._signal(fast, slow)

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
        return out

    def _signal(self, fast: FloatArray, slow: FloatArray) -> FloatArray:
        sig = np.where(fast > slow, 1.0, self.low)
        sig[~(np.isfinite(fast) & np.isfinite(slow))] = np.nan
        return sig

