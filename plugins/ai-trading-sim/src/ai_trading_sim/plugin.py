from __future__ import annotations

from ai_trading_core import hookimpl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ai_trading_core.registry import BrokerRegistry, BuildContext

    from .broker import SimulatedBroker, SimulatedBrokerParams


def _build(params: SimulatedBrokerParams, ctx: BuildContext) -> SimulatedBroker:
    from .broker import SimulatedBroker  # built on use: loading the plugin stays cheap

    return SimulatedBroker(params)


@hookimpl
def ai_trading_register_brokers(registry: BrokerRegistry) -> None:
    registry.register(
        "sim", _build, params="ai_trading_sim.broker:SimulatedBrokerParams",
        description="simulated fills: market at next bar's open, limit/stop against the bar's range",
    )
