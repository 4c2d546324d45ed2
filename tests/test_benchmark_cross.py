"""The benchmark's crossover rule (``reference.TRIGGER = "cross"``): the NumPy reference against
a plain per-bar loop, and the ai-trading engine (``sma_crossover`` with ``trigger = "cross"``,
per-bar and block mode) against the reference. Speed is measured in ``benchmarks/``."""

from __future__ import annotations

import importlib
import math
from types import ModuleType

import numpy as np
import pytest

from ai_trading_core.testing import random_walk_panel


def _benchmarks_module(name: str) -> ModuleType:
    """``benchmarks.<name>`` from the repository root (on the test path, not installed)."""
    return importlib.import_module(f"benchmarks.{name}")


reference = _benchmarks_module("reference")


def naive_cross_backtest(
    open_: np.ndarray, close: np.ndarray, initial_cash: float, fast: int, slow: int
) -> tuple[int, float]:
    """Crossover events as a plain loop: long after an upward cross, flat after a downward
    one, flat before the first; an event needs both averages on the bar and the one before."""
    n_bars, n_symbols = close.shape
    trades, total = 0, 0.0
    for j in range(n_symbols):
        cash, units, want_long = initial_cash / n_symbols, 0.0, False
        prev: bool | None = None
        for t in range(n_bars):
            if t > 0:
                price = float(open_[t, j])
                if want_long and units == 0:
                    size = math.floor(cash / price)
                    cash -= size * price
                    units = float(size)
                    trades += 1
                elif not want_long and units > 0:
                    cash += units * price
                    units = 0.0
            if t >= slow - 1:
                window = [float(c) for c in close[t - slow + 1 : t + 1, j]]
                above = sum(window[-fast:]) / fast > sum(window) / slow
                if prev is not None and above != prev:
                    want_long = above
                prev = above
        total += cash + units * float(close[-1, j])
    return trades, total


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_reference_matches_a_naive_loop(seed: int) -> None:
    panel = random_walk_panel(n_bars=600, n_symbols=4, seed=seed, volatility=0.02)
    out = reference.run_reference(panel.open, panel.close, 400_000.0, trigger="cross")
    trades, equity = naive_cross_backtest(panel.open, panel.close, 400_000.0, reference.FAST, reference.SLOW)
    assert out.trades == trades > 10
    assert out.final_equity == pytest.approx(equity, rel=1e-12)
    # the rules differ where the fast average starts above the slow one: no entry until a cross
    state = reference.run_reference(panel.open, panel.close, 400_000.0, trigger="state")
    starts_above = reference.long_state(panel.close)[reference.SLOW - 1]
    assert (state.trades_per_symbol - out.trades_per_symbol)[starts_above].min(initial=1) >= 1
    assert np.array_equal(state.trades_per_symbol[~starts_above], out.trades_per_symbol[~starts_above])


def test_ai_trading_engine_trades_the_cross_rule_like_the_reference() -> None:
    pytest.importorskip("ai_trading_sim")
    pytest.importorskip("ai_trading_sma")
    data = _benchmarks_module("data")
    engine = _benchmarks_module("engines.ai_trading_engine")
    panel = random_walk_panel(n_bars=300, n_symbols=3, seed=11, volatility=0.02)
    # on the benchmark's tick, which the engine's instruments are configured with
    open_, high, low, close = data.on_tick(panel.open, panel.high, panel.low, panel.close)
    case = data.OHLCV(
        panel.symbols, panel.timestamps, open_, high, low, close, panel.volume, initial_cash=300_000.0
    )
    expected = reference.run_reference(case.open, case.close, case.initial_cash, trigger="cross")
    assert expected.trades > 5
    for mode in ("bar", "block"):
        trades, equity = engine.run(case, mode, "cross")
        assert trades == expected.trades, mode
        assert equity == pytest.approx(expected.final_equity, rel=1e-9), mode
