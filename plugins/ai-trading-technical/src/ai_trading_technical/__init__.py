"""Technical strategies on TA-Lib indicators, and the :class:`TechnicalStrategy` base for
writing your own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .base import IndicatorValues, TechnicalStrategy
    from .indicators import BlockIndicators, IncrementalIndicators, IndicatorCache, Indicators
    from .strategies import Breakout, MacdTrend, MeanReversion, Momentum, MtfTrend

# Imported on first use: loading the plugin must not pull in its heavy dependencies.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "IndicatorValues": ".base",
        "TechnicalStrategy": ".base",
        "BlockIndicators": ".indicators",
        "IncrementalIndicators": ".indicators",
        "IndicatorCache": ".indicators",
        "Indicators": ".indicators",
        "Breakout": ".strategies",
        "MacdTrend": ".strategies",
        "MeanReversion": ".strategies",
        "Momentum": ".strategies",
        "MtfTrend": ".strategies",
    },
)

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
