"""Ensemble strategy: weighted combination of member strategies with dynamic allocation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .allocation import bounded_weights, rolling_sharpe
    from .ensemble import BlockEnsembleStrategy, EnsembleStrategy, Member, make_ensemble

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "bounded_weights": ".allocation",
        "rolling_sharpe": ".allocation",
        "BlockEnsembleStrategy": ".ensemble",
        "EnsembleStrategy": ".ensemble",
        "Member": ".ensemble",
        "make_ensemble": ".ensemble",
    },
)

__all__ = [
    "BlockEnsembleStrategy",
    "EnsembleStrategy",
    "Member",
    "bounded_weights",
    "make_ensemble",
    "rolling_sharpe",
]
