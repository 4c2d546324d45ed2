"""Machine-learning strategies over scikit-learn pipelines, retrained walk-forward."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .classifier import DirectionClassifier
    from .cv import PurgedKFold
    from .features import FeatureBuilder, FeatureParams
    from .store import ModelStore
    from .strategy import MLStrategy, edge_to_target

# Imported on first use: loading the plugin must not pull in its heavy dependencies.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "DirectionClassifier": ".classifier",
        "PurgedKFold": ".cv",
        "FeatureBuilder": ".features",
        "FeatureParams": ".features",
        "ModelStore": ".store",
        "MLStrategy": ".strategy",
        "edge_to_target": ".strategy",
    },
)

__all__ = [
    "DirectionClassifier",
    "FeatureBuilder",
    "FeatureParams",
    "MLStrategy",
    "ModelStore",
    "PurgedKFold",
    "edge_to_target",
]
