from __future__ import annotations

import numpy as np
import pytest
from ai_trading_sma import SmaCrossover, SmaCrossoverParams
from pydantic import ValidationError

from ai_trading_core.market import History
from ai_trading_core.testing import random_walk_panel
from ai_trading_core.testing.contracts import StrategyContract


class TestSmaContract(StrategyContract):
    @pytest.fixture
    def strategy(self) -> SmaCrossover:
        return SmaCrossover(SmaCrossoverParams(fast=5, slow=20))


def test_matches_pandas_rolling_reference() -> None:
    pd = pytest.importorskip("pandas")
    panel = random_walk_panel(400, 3, seed=3)
    s = SmaCrossover(SmaCrossoverParams(fast=10, slow=30, long_only=False))
    h = History(31, 3)
    got = []
    for i in range(400):
        m = panel.slice_at(i)
        h.push(m)
        got.append(s.on_slice(m, h))
    got = np.vstack(got)
    close = pd.DataFrame(panel.close)
    fast, slow = close.rolling(10).mean().to_numpy(), close.rolling(30).mean().to_numpy()
    expected = np.where(fast > slow, 1.0, -1.0)
    expected[np.isnan(slow)] = np.nan
    # Rolling sums in pandas and window sums here may differ in the last ulp; compare where
    # the averages are not within rounding of each other.
    clear = ~np.isclose(fast, slow, rtol=1e-12, atol=0) | np.isnan(slow)
    np.testing.assert_array_equal(got[clear], expected[clear])


def test_fast_must_be_shorter() -> None:
    with pytest.raises(ValidationError, match="must be shorter"):
        SmaCrossoverParams(fast=30, slow=10)


class TestSmaCrossTriggerContract(StrategyContract):
    @pytest.fixture
    def strategy(self) -> SmaCrossover:
        return SmaCrossover(SmaCrossoverParams(fast=5, slow=20, trigger="cross"))


def _cross_reference(close: np.ndarray, fast: int, slow: int, low: float) -> np.ndarray:
    """Crossover events with pandas: the state where it differs from the previous bar's."""
    import pandas as pd

    frame = pd.DataFrame(close)
    f, s = frame.rolling(fast).mean(), frame.rolling(slow).mean()
    state = pd.DataFrame(np.where(f > s, 1.0, low)).where(s.notna())
    prev = state.shift(1)
    return state.where(state.notna() & prev.notna() & (state != prev)).to_numpy()


def test_cross_trigger_matches_pandas_and_block() -> None:
    pytest.importorskip("pandas")
    panel = random_walk_panel(500, 4, seed=11)
    params = SmaCrossoverParams(fast=7, slow=25, long_only=False, trigger="cross")
    s = SmaCrossover(params)
    h = History(s.warmup + 1, 4)
    got = []
    for i in range(500):
        m = panel.slice_at(i)
        h.push(m)
        got.append(s.on_slice(m, h))
    got = np.vstack(got)
    expected = _cross_reference(panel.close, 7, 25, -1.0)
    clear = pd_rolling_clear(panel.close, 7, 25)
    np.testing.assert_array_equal(got[clear], expected[clear])
    assert np.isfinite(got).sum() > 8  # crossings happened
    assert np.isnan(got[:25]).all()  # first event at row `slow` at the earliest
    np.testing.assert_array_equal(SmaCrossover(params).signal_block(panel), got)


def pd_rolling_clear(close: np.ndarray, fast: int, slow: int) -> np.ndarray:
    """Rows where neither this bar's nor the previous bar's averages are within rounding of
    each other (pandas' rolling sums may differ from window sums in the last ulp)."""
    import pandas as pd

    frame = pd.DataFrame(close)
    f, s = frame.rolling(fast).mean().to_numpy(), frame.rolling(slow).mean().to_numpy()
    clear = ~np.isclose(f, s, rtol=1e-12, atol=0) | np.isnan(s)
    clear[1:] &= clear[:-1]
    return clear


def test_cross_trigger_hand_computed() -> None:
    """fast=1, slow=2 on closes 1, 2, 3, 2, 1, 2: the averages exist from row 1; the close
    is above its 2-bar mean on rows 1, 2 and 5 (state 1, 1, 0, 0, 1): events on row 3 (0)
    and row 5 (1), nothing on row 1 (no previous state) nor on row 2 (no change)."""
    from ai_trading_core.market import BarPanel

    close = np.array([[1.0], [2.0], [3.0], [2.0], [1.0], [2.0]])
    day = 86_400 * 10**9
    panel = BarPanel(("AAA",), np.arange(6, dtype=np.int64) * day, close, close, close, close, close * 0 + 100)
    got = SmaCrossover(SmaCrossoverParams(fast=1, slow=2, trigger="cross")).signal_block(panel)
    np.testing.assert_array_equal(got[:, 0], [np.nan, np.nan, np.nan, 0.0, np.nan, 1.0])
    state = SmaCrossover(SmaCrossoverParams(fast=1, slow=2)).signal_block(panel)
    np.testing.assert_array_equal(state[:, 0], [np.nan, 1.0, 1.0, 0.0, 0.0, 1.0])


def test_state_is_still_the_default() -> None:
    assert SmaCrossoverParams().trigger == "state"
    with pytest.raises(ValidationError):
        SmaCrossoverParams(trigger="sometimes")  # type: ignore[arg-type]
