from __future__ import annotations

from ai_trading_core import hookimpl
from ai_trading_core.errors import ConfigError
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ai_trading_core.registry import BrokerRegistry, BuildContext

    from .broker import AlgoBroker
    from .params import AlgoBrokerParams


def _build(params: AlgoBrokerParams, ctx: BuildContext) -> AlgoBroker:
    from .broker import AlgoBroker  # built on use: loading the plugin stays cheap
    from .routing import Venue

    if ctx.build is None:
        raise ConfigError("broker 'algo' needs a build context that can build its venue brokers")
    venues = [
        Venue(v, ctx.build("broker", v.broker, v.params, f"{ctx.component_id}.{v.name}"))
        for v in params.venues
    ]
    shadow = (
        ctx.build("broker", "sim", params.shadow_params, f"{ctx.component_id}.shadow")
        if params.shadow
        else None
    )
    return AlgoBroker(params, venues, shadow)


@hookimpl
def ai_trading_register_brokers(registry: BrokerRegistry) -> None:
    registry.register(
        "algo",
        _build,
        params="ai_trading_execution.params:AlgoBrokerParams",
        description="execution algorithms (twap, vwap, pov, iceberg, direct) over routed venue brokers",
    )
