"""Kelly-criterion position sizing for ai-trading: the closed-form Kelly fraction, its
estimation from a strategy's closed trades, and the ``kelly`` position sizer."""

from __future__ import annotations

from .api import PositionSize, PositionSizer
from .criterion import KellyCriterion, KellyParams, TradeEdge, estimate_edge, kelly_fraction
from .sizer import KellySizer

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
