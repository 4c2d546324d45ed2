"""Registers the ``ml_classifier`` strategy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

if TYPE_CHECKING:
    from .classifier import DirectionClassifier
    from .params import ClassifierParams
    from ai_trading_core.registry import BuildContext, StrategyRegistry


def _ml_classifier(params: ClassifierParams, ctx: BuildContext) -> DirectionClassifier:
    # scikit-learn and TA-Lib are imported when the strategy is built, not when the plugin loads
    from .classifier import DirectionClassifier
    from .store import ModelStore
    from .strategy import resolve_model_dir

    directory = resolve_model_dir(params.model_dir, ctx.state_dir)
    store = ModelStore(directory) if directory is not None else None
    return DirectionClassifier(ctx.component_id, params, seed=ctx.seed, store=store)


@hookimpl
def ai_trading_register_strategies(registry: StrategyRegistry) -> None:
    registry.register(
        "ml_classifier",
        _ml_classifier,
        params="ai_trading_ml.params:ClassifierParams",
        description=(
            "scikit-learn classifier of the next-`horizon`-bar direction, retrained walk-forward every "
            "`retrain_every` bars with purged k-fold CV; P(up) mapped to target strength"
        ),
    )
