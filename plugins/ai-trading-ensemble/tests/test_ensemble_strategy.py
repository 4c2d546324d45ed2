"""The ensemble: combination and allocation worked by hand, member tags, no look-ahead,
block path equal to per-bar, and members built through the registry."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from ai_trading_ensemble import BlockEnsembleStrategy, EnsembleStrategy, Member, make_ensemble
from ai_trading_ensemble.params import AllocationParams

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import BarPanel, FloatArray, History, MarketSlice
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.protocols import BlockStrategy
from ai_trading_core.registry import BuildContext
from ai_trading_core.testing import random_walk_panel
from ai_trading_core.testing.lookahead import assert_no_lookahead, run_per_bar


class ConstantTarget:
    """Test double: always the same target for every symbol (NaN for the first `silent` bars)."""

    strategy_type = "other"

    def __init__(self, value: float, silent: int = 0) -> None:
        self.strategy_id = "const"
        self.value = value
        self.silent = silent
        self.warmup = silent + 1
        self.i = 0

    def prepare(self, symbols: tuple[str, ...], timeframe: Timeframe) -> None:
        self.i = 0

    def on_slice(self, market: MarketSlice, history: History) -> FloatArray:
        self.i += 1
        v = np.nan if self.i <= self.silent else self.value
        return np.full(len(market.symbols), v)


def _rising(n: int = 40) -> BarPanel:
    """Two symbols rising 1% a bar with a small wiggle (so returns have a spread)."""
    wiggle = 1 + 0.002 * np.sin(np.arange(n))[:, None]
    close = 100 * 1.01 ** np.arange(n)[:, None] * wiggle * np.ones((1, 2))
    stamps = 1_577_836_800_000_000_000 + 86_400_000_000_000 * np.arange(n, dtype=np.int64)
    return BarPanel(("A", "B"), stamps, close, close, close, close, np.ones_like(close))


@pytest.fixture(scope="module")
def registry() -> Any:
    return create_plugin_host(only=["technical", "ensemble", "ml"], env={}).registries.strategies


def test_static_combination_and_forward_fill() -> None:
    members = [Member(ConstantTarget(1.0), 3.0, "long"), Member(ConstantTarget(-1.0, silent=2), 1.0, "short")]
    ens = EnsembleStrategy("e", members, AllocationParams(allocation="static"))
    out = run_per_bar(ens, _rising(5))
    # bars 0-1: the short member has no opinion yet (counts 0): 0.75 × 1
    np.testing.assert_allclose(out[:2], 0.75)
    np.testing.assert_allclose(out[2:], 0.75 - 0.25)
    assert ens.member_ids == ["e/long", "e/short"]
    np.testing.assert_array_equal(ens.member_targets["e/short"], [-1.0, -1.0])


def test_sharpe_allocation_moves_weight_to_the_winning_member_within_bounds() -> None:
    members = [Member(ConstantTarget(1.0), 1.0, "long"), Member(ConstantTarget(-1.0), 1.0, "short")]
    params = AllocationParams(allocation="sharpe", lookback=10, min_history=5, min_weight=0.2, max_weight=0.8)
    ens = EnsembleStrategy("e", members, params)
    out = run_per_bar(ens, _rising())
    # before five member returns exist: static 0.5 / 0.5 -> combined 0
    np.testing.assert_allclose(out[:5], 0.0, atol=1e-15)
    # afterwards the long member has a positive Sharpe, the short a negative one:
    # weights hit the bounds 0.8 / 0.2 -> 0.8 - 0.2
    np.testing.assert_allclose(out[6:], 0.6)
    np.testing.assert_allclose(ens.weights, [0.8, 0.2])
    extras = ens.run_extras()["members"]
    assert extras["e/long"]["final_weight"] == pytest.approx(0.8) and extras["e/long"]["rolling_sharpe"] > 0
    assert extras["e/short"]["rolling_sharpe"] < 0


def test_member_returns_are_previous_target_times_bar_return() -> None:
    members = [Member(ConstantTarget(0.5), 1.0, "half")]
    ens = EnsembleStrategy("e", members, AllocationParams(allocation="static"))
    panel = _rising(6)
    run_per_bar(ens, panel)
    expected = 0.5 * (panel.close[1:] / panel.close[:-1] - 1).mean(axis=1)
    np.testing.assert_allclose(np.array(ens._returns)[:, 0], expected, rtol=1e-12)


ENSEMBLE = {
    "lookback": 30,
    "min_weight": 0.1,
    "max_weight": 0.7,
    "members": [
        {"name": "momentum", "weight": 1, "params": {"lookback": 10}},
        {"name": "macd_trend", "id": "macd", "weight": 1},
        {"name": "mean_reversion", "id": "bb", "weight": 2, "params": {"long_only": True}},
    ],
}


def test_registry_ensemble_has_no_lookahead_and_block_equals_per_bar(registry: Any) -> None:
    panel = random_walk_panel(400, 3, seed=9)

    def build() -> Any:
        return registry.get("ensemble").build(ENSEMBLE, BuildContext(component_id="ens"))

    ens = build()
    assert isinstance(ens, BlockEnsembleStrategy) and isinstance(ens, BlockStrategy)
    assert ens.member_ids == ["ens/momentum", "ens/macd", "ens/bb"]
    targets = assert_no_lookahead(build, panel)
    assert np.isfinite(targets).sum() > 300
    ens.prepare(panel.symbols, panel.timeframe)
    run_per_bar(ens, panel)
    weights = [m["final_weight"] for m in ens.run_extras()["members"].values()]
    assert sum(weights) == pytest.approx(1.0) and min(weights) >= 0.1 - 1e-9 and max(weights) <= 0.7 + 1e-9


def test_ml_member_makes_a_per_bar_ensemble_with_its_retraining_in_the_extras(registry: Any) -> None:
    params = {
        "allocation": "static",
        "members": [
            {"name": "macd_trend", "weight": 1},
            {
                "name": "ml_classifier",
                "id": "ml",
                "weight": 1,
                "params": {"retrain_every": 50, "train_window": 150, "min_train_bars": 60, "cv_splits": 3},
            },
        ],
    }
    ens = registry.get("ensemble").build(params, BuildContext(component_id="ens"))
    assert type(ens) is EnsembleStrategy and not hasattr(ens, "signal_block")
    panel = random_walk_panel(300, 2, seed=1)
    assert_no_lookahead(
        lambda: registry.get("ensemble").build(params, BuildContext(component_id="ens")),
        panel,
        cut_points=[200],
    )
    run_per_bar(ens, panel)
    retraining = ens.run_extras()["members"]["ens/ml"]["extras"]["retraining"]
    assert len(retraining) >= 2


def test_configuration_errors_name_the_member(registry: Any) -> None:
    spec = registry.get("ensemble")
    ctx = BuildContext(component_id="ens")
    with pytest.raises(ConfigError, match="member 'momentum'.*lookback"):
        spec.build({"members": [{"name": "momentum", "params": {"lookback": 0}}]}, ctx)
    with pytest.raises(ConfigError, match="unknown strategy 'nope'"):
        spec.build({"members": [{"name": "nope"}]}, ctx)
    with pytest.raises(ConfigError, match="unique"):
        spec.build({"members": [{"name": "momentum"}, {"name": "momentum"}]}, ctx)
    with pytest.raises(ConfigError, match="cannot sum to 1"):
        spec.build({"max_weight": 0.3, "members": [{"name": "momentum"}, {"name": "breakout"}]}, ctx)


def test_make_ensemble_picks_the_block_class_only_when_every_member_has_a_block_path() -> None:
    params = AllocationParams()
    assert type(make_ensemble("e", [Member(ConstantTarget(1.0), 1, "a")], params)) is EnsembleStrategy
