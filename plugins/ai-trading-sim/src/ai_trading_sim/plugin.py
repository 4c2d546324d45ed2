from __future__ import annotations

from ai_trading_core import hookimpl
from ai_trading_core.registry import BrokerRegistry, BuildContext

from .broker import SimulatedBroker, SimulatedBrokerParams


def _build(params: SimulatedBrokerParams, ctx: BuildContext) -> SimulatedBroker:
    return SimulatedBroker(params)


@hookimpl
def ai_trading_register_brokers(registry: BrokerRegistry) -> None:
    registry.register(
        "sim", _build, params=SimulatedBrokerParams,
        description="simulated fills: market at next bar's open, limit/stop against the bar's range",
    )
