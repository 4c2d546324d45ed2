"""Registers the ``kelly`` position sizer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

from .criterion import KellyParams
from .sizer import KellySizer

if TYPE_CHECKING:
    from ai_trading_core.registry import BuildContext, SizerRegistry


def _kelly(params: KellyParams, ctx: BuildContext) -> KellySizer:
    return KellySizer(params)


@hookimpl
def ai_trading_register_sizers(registry: SizerRegistry) -> None:
    registry.register(
        "kelly",
        _kelly,
        params=KellyParams,
        description=(
            "target units = strength × min(confidence × fraction × Kelly f* from the strategy's "
            "last closed trades, max_fraction) × equity / price"
        ),
    )
