"""The ``atr`` sizer against TA-Lib's ATR."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import talib
from ai_trading_volatility import AtrParams, AtrSizer

from ai_trading_core.market import BarPanel, History
from ai_trading_core.protocols import PositionSizer, SizingContext

ContextAt = Callable[..., SizingContext]
HistoryThrough = Callable[..., History]


def talib_atr_last(panel: BarPanel, row: int, rows: int, period: int) -> np.ndarray:
    sl = slice(row - rows + 1, row + 1)
    return np.array(
        [
            talib.ATR(panel.high[sl, j], panel.low[sl, j], panel.close[sl, j], timeperiod=period)[-1]
            for j in range(len(panel.symbols))
        ]
    )


def test_atr_sizer_satisfies_the_protocol() -> None:
    assert isinstance(AtrSizer(AtrParams()), PositionSizer)


def test_atr_units_risk_a_fixed_fraction_of_equity(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 250
    sizer = AtrSizer(AtrParams(risk_per_trade=0.005, atr_multiple=3.0, lookback=150, max_leverage=100.0))
    ctx = context_at(panel, history_through(panel, row), row)
    atr = talib_atr_last(panel, row, 150, 14)
    np.testing.assert_allclose(sizer.atr(ctx), atr, rtol=1e-12)
    targets = np.array([1.0, -1.0, 0.5, 0.0])
    units = sizer.target_positions(targets, ctx)
    np.testing.assert_allclose(units, targets * 0.005 * 1e6 / (3.0 * atr), rtol=1e-12)
    # hitting a 3-ATR stop loses risk_per_trade × strength of equity
    np.testing.assert_allclose(np.abs(units * 3.0 * atr), np.abs(targets) * 0.005 * 1e6, rtol=1e-12)


def test_atr_gross_exposure_is_capped(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 250
    ctx = context_at(panel, history_through(panel, row), row)
    raw = AtrSizer(AtrParams(risk_per_trade=0.02, max_leverage=100.0)).target_positions(np.ones(4), ctx)
    assert np.abs(raw * ctx.prices).sum() > 1e6
    capped = AtrSizer(AtrParams(risk_per_trade=0.02)).target_positions(np.ones(4), ctx)
    assert np.abs(capped * ctx.prices).sum() == pytest.approx(1e6)
    np.testing.assert_allclose(capped / raw, np.full(4, capped[0] / raw[0]))


def test_atr_short_history_and_bad_prices(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    early = context_at(panel, history_through(panel, 13), 13)  # 14 rows: 13 true ranges < 14
    assert np.isnan(
        AtrSizer(AtrParams()).target_positions(np.array([1.0, 1.0, 0.0, 1.0]), early)[[0, 1, 3]]
    ).all()
    ctx = context_at(panel, history_through(panel, 200), 200)
    ctx.prices[0] = np.nan
    units = AtrSizer(AtrParams()).target_positions(np.array([1.0, np.nan, 0.0, 1.0]), ctx)
    assert np.isnan(units[:2]).all() and units[2] == 0.0 and np.isfinite(units[3])


def test_atr_lookback_must_hold_a_period() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"lookback \(10\) must be at least period \+ 1 \(15\)"):
        AtrParams(lookback=10)
