"""The registered technical strategies."""

from __future__ import annotations

import numpy as np

from ai_trading_core.enums import Timeframe
from ai_trading_core.market import FloatArray

from .base import IndicatorValues, TechnicalStrategy
from .indicators import IndicatorCache, Indicators
from .params import BreakoutParams, MacdTrendParams, MeanReversionParams, MomentumParams, MtfTrendParams


def _no_shorts(target: FloatArray, long_only: bool) -> FloatArray:
    return np.where(target < 0, 0.0, target) if long_only else target


class Momentum(TechnicalStrategy):
    """Target = rate of change over ``lookback`` bars / ``full_scale``, clipped to [-1, 1]."""

    def __init__(self, strategy_id: str, params: MomentumParams, cache: IndicatorCache | None = None) -> None:
        super().__init__(strategy_id, warmup=params.lookback + 1, cache=cache)
        self.params = params

    def calculate_indicators(self, ta: Indicators) -> IndicatorValues:
        return {"roc": ta.roc(self.params.lookback)}

    def generate_signals(self, ind: IndicatorValues) -> FloatArray:
        ret = ind["roc"] / 100.0
        target = np.where(np.abs(ret) < self.params.threshold, 0.0, ret / self.params.full_scale)
        return _no_shorts(np.clip(target, -1.0, 1.0), self.params.long_only)


class MeanReversion(TechnicalStrategy):
    """Long below the lower Bollinger band with RSI oversold, short above the upper band with
    RSI overbought; flat when the close crosses the middle band; otherwise keep."""

    def __init__(
        self, strategy_id: str, params: MeanReversionParams, cache: IndicatorCache | None = None
    ) -> None:
        super().__init__(strategy_id, warmup=max(params.period, params.rsi_period + 1), cache=cache)
        self.params = params

    def calculate_indicators(self, ta: Indicators) -> IndicatorValues:
        p = self.params
        upper, middle, lower = ta.bbands(p.period, p.nbdev)
        _, prev_middle, _ = ta.bbands(p.period, p.nbdev, lag=1)
        return {
            "close": ta.price(),
            "prev_close": ta.price(lag=1),
            "upper": upper,
            "middle": middle,
            "lower": lower,
            "prev_middle": prev_middle,
            "rsi": ta.rsi(p.rsi_period),
        }

    def generate_signals(self, ind: IndicatorValues) -> FloatArray:
        p = self.params
        close, middle, rsi = ind["close"], ind["middle"], ind["rsi"]
        crossed = ((close >= middle) & (ind["prev_close"] < ind["prev_middle"])) | (
            (close <= middle) & (ind["prev_close"] > ind["prev_middle"])
        )
        long_entry = (close < ind["lower"]) & (rsi < p.oversold)
        short_entry = (close > ind["upper"]) & (rsi > p.overbought)
        target = np.where(crossed, 0.0, np.nan)
        target = np.where(long_entry, 1.0, target)
        target = np.where(short_entry, 0.0 if p.long_only else -1.0, target)
        return np.where(np.isfinite(middle) & np.isfinite(rsi), target, np.nan)


class MacdTrend(TechnicalStrategy):
    """+1 while the MACD histogram is positive, -1 (0 when long-only) while negative."""

    def __init__(
        self, strategy_id: str, params: MacdTrendParams, cache: IndicatorCache | None = None
    ) -> None:
        super().__init__(strategy_id, warmup=params.slow + params.signal - 1, cache=cache)
        self.params = params

    def calculate_indicators(self, ta: Indicators) -> IndicatorValues:
        _, _, hist = ta.macd(self.params.fast, self.params.slow, self.params.signal)
        return {"hist": hist}

    def generate_signals(self, ind: IndicatorValues) -> FloatArray:
        hist = ind["hist"]
        target = np.where(hist > 0, 1.0, np.where(hist < 0, -1.0, np.nan))
        return _no_shorts(target, self.params.long_only)


class Breakout(TechnicalStrategy):
    """Donchian breakout on the previous bars' channel (the current bar is excluded)."""

    def __init__(self, strategy_id: str, params: BreakoutParams, cache: IndicatorCache | None = None) -> None:
        super().__init__(strategy_id, warmup=max(params.period, params.exit_period) + 1, cache=cache)
        self.params = params

    def calculate_indicators(self, ta: Indicators) -> IndicatorValues:
        p = self.params
        return {
            "close": ta.price(),
            "upper": ta.highest(p.period, lag=1),
            "lower": ta.lowest(p.period, lag=1),
            "exit_lower": ta.lowest(p.exit_period, lag=1),
        }

    def generate_signals(self, ind: IndicatorValues) -> FloatArray:
        close = ind["close"]
        target = np.full(np.shape(close), np.nan)
        if self.params.long_only:
            target = np.where(close < ind["exit_lower"], 0.0, target)
        else:
            target = np.where(close < ind["lower"], -1.0, target)
        target = np.where(close > ind["upper"], 1.0, target)
        ready = np.isfinite(ind["upper"]) & np.isfinite(ind["exit_lower"])
        return np.where(ready, target, np.nan)


class MtfTrend(TechnicalStrategy):
    """Fast/slow EMA direction on the run's bars, kept only when it agrees with the higher
    timeframe's trend (last completed higher bar's close against its SMA); 0 otherwise."""

    def __init__(self, strategy_id: str, params: MtfTrendParams, cache: IndicatorCache | None = None) -> None:
        super().__init__(strategy_id, warmup=params.slow, cache=cache)
        self.params = params

    def prepare(self, symbols: tuple[str, ...], timeframe: Timeframe) -> None:
        super().prepare(symbols, timeframe)
        per_higher = max(self.params.trend_timeframe.seconds // timeframe.seconds, 1)
        self.warmup = max(self.params.slow, (self.params.trend_period + 1) * per_higher)

    def calculate_indicators(self, ta: Indicators) -> IndicatorValues:
        p = self.params
        trend = ta.higher(p.trend_timeframe)
        return {
            "fast": ta.ema(p.fast),
            "slow": ta.ema(p.slow),
            "trend_close": trend.price(),
            "trend_ma": trend.sma(p.trend_period),
        }

    def generate_signals(self, ind: IndicatorValues) -> FloatArray:
        direction = np.sign(ind["fast"] - ind["slow"])
        trend = np.sign(ind["trend_close"] - ind["trend_ma"])
        target = np.where(direction == trend, direction, 0.0)
        target = np.where(np.isfinite(direction) & np.isfinite(trend), target, np.nan)
        return _no_shorts(target, self.params.long_only)
