"""Simulated broker: fills orders against the bars of a backtest or a replayed feed."""

from .broker import SimulatedBroker, SimulatedBrokerParams

__all__ = ["SimulatedBroker", "SimulatedBrokerParams"]
