"""Features from indicators and lagged returns, one row per symbol per bar.

Every feature at bar t uses bars up to t only. The builder reads an
:class:`~ai_trading_technical.indicators.Indicators` source, so the same definitions run on the
incremental source bar by bar.
"""

from __future__ import annotations

import numpy as np
from ai_trading_technical.indicators import Indicators
from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core.market import FloatArray


class FeatureParams(BaseModel):
    """Which features to build (all dimensionless)."""

    model_config = ConfigDict(extra="forbid")

    return_lags: list[int] = Field(
        default_factory=lambda: [1, 2, 5, 10, 20],
        description="log returns over these numbers of bars",
    )
    rsi_period: int = Field(14, ge=2, description="RSI window, bars (feature: RSI/100 - 0.5)")
    bb_period: int = Field(20, ge=2, description="Bollinger window, bars (feature: %B - 0.5)")
    sma_period: int = Field(50, ge=2, description="moving average, bars (feature: close/SMA - 1)")
    macd: tuple[int, int, int] = Field(
        (12, 26, 9), description="MACD fast, slow, signal (feature: hist/close)"
    )
    volatility_period: int = Field(
        20, ge=2, description="price standard deviation window (feature: std/close)"
    )


class FeatureBuilder:
    """Builds the feature matrix (N, F) at each bar."""

    def __init__(self, params: FeatureParams) -> None:
        if not params.return_lags or min(params.return_lags) < 1:
            raise ValueError("return_lags must be a non-empty list of positive bar counts")
        self.params = params
        self.names: list[str] = [f"ret_{k}" for k in params.return_lags] + [
            "rsi",
            "bb_pct_b",
            "sma_gap",
            "macd_hist",
            "volatility",
        ]

    @property
    def lookback(self) -> int:
        """Bars before every feature has a value."""
        p = self.params
        fast, slow, signal = p.macd
        return max(
            max(p.return_lags) + 1,
            p.rsi_period + 1,
            p.bb_period,
            p.sma_period,
            slow + signal - 1,
            p.volatility_period,
        )

    def build(self, ta: Indicators) -> FloatArray:
        p = self.params
        close = ta.price()
        cols: list[FloatArray] = [np.log1p(ta.roc(k) / 100.0) for k in p.return_lags]
        upper, _, lower = ta.bbands(p.bb_period, 2.0)
        width = upper - lower
        with np.errstate(divide="ignore", invalid="ignore"):
            cols.append(ta.rsi(p.rsi_period) / 100.0 - 0.5)
            cols.append(np.where(width > 0, (close - lower) / width, 0.5) - 0.5)
            cols.append(close / ta.sma(p.sma_period) - 1.0)
            cols.append(ta.macd(*p.macd)[2] / close)
            cols.append(ta.stddev(p.volatility_period) / close)
        return np.stack(cols, axis=-1)
