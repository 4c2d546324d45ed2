"""Registers the ``analytics`` reporter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

if TYPE_CHECKING:
    from .params import AnalyticsParams
    from .reporter import AnalyticsReporter
    from ai_trading_core.registry import BuildContext, ReporterRegistry


def _analytics(params: AnalyticsParams, ctx: BuildContext) -> AnalyticsReporter:
    from .reporter import AnalyticsReporter  # plotly and the metrics: imported when a run builds it

    return AnalyticsReporter(params)


@hookimpl
def ai_trading_register_reporters(registry: ReporterRegistry) -> None:
    registry.register(
        "analytics",
        _analytics,
        params="ai_trading_analytics.params:AnalyticsParams",
        description="performance metrics, strategy/symbol attribution and an offline HTML tearsheet",
    )
