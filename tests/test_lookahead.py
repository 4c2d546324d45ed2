"""The look-ahead check catches a strategy that peeks at later bars and a block path that
disagrees with its per-bar path, and passes a causal strategy."""

from __future__ import annotations

import numpy as np
import pytest

from ai_trading_core.enums import StrategyType, Timeframe
from ai_trading_core.market import BarPanel, FloatArray, History, MarketSlice
from ai_trading_core.testing import random_walk_panel
from ai_trading_core.testing.lookahead import LookaheadError, alter_after, assert_no_lookahead, run_per_bar


class CausalMomentum:
    """Sign of the return over the last ``n`` bars, with a matching block path."""

    strategy_type = StrategyType.TECHNICAL

    def __init__(self, n: int = 5) -> None:
        self.strategy_id = "causal"
        self.warmup = n + 1
        self.n = n

    def prepare(self, symbols: tuple[str, ...], timeframe: Timeframe) -> None:
        pass

    def on_slice(self, market: MarketSlice, history: History) -> FloatArray:
        c = history.close(self.n + 1)
        if len(c) <= self.n:
            return np.full(len(market.symbols), np.nan)
        return np.sign(c[-1] - c[0])

    def signal_block(self, panel: BarPanel) -> FloatArray:
        out = np.full(panel.shape, np.nan)
        out[self.n :] = np.sign(panel.close[self.n :] - panel.close[: -self.n])
        return out


class PeekingStrategy(CausalMomentum):
    """Cheats: reads tomorrow's close from a panel it was handed at construction."""

    def __init__(self, panel: BarPanel) -> None:
        super().__init__()
        self.strategy_id = "peeking"
        self.panel = panel
        self.i = -1

    def on_slice(self, market: MarketSlice, history: History) -> FloatArray:
        self.i += 1
        nxt = min(self.i + 1, self.panel.shape[0] - 1)
        return np.sign(self.panel.close[nxt] - market.close)


class BlockOffByOne(CausalMomentum):
    """Block path shifted by one row against its per-bar path."""

    def signal_block(self, panel: BarPanel) -> FloatArray:
        out = super().signal_block(panel)
        return np.vstack([out[1:], out[-1:]])


def test_causal_strategy_passes_and_returns_its_targets() -> None:
    panel = random_walk_panel(300, 3, seed=2)
    targets = assert_no_lookahead(CausalMomentum, panel)
    assert targets.shape == (300, 3)
    assert np.isnan(targets[:5]).all() and np.isfinite(targets[5:]).all()


def test_peeking_strategy_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The peeking double reads the next row of whichever panel the check is running."""
    import ai_trading_core.testing.lookahead as la

    panel = random_walk_panel(300, 3, seed=2)
    original = la.run_per_bar

    def run_and_hand_over_the_panel(strategy, p, cap=None):  # type: ignore[no-untyped-def]
        strategy.panel = p
        return original(strategy, p, cap)

    monkeypatch.setattr(la, "run_per_bar", run_and_hand_over_the_panel)
    with pytest.raises(LookaheadError, match="look-ahead"):
        assert_no_lookahead(lambda: PeekingStrategy(panel), panel, cut_points=[150])


def test_block_path_disagreeing_with_per_bar_is_caught() -> None:
    panel = random_walk_panel(200, 2, seed=4)
    with pytest.raises(LookaheadError, match="signal_block row"):
        assert_no_lookahead(BlockOffByOne, panel, cut_points=[100])


def test_block_path_reading_the_future_is_caught() -> None:
    panel = random_walk_panel(200, 2, seed=4)

    class FutureBlock(CausalMomentum):
        def signal_block(self, p: BarPanel) -> FloatArray:
            out = super().signal_block(p)
            out[:-1] = np.sign(p.close[1:] - p.close[:-1])
            return out

        def on_slice(self, market: MarketSlice, history: History) -> FloatArray:
            return np.zeros(len(market.symbols))

    with pytest.raises(LookaheadError):
        assert_no_lookahead(FutureBlock, panel, cut_points=[100])


def test_alter_after_keeps_rows_up_to_the_cut_and_gaps() -> None:
    panel = random_walk_panel(50, 2, seed=1)
    close = panel.close.copy()
    close[40, 1] = np.nan
    gappy = BarPanel(panel.symbols, panel.timestamps, panel.open, panel.high, panel.low, close, panel.volume)
    out = alter_after(gappy, 20)
    np.testing.assert_array_equal(out.close[:21], gappy.close[:21])
    assert not np.allclose(out.close[21:, 0], gappy.close[21:, 0])
    assert np.isnan(out.close[40, 1])
    assert (out.high >= np.maximum(out.open, out.close) - 1e-12)[np.isfinite(out.close)].all()


def test_out_of_range_targets_are_reported() -> None:
    class TooStrong(CausalMomentum):
        def on_slice(self, market: MarketSlice, history: History) -> FloatArray:
            return np.full(len(market.symbols), 2.0)

    with pytest.raises(LookaheadError, match="outside"):
        run_per_bar(TooStrong(), random_walk_panel(10, 2))
