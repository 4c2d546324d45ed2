"""Performance analytics for ai-trading runs: :class:`PerformanceCalculator` (vectorised
metrics), trade statistics, attribution and the ``analytics`` reporter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .attribution import attribute, split_strategy_id
    from .params import AnalyticsParams
    from .performance import BENCHMARK_METRICS, RETURN_METRICS, PerformanceCalculator
    from .reporter import AnalyticsReporter
    from .trades import TradeStatistics, trade_statistics

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "attribute": ".attribution",
        "split_strategy_id": ".attribution",
        "AnalyticsParams": ".params",
        "BENCHMARK_METRICS": ".performance",
        "RETURN_METRICS": ".performance",
        "PerformanceCalculator": ".performance",
        "AnalyticsReporter": ".reporter",
        "TradeStatistics": ".trades",
        "trade_statistics": ".trades",
    },
)

__all__ = [
    "BENCHMARK_METRICS",
    "RETURN_METRICS",
    "AnalyticsParams",
    "AnalyticsReporter",
    "PerformanceCalculator",
    "TradeStatistics",
    "attribute",
    "split_strategy_id",
    "trade_statistics",
]
