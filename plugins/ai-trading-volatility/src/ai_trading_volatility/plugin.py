"""Registers the ``vol_target``, ``atr`` and ``risk_parity`` position sizers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

if TYPE_CHECKING:
    from .atr_sizer import AtrParams, AtrSizer
    from .risk_parity import RiskParityParams, RiskParitySizer
    from .vol_target import VolTargetParams, VolTargetSizer
    from ai_trading_core.registry import BuildContext, SizerRegistry


# SciPy, pandas and arch are imported when a sizer is built (or its parameters validated).
def _vol_target(params: VolTargetParams, ctx: BuildContext) -> VolTargetSizer:
    from .vol_target import VolTargetSizer

    return VolTargetSizer(params)


def _atr(params: AtrParams, ctx: BuildContext) -> AtrSizer:
    from .atr_sizer import AtrSizer

    return AtrSizer(params)


def _risk_parity(params: RiskParityParams, ctx: BuildContext) -> RiskParitySizer:
    from .risk_parity import RiskParitySizer

    return RiskParitySizer(params)


@hookimpl
def ai_trading_register_sizers(registry: SizerRegistry) -> None:
    registry.register(
        "vol_target",
        _vol_target,
        params="ai_trading_volatility.vol_target:VolTargetParams",
        description=(
            "target units = strength × min(target_vol / EWMA or GARCH(1,1) volatility, max_leverage) "
            "× equity × weight / price, gross capped at max_leverage"
        ),
    )
    registry.register(
        "atr",
        _atr,
        params="ai_trading_volatility.atr_sizer:AtrParams",
        description="target units = strength × risk_per_trade × equity / (atr_multiple × Wilder ATR)",
    )
    registry.register(
        "risk_parity",
        _risk_parity,
        params="ai_trading_volatility.risk_parity:RiskParityParams",
        description=(
            "inverse-volatility or equal-risk-contribution weights from a Ledoit-Wolf covariance "
            "over the symbols with a non-zero strength, re-allocated every rebalance_every bars"
        ),
    )
