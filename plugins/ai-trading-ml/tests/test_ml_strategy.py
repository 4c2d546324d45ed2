"""The ML strategy: no look-ahead, retraining on schedule with labels that were known at the
time, models saved with their metadata and reloadable, and a learnable pattern learnt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ai_trading_ml import ModelStore, edge_to_target
from ai_trading_ml.classifier import DirectionClassifier
from ai_trading_ml.params import ClassifierParams

from ai_trading_core.enums import StrategyType
from ai_trading_core.errors import ConfigError, StorageError
from ai_trading_core.market import BarPanel, to_datetime
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.registry import BuildContext
from ai_trading_core.testing import random_walk_panel
from ai_trading_core.testing.lookahead import assert_no_lookahead, run_per_bar

SMALL = {"retrain_every": 60, "train_window": 200, "min_train_bars": 80, "horizon": 3, "cv_splits": 4}


@pytest.fixture(scope="module")
def registry() -> Any:
    return create_plugin_host(only=["ml"], env={}).registries.strategies


def _build(registry: Any, params: dict[str, Any], ctx: BuildContext | None = None) -> DirectionClassifier:
    strategy = registry.get("ml_classifier").build(params, ctx or BuildContext(component_id="ml"))
    assert isinstance(strategy, DirectionClassifier)
    return strategy


def _trending_panel(n: int = 700, seed: int = 0) -> BarPanel:
    """Two symbols whose log returns are AR(1) with coefficient 0.5: past returns predict the
    direction of the next few bars."""
    rng = np.random.default_rng(seed)
    r = np.zeros((n, 2))
    eps = rng.normal(0, 0.01, size=(n, 2))
    for t in range(1, n):
        r[t] = 0.5 * r[t - 1] + eps[t]
    close = 100 * np.exp(np.cumsum(r, axis=0))
    base = random_walk_panel(n, 2, seed=seed)
    return BarPanel(base.symbols, base.timestamps, close, close * 1.001, close * 0.999, close, base.volume)


def test_ml_classifier_has_no_lookahead(registry: Any) -> None:
    panel = random_walk_panel(500, 2, seed=3)
    targets = assert_no_lookahead(lambda: _build(registry, SMALL), panel, cut_points=[250, 380])
    strategy = _build(registry, SMALL)
    assert strategy.strategy_type is StrategyType.MACHINE_LEARNING
    assert not hasattr(strategy, "signal_block")
    first = int(np.flatnonzero(np.isfinite(targets).any(axis=1))[0])
    assert first == strategy.warmup - 1
    assert (np.abs(targets[np.isfinite(targets)]) <= 1).all()


def test_retraining_follows_the_schedule_and_only_uses_known_labels(registry: Any) -> None:
    panel = random_walk_panel(500, 2, seed=5)
    strategy = _build(registry, SMALL)
    run_per_bar(strategy, panel)
    log = strategy.run_extras()["retraining"]
    bars = [e["bar"] for e in log]
    assert bars == list(range(strategy.warmup - 1, 500, 60))
    for entry in log:
        bar = entry["bar"]
        assert entry["timestamp"] == to_datetime(panel.timestamps[bar]).isoformat()
        # the newest training sample was decided `horizon` bars before the retraining bar:
        # its label (close `horizon` bars later) was known
        assert entry["window"]["end"] == to_datetime(panel.timestamps[bar - SMALL["horizon"]]).isoformat()
        assert entry["window"]["bars"] <= SMALL["train_window"]
        assert entry["window"]["samples"] == 2 * entry["window"]["bars"]
        assert len(entry["cv"]["folds"]) == SMALL["cv_splits"]
        assert 0 <= entry["cv"]["accuracy"] <= 1 and entry["cv"]["log_loss"] > 0
    json.dumps(log)  # the run document must be able to carry it


def test_a_learnable_pattern_is_learnt() -> None:
    panel = _trending_panel()
    params = ClassifierParams(
        horizon=1, retrain_every=100, train_window=300, min_train_bars=150, min_edge=0.0, full_edge=0.5
    )
    strategy = DirectionClassifier("ml", params)
    targets = run_per_bar(strategy, panel)
    assert np.mean([e["cv"]["accuracy"] for e in strategy.retraining_log]) > 0.6
    nxt = np.sign(np.diff(np.log(panel.close), axis=0))
    ok = np.isfinite(targets[:-1]) & (targets[:-1] != 0)
    hit_rate = np.mean(np.sign(targets[:-1][ok]) == nxt[ok])
    assert hit_rate > 0.6, hit_rate
    assert np.isfinite(strategy.last_confidence).all()


def test_models_are_saved_versioned_with_metadata_and_reload(registry: Any, tmp_path: Path) -> None:
    panel = random_walk_panel(400, 2, seed=8)
    ctx = BuildContext(component_id="ens/ml", state_dir=tmp_path)
    strategy = _build(registry, {**SMALL, "model_dir": "models"}, ctx)
    run_per_bar(strategy, panel)
    store = ModelStore(tmp_path / "models")
    versions = store.versions("ens/ml")
    assert versions == list(range(1, len(strategy.retraining_log) + 1)) and len(versions) >= 3
    assert (tmp_path / "models" / "ens__ml" / "v0001.joblib").is_file()
    model, meta = store.load("ens/ml")
    last = strategy.retraining_log[-1]
    assert meta["version"] == versions[-1] == last["model_version"]
    assert meta["features"] == strategy.features.names
    assert meta["training_window"] == last["window"] and meta["cv"]["accuracy"] == last["cv"]["accuracy"]
    assert meta["sklearn_version"] and meta["model"] == "logistic" and meta["horizon"] == 3
    x = np.random.default_rng(0).normal(size=(5, len(meta["features"])))
    np.testing.assert_array_equal(model.predict_proba(x), strategy.model.predict_proba(x))  # type: ignore[union-attr]
    first, meta1 = store.load("ens/ml", version=1)
    assert meta1["trained_at"] == strategy.retraining_log[0]["timestamp"]
    with pytest.raises(StorageError, match="not found"):
        store.load("ens/ml", version=99)
    with pytest.raises(StorageError, match="no saved model"):
        store.load("other")


def test_gradient_boosting_runs(registry: Any) -> None:
    params = {**SMALL, "model": "gradient_boosting", "n_estimators": 20, "max_depth": 2}
    strategy = _build(registry, params, BuildContext(component_id="gb", seed=7))
    targets = run_per_bar(strategy, random_walk_panel(300, 2, seed=1))
    assert np.isfinite(targets).any() and strategy.retraining_log


def test_edge_to_target_mapping() -> None:
    edge = np.array([0.0, 0.01, 0.05, 0.11, 0.2, 0.5, -0.11, -1.0])
    np.testing.assert_allclose(
        edge_to_target(edge, 0.02, 0.2), [0.0, 0.0, 0.03 / 0.18, 0.5, 1.0, 1.0, -0.5, -1.0]
    )


def test_inconsistent_params_are_config_errors(registry: Any) -> None:
    with pytest.raises(ConfigError, match="full_edge"):
        _build(registry, {"min_edge": 0.3, "full_edge": 0.2})
    with pytest.raises(ConfigError, match="min_train_bars"):
        _build(registry, {"min_train_bars": 300, "train_window": 100})
    with pytest.raises(ConfigError, match="model"):
        _build(registry, {"model": "svm"})
