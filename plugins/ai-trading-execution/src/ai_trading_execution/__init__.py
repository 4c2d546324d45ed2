"""Execution algorithms for ai-trading: a broker (``algo``) that slices the engine's parent
orders into child orders (TWAP, VWAP, percent of volume, iceberg), routes them between venue
brokers by cost, availability and limits, and reports implementation shortfall, slippage and
shadow (paper) fills."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .algorithms import VolumeProfile, cumulative_schedule, slice_quantity
    from .broker import AlgoBroker
    from .params import AlgoBrokerParams, VenueParams
    from .routing import Venue, VenueRouter

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "VolumeProfile": ".algorithms",
        "cumulative_schedule": ".algorithms",
        "slice_quantity": ".algorithms",
        "AlgoBroker": ".broker",
        "AlgoBrokerParams": ".params",
        "VenueParams": ".params",
        "Venue": ".routing",
        "VenueRouter": ".routing",
    },
)

__all__ = [
    "AlgoBroker",
    "AlgoBrokerParams",
    "Venue",
    "VenueParams",
    "VenueRouter",
    "VolumeProfile",
    "cumulative_schedule",
    "slice_quantity",
]
