"""Prometheus metrics for ai-trading runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .exporter import PrometheusExporter
    from .params import PrometheusParams
    from .series import TradingSeries

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "PrometheusExporter": ".exporter",
        "PrometheusParams": ".params",
        "TradingSeries": ".series",
    },
)

__all__ = ["PrometheusExporter", "PrometheusParams", "TradingSeries"]
