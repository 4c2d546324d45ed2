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
