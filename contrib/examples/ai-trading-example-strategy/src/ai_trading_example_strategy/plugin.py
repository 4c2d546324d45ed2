"""Registers ``golden_cross`` with the ai-trading strategy registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

from .golden_cross import GoldenCross, GoldenCrossParams

if TYPE_CHECKING:
    from ai_trading_core.registry import BuildContext, StrategyRegistry


def _golden_cross(params: GoldenCrossParams, ctx: BuildContext) -> GoldenCross:
    return GoldenCross(ctx.component_id, params)


@hookimpl
def ai_trading_register_strategies(registry: StrategyRegistry) -> None:
    registry.register(
        "golden_cross",
        _golden_cross,
        params=GoldenCrossParams,
        description="SMA(fast) above SMA(slow) → long, unless RSI is overbought; below → flat",
    )
