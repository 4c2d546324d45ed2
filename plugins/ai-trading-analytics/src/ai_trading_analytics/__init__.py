"""Performance analytics for ai-trading runs: :class:`PerformanceCalculator` (vectorised
metrics), trade statistics, attribution and the ``analytics`` reporter."""

from .attribution import attribute, split_strategy_id
from .params import AnalyticsParams
from .performance import BENCHMARK_METRICS, RETURN_METRICS, PerformanceCalculator
from .reporter import AnalyticsReporter
from .trades import TradeStatistics, trade_statistics

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
