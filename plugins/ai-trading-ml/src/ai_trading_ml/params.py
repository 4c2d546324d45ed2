"""Parameters of the ML strategies."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .features import FeatureParams


class WalkForwardParams(BaseModel):
    """When and on what the model is retrained (all counts in bars)."""

    model_config = ConfigDict(extra="forbid")

    horizon: int = Field(5, ge=1, description="label: direction of the return over the next `horizon` bars")
    retrain_every: int = Field(63, ge=1, description="bars between retrainings")
    train_window: int = Field(504, ge=20, description="trailing bars of labelled samples used for training")
    min_train_bars: int = Field(126, ge=10, description="labelled bars needed before the first training")
    cv_splits: int = Field(5, ge=2, description="purged k-fold splits used to score each training")
    embargo: int = Field(5, ge=0, description="embargo after each test fold, bars")
    min_edge: float = Field(0.02, ge=0, lt=1, description="|2p - 1| below which the target is 0")
    full_edge: float = Field(0.20, gt=0, le=1, description="|2p - 1| at which the target reaches ±1")
    long_only: bool = False
    model_dir: Path | None = Field(
        None, description="save each trained model here (relative paths are under the run's state directory)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> WalkForwardParams:
        if self.full_edge <= self.min_edge:
            raise ValueError("full_edge must be larger than min_edge")
        if self.min_train_bars > self.train_window:
            raise ValueError("min_train_bars cannot exceed train_window")
        return self


class ClassifierParams(WalkForwardParams):
    """``ml_classifier``: a scikit-learn classifier of the next-``horizon``-bar direction."""

    model: Literal["logistic", "gradient_boosting", "random_forest"] = "logistic"
    C: float = Field(1.0, gt=0, description="inverse L2 regularisation strength (logistic)")
    n_estimators: int = Field(100, ge=1, description="trees (gradient_boosting, random_forest)")
    max_depth: int = Field(3, ge=1, description="tree depth (gradient_boosting, random_forest)")
    features: FeatureParams = Field(default_factory=FeatureParams)
