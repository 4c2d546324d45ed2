"""Kelly-criterion position sizing for ai-trading: the closed-form Kelly fraction, its
estimation from a strategy's closed trades, and the ``kelly`` position sizer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .api import PositionSize, PositionSizer
    from .criterion import KellyCriterion, KellyParams, TradeEdge, estimate_edge, kelly_fraction
    from .sizer import KellySizer

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "PositionSize": ".api",
        "PositionSizer": ".api",
        "KellyCriterion": ".criterion",
        "KellyParams": ".criterion",
        "TradeEdge": ".criterion",
        "estimate_edge": ".criterion",
        "kelly_fraction": ".criterion",
        "KellySizer": ".sizer",
    },
)

__all__ = [
    "KellyCriterion",
    "KellyParams",
    "KellySizer",
    "PositionSize",
    "PositionSizer",
    "TradeEdge",
    "estimate_edge",
    "kelly_fraction",
]
