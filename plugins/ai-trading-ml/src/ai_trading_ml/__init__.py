"""Machine-learning strategies over scikit-learn pipelines, retrained walk-forward."""

from __future__ import annotations

from .classifier import DirectionClassifier
from .cv import PurgedKFold
from .features import FeatureBuilder, FeatureParams
from .store import ModelStore
from .strategy import MLStrategy, edge_to_target

__all__ = [
    "DirectionClassifier",
    "FeatureBuilder",
    "FeatureParams",
    "MLStrategy",
    "ModelStore",
    "PurgedKFold",
    "edge_to_target",
]
