"""Registers the ``kelly`` position sizer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

if TYPE_CHECKING:
    from .criterion import KellyParams
    from .sizer import KellySizer
    from ai_trading_core.registry import BuildContext, SizerRegistry


def _kelly(params: KellyParams, ctx: BuildContext) -> KellySizer:
    from .sizer import KellySizer  # built on use: loading the plugin stays cheap

    return KellySizer(params)


@hookimpl
def ai_trading_register_sizers(registry: SizerRegistry) -> None:
    registry.register(
        "kelly",
        _kelly,
        params="ai_trading_kelly.criterion:KellyParams",
        description=(
            "target units = strength × min(confidence × fraction × Kelly f* from the strategy's "
            "last closed trades, max_fraction) × equity / price"
        ),
    )
