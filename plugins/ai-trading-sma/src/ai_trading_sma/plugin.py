from __future__ import annotations

from ai_trading_core import hookimpl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ai_trading_core.registry import BuildContext, StrategyRegistry

    from .strategy import SmaCrossover, SmaCrossoverParams


def _build(params: SmaCrossoverParams, ctx: BuildContext) -> SmaCrossover:
    from .strategy import SmaCrossover  # built on use: loading the plugin stays cheap

    return SmaCrossover(params, strategy_id=ctx.component_id)


@hookimpl
def ai_trading_register_strategies(registry: StrategyRegistry) -> None:
    registry.register(
        "sma_crossover", _build, params="ai_trading_sma.strategy:SmaCrossoverParams",
        description="long (or short) while the fast simple moving average of closes is above (below) the slow one",
    )
