"""Golden cross with an RSI guard: long while SMA(fast) > SMA(slow), but no new long while
RSI says overbought; flat below."""

from __future__ import annotations

import numpy as np
from ai_trading_technical import Indicators, IndicatorValues, TechnicalStrategy
from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core.market import FloatArray


class GoldenCrossParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fast: int = Field(50, ge=2, description="fast simple moving average, bars")
    slow: int = Field(200, ge=3, description="slow simple moving average, bars")
    rsi_period: int = Field(14, ge=2, description="RSI window, bars")
    overbought: float = Field(80.0, gt=0, le=100, description="RSI (0-100) above which no new long is opened")


class GoldenCross(TechnicalStrategy):
    def __init__(self, strategy_id: str, params: GoldenCrossParams) -> None:
        super().__init__(strategy_id, warmup=params.slow)
        self.params = params

    def calculate_indicators(self, ta: Indicators) -> IndicatorValues:
        p = self.params
        return {"fast": ta.sma(p.fast), "slow": ta.sma(p.slow), "rsi": ta.rsi(p.rsi_period)}

    def generate_signals(self, ind: IndicatorValues) -> FloatArray:
        up = ind["fast"] > ind["slow"]
        target = np.where(up, np.where(ind["rsi"] > self.params.overbought, np.nan, 1.0), 0.0)
        return np.where(np.isfinite(ind["slow"]) & np.isfinite(ind["rsi"]), target, np.nan)
