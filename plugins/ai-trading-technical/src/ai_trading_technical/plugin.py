"""Registers the technical strategies: ``momentum``, ``mean_reversion``, ``macd_trend``,
``breakout`` and ``mtf_trend``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

from .params import BreakoutParams, MacdTrendParams, MeanReversionParams, MomentumParams, MtfTrendParams

if TYPE_CHECKING:
    from .strategies import Breakout, MacdTrend, MeanReversion, Momentum, MtfTrend
    from ai_trading_core.registry import BuildContext, StrategyRegistry


# TA-Lib and pandas (the strategies module) are imported when a strategy is built.
def _momentum(params: MomentumParams, ctx: BuildContext) -> Momentum:
    from .strategies import Momentum

    return Momentum(ctx.component_id, params)


def _mean_reversion(params: MeanReversionParams, ctx: BuildContext) -> MeanReversion:
    from .strategies import MeanReversion

    return MeanReversion(ctx.component_id, params)


def _macd_trend(params: MacdTrendParams, ctx: BuildContext) -> MacdTrend:
    from .strategies import MacdTrend

    return MacdTrend(ctx.component_id, params)


def _breakout(params: BreakoutParams, ctx: BuildContext) -> Breakout:
    from .strategies import Breakout

    return Breakout(ctx.component_id, params)


def _mtf_trend(params: MtfTrendParams, ctx: BuildContext) -> MtfTrend:
    from .strategies import MtfTrend

    return MtfTrend(ctx.component_id, params)


@hookimpl
def ai_trading_register_strategies(registry: StrategyRegistry) -> None:
    registry.register(
        "momentum",
        _momentum,
        params=MomentumParams,
        description="rate of change over `lookback` bars scaled to a target in [-1, 1]",
    )
    registry.register(
        "mean_reversion",
        _mean_reversion,
        params=MeanReversionParams,
        description="Bollinger band touch confirmed by RSI, exit at the middle band",
    )
    registry.register(
        "macd_trend",
        _macd_trend,
        params=MacdTrendParams,
        description="long/short by the sign of the MACD histogram",
    )
    registry.register(
        "breakout",
        _breakout,
        params=BreakoutParams,
        description="Donchian channel breakout on the previous `period` bars",
    )
    registry.register(
        "mtf_trend",
        _mtf_trend,
        params=MtfTrendParams,
        description="EMA crossover on the run's bars filtered by the higher timeframe's trend",
    )
