"""Parameter models of the registered technical strategies (validated from the config)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ai_trading_core.enums import Timeframe


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    long_only: bool = False


class MomentumParams(_Params):
    """Time-series momentum on the rate of change."""

    lookback: int = Field(20, ge=1, description="bars over which the rate of change is measured")
    full_scale: float = Field(0.10, gt=0, description="return (fraction) at which the target reaches ±1")
    threshold: float = Field(0.0, ge=0, description="returns (fraction) smaller than this give target 0")


class MeanReversionParams(_Params):
    """Bollinger band touches confirmed by RSI; exit when the close crosses the middle band."""

    period: int = Field(20, ge=2, description="Bollinger moving-average window, bars")
    nbdev: float = Field(2.0, gt=0, description="band width in standard deviations")
    rsi_period: int = Field(14, ge=2, description="RSI window, bars")
    oversold: float = Field(30.0, ge=0, le=100, description="RSI (0-100) below which a long is allowed")
    overbought: float = Field(70.0, ge=0, le=100, description="RSI (0-100) above which a short is allowed")

    @model_validator(mode="after")
    def _ordered(self) -> MeanReversionParams:
        if self.oversold >= self.overbought:
            raise ValueError("oversold must be below overbought")
        return self


class MacdTrendParams(_Params):
    """Long while the MACD histogram is positive, short (or flat) while negative."""

    fast: int = Field(12, ge=2, description="fast EMA, bars")
    slow: int = Field(26, ge=3, description="slow EMA, bars")
    signal: int = Field(9, ge=1, description="signal-line EMA, bars")

    @model_validator(mode="after")
    def _ordered(self) -> MacdTrendParams:
        if self.fast >= self.slow:
            raise ValueError("fast must be shorter than slow")
        return self


class BreakoutParams(_Params):
    """Donchian channel breakout: long above the previous ``period`` bars' high, short (or
    flat when long-only) below their low; long-only exits below the ``exit_period`` low."""

    period: int = Field(20, ge=2, description="entry channel, bars")
    exit_period: int = Field(10, ge=2, description="exit channel for long-only mode, bars")


class MtfTrendParams(_Params):
    """A fast/slow EMA signal on the run's bars, taken only in the direction of the higher
    timeframe's trend (close of the last completed higher bar against its moving average)."""

    fast: int = Field(12, ge=2, description="fast EMA on base bars")
    slow: int = Field(48, ge=3, description="slow EMA on base bars")
    trend_timeframe: Timeframe = Field(Timeframe.D1, description="timeframe of the trend filter")
    trend_period: int = Field(20, ge=2, description="moving average of the trend filter, higher bars")

    @model_validator(mode="after")
    def _ordered(self) -> MtfTrendParams:
        if self.fast >= self.slow:
            raise ValueError("fast must be shorter than slow")
        return self
