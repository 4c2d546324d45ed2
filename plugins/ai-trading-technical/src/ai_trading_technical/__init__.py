"""Technical strategies on TA-Lib indicators, and the :class:`TechnicalStrategy` base for
writing your own."""

from __future__ import annotations

from .base import IndicatorValues, TechnicalStrategy
from .indicators import BlockIndicators, IncrementalIndicators, IndicatorCache, Indicators
from .strategies import Breakout, MacdTrend, MeanReversion, Momentum, MtfTrend

__all__ = [
    "BlockIndicators",
    "Breakout",
    "IncrementalIndicators",
    "IndicatorCache",
    "IndicatorValues",
    "Indicators",
    "MacdTrend",
    "MeanReversion",
    "Momentum",
    "MtfTrend",
    "TechnicalStrategy",
]
