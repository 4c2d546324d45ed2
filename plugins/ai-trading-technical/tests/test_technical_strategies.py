"""Every registered technical strategy passes the look-ahead check (per-bar and block paths
agree, and neither reads later bars); the rules give the targets worked out by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from ai_trading_technical import TechnicalStrategy
from ai_trading_technical.params import BreakoutParams, MomentumParams
from ai_trading_technical.strategies import Breakout, Momentum

from ai_trading_core.enums import StrategyType, Timeframe
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import BarPanel, History
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.protocols import BlockStrategy, Strategy
from ai_trading_core.registry import BuildContext
from ai_trading_core.testing import random_walk_panel
from ai_trading_core.testing.lookahead import assert_no_lookahead, run_per_bar

DAILY: list[tuple[str, dict[str, Any]]] = [
    ("momentum", {}),
    ("momentum", {"lookback": 5, "threshold": 0.01, "long_only": True}),
    ("mean_reversion", {}),
    ("mean_reversion", {"period": 10, "nbdev": 1.5, "rsi_period": 5, "long_only": True}),
    ("macd_trend", {}),
    ("macd_trend", {"fast": 5, "slow": 15, "signal": 4, "long_only": True}),
    ("breakout", {}),
    ("breakout", {"period": 10, "exit_period": 5, "long_only": True}),
]


@pytest.fixture(scope="module")
def registry() -> Any:
    host = create_plugin_host(only=["technical"], env={})
    return host.registries.strategies


def _build(registry: Any, name: str, params: dict[str, Any], sid: str = "s1") -> Strategy:
    return registry.get(name).build(params, BuildContext(component_id=sid))  # type: ignore[no-any-return]


def test_all_strategies_are_registered(registry: Any) -> None:
    assert {"momentum", "mean_reversion", "macd_trend", "breakout", "mtf_trend"} <= set(registry.names())


@pytest.mark.parametrize(("name", "params"), DAILY, ids=[f"{n}-{i}" for i, (n, _) in enumerate(DAILY)])
def test_daily_strategy_has_no_lookahead_and_block_equals_per_bar(
    registry: Any, name: str, params: dict[str, Any]
) -> None:
    panel = random_walk_panel(500, 3, seed=11, volatility=0.015)
    strategy = _build(registry, name, params)
    assert isinstance(strategy, BlockStrategy)
    assert strategy.strategy_type is StrategyType.TECHNICAL and strategy.strategy_id == "s1"
    targets = assert_no_lookahead(lambda: _build(registry, name, params), panel)
    finite = targets[np.isfinite(targets)]
    assert len(finite) > 20, "the strategy never gave a signal"
    assert (np.abs(finite) <= 1).all()
    if params.get("long_only"):
        assert (finite >= 0).all()
    # nothing before the warm-up
    assert np.isnan(targets[: strategy.warmup - 1]).all()


def test_mtf_trend_has_no_lookahead_and_follows_the_daily_trend(registry: Any) -> None:
    panel = random_walk_panel(288 * 16, 2, seed=2, timeframe=Timeframe.M5, volatility=0.003)
    params = {"fast": 6, "slow": 24, "trend_period": 4}
    targets = assert_no_lookahead(
        lambda: _build(registry, "mtf_trend", params), panel, cut_points=[288 * 8 - 1, 288 * 11 + 17]
    )
    strategy = _build(registry, "mtf_trend", params)
    strategy.prepare(panel.symbols, panel.timeframe)
    assert strategy.warmup == 5 * 288
    assert np.isnan(targets[: 288 * 4 - 1]).all()  # the trend needs four completed days
    finite = targets[np.isfinite(targets)]
    assert set(np.unique(finite)) <= {-1.0, 0.0, 1.0} and (finite != 0).any()


def test_momentum_target_is_the_scaled_return() -> None:
    closes = np.array([100.0, 101, 102, 104, 103, 110, 99])
    panel = _panel_from_closes(closes)
    s = Momentum("m", MomentumParams(lookback=2, full_scale=0.05))
    out = run_per_bar(s, panel)[:, 0]
    expected = np.clip((closes[2:] / closes[:-2] - 1) / 0.05, -1, 1)
    np.testing.assert_allclose(out[2:], expected, rtol=1e-12)
    assert np.isnan(out[:2]).all()


def test_breakout_enters_on_the_previous_channel_and_long_only_exits_on_the_exit_channel() -> None:
    closes = np.array([10.0, 11, 10, 11, 12, 11.5, 11.8, 10.5, 9.0, 10])
    panel = _panel_from_closes(closes)
    out = run_per_bar(Breakout("b", BreakoutParams(period=3, exit_period=2, long_only=True)), panel)[:, 0]
    # bar 4: close 12 > max(11, 10, 11) -> long; bar 7: 10.5 < min(11.5, 11.8) -> flat
    assert out[4] == 1.0 and out[7] == 0.0
    assert np.isnan(out[[0, 1, 2, 3, 5, 6]]).all()
    both = run_per_bar(Breakout("b", BreakoutParams(period=3, exit_period=2)), panel)[:, 0]
    assert both[4] == 1.0 and both[8] == -1.0  # 9.0 < min(11.8, 10.5, 11.5)


def test_first_call_replays_a_prefilled_history() -> None:
    """An engine that fills History before the first on_slice gets the same targets as one
    that calls on_slice from the first bar."""
    panel = random_walk_panel(200, 2, seed=4)
    reference = run_per_bar(Momentum("m", MomentumParams(lookback=10)), panel, history_capacity=50)
    late = Momentum("m", MomentumParams(lookback=10))
    late.prepare(panel.symbols, panel.timeframe)
    history = History(50, 2)
    for i in range(40):
        history.push(panel.slice_at(i))
    got = late.on_slice(panel.slice_at(39), history)
    np.testing.assert_array_equal(got, reference[39])


def test_subclass_without_hooks_says_what_is_missing() -> None:
    class Incomplete(TechnicalStrategy):
        pass

    with pytest.raises(NotImplementedError, match="calculate_indicators"):
        Incomplete("x").signal_block(random_walk_panel(10, 1))


def test_invalid_params_are_config_errors(registry: Any) -> None:
    with pytest.raises(ConfigError, match="fast"):
        _build(registry, "macd_trend", {"fast": 30, "slow": 10})
    with pytest.raises(ConfigError, match="oversold"):
        _build(registry, "mean_reversion", {"oversold": 80, "overbought": 20})
    with pytest.raises(ConfigError, match="lookback"):
        _build(registry, "momentum", {"lookback": 0})


def _panel_from_closes(closes: np.ndarray) -> BarPanel:
    c = closes.reshape(-1, 1)
    stamps = 1_577_836_800_000_000_000 + 86_400_000_000_000 * np.arange(len(closes), dtype=np.int64)
    return BarPanel(("X",), stamps, c.copy(), c.copy(), c.copy(), c.copy(), np.ones_like(c))
