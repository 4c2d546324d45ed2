"""Ensemble strategy: weighted combination of member strategies with dynamic allocation."""

from __future__ import annotations

from .allocation import bounded_weights, rolling_sharpe
from .ensemble import BlockEnsembleStrategy, EnsembleStrategy, Member, make_ensemble

__all__ = [
    "BlockEnsembleStrategy",
    "EnsembleStrategy",
    "Member",
    "bounded_weights",
    "make_ensemble",
    "rolling_sharpe",
]
