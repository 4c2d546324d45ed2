"""Simulated broker: fills orders against the bars of a backtest or a replayed feed."""

from .broker import FillPriceError, SimulatedBroker, SimulatedBrokerParams, data_tick

__all__ = ["FillPriceError", "SimulatedBroker", "SimulatedBrokerParams", "data_tick"]
