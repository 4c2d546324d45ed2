"""Simulated broker: fills orders against the bars of a backtest or a replayed feed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .broker import FillPriceError, SimulatedBroker, SimulatedBrokerParams, data_tick

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "FillPriceError": ".broker",
        "SimulatedBroker": ".broker",
        "SimulatedBrokerParams": ".broker",
        "data_tick": ".broker",
    },
)

__all__ = ["FillPriceError", "SimulatedBroker", "SimulatedBrokerParams", "data_tick"]
