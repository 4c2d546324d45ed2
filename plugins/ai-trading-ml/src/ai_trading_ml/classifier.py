"""``ml_classifier``: predicts the direction of the next ``horizon``-bar return."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .features import FeatureBuilder
from .params import ClassifierParams
from .store import ModelStore
from .strategy import MLStrategy


class DirectionClassifier(MLStrategy):
    """Standardised features into logistic regression, gradient boosting or a random forest."""

    def __init__(
        self, strategy_id: str, params: ClassifierParams, *, seed: int = 0, store: ModelStore | None = None
    ) -> None:
        super().__init__(strategy_id, params, FeatureBuilder(params.features), store)
        self.classifier_params = params
        self.seed = seed

    def build_pipeline(self) -> Pipeline:
        p = self.classifier_params
        if p.model == "logistic":
            clf: Any = LogisticRegression(C=p.C, solver="newton-cholesky", max_iter=200)
        elif p.model == "gradient_boosting":
            clf = GradientBoostingClassifier(
                n_estimators=p.n_estimators, max_depth=p.max_depth, random_state=self.seed
            )
        else:
            clf = RandomForestClassifier(
                n_estimators=p.n_estimators, max_depth=p.max_depth, random_state=self.seed, n_jobs=1
            )
        return Pipeline([("scale", StandardScaler()), ("model", clf)])

    def model_description(self) -> dict[str, Any]:
        p = self.classifier_params
        return {
            "model": p.model,
            "model_params": self.build_pipeline().get_params(deep=False)["steps"][-1][1].get_params(),
            "seed": self.seed,
        }
