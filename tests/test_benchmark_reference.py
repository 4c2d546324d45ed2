"""The benchmark's NumPy reference (``benchmarks/reference.py``) against an independent naive
per-bar loop and hand-worked examples. Speed is measured in ``benchmarks/``, never here."""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from ai_trading_core.testing import random_walk_panel

ROOT = Path(__file__).resolve().parents[1]


def _benchmarks_module(name: str) -> ModuleType:
    """Import ``benchmarks.<name>`` from the repository (the folder is not an installed package)."""
    if importlib.util.find_spec("benchmarks") is None:
        spec = importlib.util.spec_from_file_location(
            "benchmarks",
            ROOT / "benchmarks" / "__init__.py",
            submodule_search_locations=[str(ROOT / "benchmarks")],
        )
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules["benchmarks"] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"benchmarks.{name}")


reference = _benchmarks_module("reference")


def naive_backtest(
    open_: np.ndarray, close: np.ndarray, initial_cash: float, fast: int, slow: int, sizing: str = "fill_open"
) -> tuple[int, float]:
    """The benchmark semantics written as a plain loop over bars, one symbol at a time."""
    n_bars, n_symbols = close.shape
    trades, total = 0, 0.0
    for j in range(n_symbols):
        cash, units, want_long = initial_cash / n_symbols, 0.0, False
        for t in range(n_bars):
            if t > 0:  # fill the decision taken at the previous close at this bar's open
                price = float(open_[t, j])
                if want_long and units == 0:
                    size = math.floor(cash / (price if sizing == "fill_open" else float(close[t - 1, j])))
                    if size >= 1:
                        cash -= size * price
                        units = float(size)
                        trades += 1
                elif not want_long and units > 0:
                    cash += units * price
                    units = 0.0
            if t >= slow - 1:
                window = [float(c) for c in close[t - slow + 1 : t + 1, j]]
                want_long = sum(window[-fast:]) / fast > sum(window) / slow
            else:
                want_long = False
        total += cash + units * float(close[-1, j])
    return trades, total


HAND_OPEN = np.array([10.0, 10.5, 11.5, 12.5, 10.5, 9.5, 9.0, 11.0])


@pytest.mark.parametrize(
    ("close_6", "trades", "equity"),
    [
        # SMA(2) 10.25 > SMA(3) 10.1667 at bar 6: second entry at bar 7's open 11, 69 units, 1 left in cash
        (11.5, 2, 1.0 + 69 * 12.0),
        # SMA(2) = SMA(3) = 10 at bar 6: not strictly above, so no second entry
        (11.0, 1, 760.0),
    ],
)
def test_hand_worked_example(close_6: float, trades: int, equity: float) -> None:
    # SMA(2) > SMA(3) at bars 2 and 3 (11.5 > 11, 11.5 > 11.33): buy at bar 3's open 12.5,
    # floor(1000 / 12.5) = 80 units; flat at bar 4 (10.5 < 11): sell at bar 5's open 9.5 -> 760.
    close = np.array([10.0, 11.0, 12.0, 11.0, 10.0, 9.0, close_6, 12.0])
    out = reference.run_reference(HAND_OPEN, close, 1000.0, fast=2, slow=3)
    assert out.trades == trades
    assert out.final_equity == pytest.approx(equity, rel=1e-12)
    assert naive_backtest(HAND_OPEN[:, None], close[:, None], 1000.0, 2, 3) == (
        trades,
        pytest.approx(equity, rel=1e-12),
    )


