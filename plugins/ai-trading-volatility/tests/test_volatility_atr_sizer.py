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


def test_atr_sizer_by_hand_with_a_gap() -> None:
    """Six bars worked by hand with exact fractions: the gap up at bar 2 makes the true range
    the distance from the previous close (1.8), not the bar's own range (1.0)."""
    from fractions import Fraction as F

    from ai_trading_core.enums import Timeframe
    from ai_trading_core.market import MarketSlice

    bars = [  # high, low, close
        (10.0, 9.0, 9.5),
        (10.5, 9.8, 10.2),  # TR = max(0.7, |10.5 - 9.5|, |9.8 - 9.5|) = 1.0
        (12.0, 11.0, 11.5),  # TR = max(1.0, |12 - 10.2|, |11 - 10.2|) = 1.8: the gap
        (11.6, 10.9, 11.0),  # TR = max(0.7, 0.1, 0.6) = 0.7
        (11.2, 9.9, 10.0),  # TR = max(1.3, 0.2, 1.1) = 1.3
        (10.4, 9.6, 10.3),  # TR = max(0.8, 0.4, 0.4) = 0.8
    ]
    seed = (F(10, 10) + F(18, 10) + F(7, 10)) / 3  # 7/6, mean of the first 3 true ranges
    atr = seed + (F(13, 10) - seed) / 3  # 109/90
    atr = atr + (F(8, 10) - atr) / 3  # 29/27
    assert atr == F(29, 27)
    history = History(6, 1)
    for t, (h, lo, c) in enumerate(bars):
        a = lambda x: np.array([x])  # noqa: E731
        history.push(MarketSlice(t * 86_400 * 10**9, ("X",), a(c), a(h), a(lo), a(c), a(1_000.0)))
    ctx = SizingContext(
        timestamp=5 * 86_400 * 10**9,
        symbols=("X",),
        prices=np.array([10.3]),
        equity=100_000.0,
        cash=100_000.0,
        positions=np.zeros(1),
        history=history,
        instruments=[],
        timeframe=Timeframe.D1,
    )
    sizer = AtrSizer(AtrParams(risk_per_trade=0.01, atr_multiple=2.0, period=3, lookback=6, max_leverage=10.0))
    assert sizer.atr(ctx)[0] == pytest.approx(float(atr), rel=1e-14)
    # units = strength × 1 % × 100,000 / (2 × 29/27) = strength × 27,000 / 58
    for strength in (1.0, -0.5):
        units = sizer.target_positions(np.array([strength]), ctx)[0]
        assert units == pytest.approx(float(F(strength) * 27_000 / 58), rel=1e-14)
