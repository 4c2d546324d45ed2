"""Execution algorithms for ai-trading: a broker (``algo``) that slices the engine's parent
orders into child orders (TWAP, VWAP, percent of volume, iceberg), routes them between venue
brokers by cost, availability and limits, and reports implementation shortfall, slippage and
shadow (paper) fills."""

from .algorithms import VolumeProfile, cumulative_schedule, slice_quantity
from .broker import AlgoBroker
from .params import AlgoBrokerParams, VenueParams
from .routing import Venue, VenueRouter

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