@pytest.mark.parametrize("sizing", ["fill_open", "decision_close"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_reference_matches_naive_loop_on_random_walks(seed: int, sizing: str) -> None:
    panel = random_walk_panel(n_bars=600, n_symbols=4, seed=seed, volatility=0.02)
    out = reference.run_reference(panel.open, panel.close, 400_000.0, sizing=sizing)
    trades, equity = naive_backtest(
        panel.open, panel.close, 400_000.0, reference.FAST, reference.SLOW, sizing
    )
    assert out.trades == trades
    assert out.trades > 10  # the data actually exercises entries and exits
    assert out.final_equity == pytest.approx(equity, rel=1e-12)


def test_sma_matches_pandas_rolling_mean() -> None:
    pd = pytest.importorskip("pandas")
    close = random_walk_panel(n_bars=200, n_symbols=3, seed=5).close
    expected = pd.DataFrame(close).rolling(10).mean().to_numpy()
    np.testing.assert_allclose(reference.sma(close, 10), expected, rtol=1e-12, equal_nan=True)


def test_no_entry_when_cash_cannot_buy_one_unit_is_an_error() -> None:
    close = np.linspace(100.0, 200.0, 40)
    with pytest.raises(ValueError, match="cannot afford one unit"):
        reference.run_reference(close, close, 50.0)


def test_ai_trading_engine_matches_the_reference_on_a_small_panel() -> None:
    """The full ai-trading pipeline on 3 symbols × 300 bars with prices on the benchmark's tick,
    per-bar and block mode: exact trade count, equity to 1e-9, under the peers' rule (sized at
    the fill bar's open)."""
    pytest.importorskip("ai_trading_sim")
    pytest.importorskip("ai_trading_sma")
    data = _benchmarks_module("data")
    engine = _benchmarks_module("engines.ai_trading_engine")
    panel = random_walk_panel(n_bars=300, n_symbols=3, seed=11, volatility=0.02)
    # on the benchmark's tick, which the engine's instruments are configured with
    open_, high, low, close = data.on_tick(panel.open, panel.high, panel.low, panel.close)
    case = data.OHLCV(
        panel.symbols,
        panel.timestamps,
        open_,
        high,
        low,
        close,
        panel.volume,
        initial_cash=300_000.0,
    )
    trades, equity = engine.run(case, "bar")
    block_trades, block_equity = engine.run(case, "block")
    assert block_trades == trades and block_equity == pytest.approx(equity, rel=1e-12)
    expected = reference.run_reference(case.open, case.close, case.initial_cash)
    assert expected.trades > 5
    assert trades == expected.trades
    assert equity == pytest.approx(expected.final_equity, rel=1e-9)
    at_close = reference.run_reference(case.open, case.close, case.initial_cash, sizing="decision_close")
    assert at_close.trades == trades and at_close.final_equity != pytest.approx(equity, rel=1e-9)


def test_generated_prices_are_on_the_tick() -> None:
    """The generator puts open, high, low and close on the tick, keeps every bar consistent
    (high above open and close, low below) and no price under one tick."""
    data = _benchmarks_module("data")
    spec = data.CaseSpec("tiny", 400, 5, seed=7, volatility=0.03, drift=0.0, bar_seconds=60, initial_cash=5e5)
    case = data.generate(spec)
    prices = (case.open, case.high, case.low, case.close)
    for a in prices:
        assert np.array_equal(a, np.round(a, data.TICK_DECIMALS)) and a.min() >= data.TICK
        assert not np.array_equal(a, np.round(a, 2))  # finer than cents: averages do not tie
    assert (case.high >= np.maximum(case.open, case.close)).all()
    assert (case.low <= np.minimum(case.open, case.close)).all()
    assert len({float(x) for x in case.close.ravel()}) > 100  # a walk, not a constant


def test_on_tick_floors_sub_tick_prices_and_repairs_the_bar() -> None:
    """A bar entirely below one tick: open and close are lifted to one tick, so high must
    follow; a normal bar is only rounded (round half to even on the float, as ``np.round``)."""
    data = _benchmarks_module("data")
    t = data.TICK
    o, h, lo, c = data.on_tick(
        np.array([0.4 * t, 12.344]), np.array([0.6 * t, 12.349]), np.array([0.1 * t, 12.301]),
        np.array([0.3 * t, 12.3449]),
    )
    np.testing.assert_array_equal(o, [t, 12.344])
    np.testing.assert_array_equal(h, [t, 12.349])
    np.testing.assert_array_equal(lo, [t, 12.301])
    np.testing.assert_array_equal(c, [t, 12.3449])
