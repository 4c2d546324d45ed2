"""The ``risk_parity`` sizer: who gets weight, how much, and when it re-allocates."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from ai_trading_volatility import (
    RiskParityParams,
    RiskParitySizer,
    inverse_vol_weights,
    ledoit_wolf,
    log_returns,
    risk_contributions,
)

from ai_trading_core.market import BarPanel, History
from ai_trading_core.protocols import PositionSizer, SizingContext

ContextAt = Callable[..., SizingContext]
HistoryThrough = Callable[..., History]


def shrunk_cov(panel: BarPanel, row: int, lookback: int, cols: list[int]) -> np.ndarray:
    r = log_returns(panel.close[row - lookback : row + 1])[:, cols]
    return ledoit_wolf(r)[0]


def test_risk_parity_satisfies_the_protocol() -> None:
    assert isinstance(RiskParitySizer(RiskParityParams()), PositionSizer)


def test_erc_equalises_risk_of_the_signed_active_book(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 300
    sizer = RiskParitySizer(RiskParityParams(method="erc", lookback=126, gross=1.5))
    ctx = context_at(panel, history_through(panel, row), row)
    targets = np.array([0.3, -1.0, 0.0, 0.8])  # V2 inactive; magnitudes ignored
    units = sizer.target_positions(targets, ctx)
    assert units[2] == 0.0
    assert np.sign(units[[0, 1, 3]]).tolist() == [1.0, -1.0, 1.0]
    notional = units * panel.close[row]
    assert np.abs(notional).sum() == pytest.approx(1.5e6)
    cov = shrunk_cov(panel, row, 126, [0, 1, 3])
    rc = risk_contributions(notional[[0, 1, 3]], cov)
    np.testing.assert_allclose(rc, np.full(3, 1 / 3), atol=1e-8)


def test_inverse_vol_weights_from_the_shrunk_covariance(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 300
    sizer = RiskParitySizer(RiskParityParams(method="inverse_vol", lookback=100, min_periods=50))
    ctx = context_at(panel, history_through(panel, row), row)
    units = sizer.target_positions(np.array([1.0, 1.0, -0.1, 1.0]), ctx)
    w = inverse_vol_weights(shrunk_cov(panel, row, 100, [0, 1, 2, 3]))
    np.testing.assert_allclose(units * panel.close[row], np.array([1, 1, -1, 1]) * w * 1e6, rtol=1e-12)
    assert w[0] > w[1] > w[2] > w[3]  # 1 % to 4 % per-bar volatility


def test_units_are_held_between_rebalances_and_reallocated_on_schedule(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    start = 200
    sizer = RiskParitySizer(RiskParityParams(rebalance_every=5))
    history = history_through(panel, start)
    targets = np.array([1.0, 1.0, 1.0, 1.0])
    first = sizer.target_positions(targets, context_at(panel, history, start))
    held = []
    for row in range(start + 1, start + 6):
        history.push(panel.slice_at(row))
        held.append(sizer.target_positions(targets, context_at(panel, history, row)))
    for units in held[:4]:
        np.testing.assert_array_equal(units, first)  # prices moved, units did not
    fresh = RiskParitySizer(RiskParityParams()).target_positions(
        targets, context_at(panel, history, start + 5)
    )
    np.testing.assert_allclose(held[4], fresh)  # 5th bar: re-allocated from current data


def test_entry_exit_or_flip_reallocates_at_once(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 250
    history = history_through(panel, row)
    ctx = context_at(panel, history, row)
    sizer = RiskParitySizer(RiskParityParams(rebalance_every=100))
    both = sizer.target_positions(np.array([1.0, 1.0, 0.0, 0.0]), ctx)
    flipped = sizer.target_positions(np.array([1.0, -1.0, 0.0, 0.0]), ctx)
    assert flipped[1] < 0 < both[1]
    alone = sizer.target_positions(np.array([1.0, 0.0, 0.0, 0.0]), ctx)
    assert alone[1] == 0.0 and alone[0] * ctx.prices[0] == pytest.approx(1e6)  # all weight on the survivor
    # same directions, different magnitudes: no re-allocation
    np.testing.assert_array_equal(sizer.target_positions(np.array([0.2, 0.0, 0.0, 0.0]), ctx), alone)


def test_nan_price_or_strength_keeps_and_is_excluded(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 250
    ctx = context_at(panel, history_through(panel, row), row)
    ctx.prices[0] = np.nan
    units = RiskParitySizer(RiskParityParams()).target_positions(np.array([1.0, np.nan, 1.0, 1.0]), ctx)
    assert np.isnan(units[:2]).all()
    assert np.abs(units[2:] * ctx.prices[2:]).sum() == pytest.approx(1e6)  # the rest is fully allocated


def test_too_little_history_keeps_positions_until_enough(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 30  # 30 returns < min_periods 60
    history = history_through(panel, row)
    sizer = RiskParitySizer(RiskParityParams(rebalance_every=1000))
    units = sizer.target_positions(np.array([1.0, -1.0, 0.0, 0.0]), context_at(panel, history, row))
    assert np.isnan(units[:2]).all() and (units[2:] == 0.0).all()
    for r in range(row + 1, 61):
        history.push(panel.slice_at(r))
    ready = sizer.target_positions(np.array([1.0, -1.0, 0.0, 0.0]), context_at(panel, history, 60))
    assert np.isfinite(ready).all()  # unsized symbols force a re-allocation despite the schedule


def test_late_listed_symbol_does_not_block_the_others(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    close = panel.close.copy()
    close[:250, 3] = np.nan
    late = BarPanel(
        symbols=panel.symbols,
        timestamps=panel.timestamps,
        open=panel.open,
        high=panel.high,
        low=panel.low,
        close=close,
        volume=panel.volume,
    )
    row = 280
    units = RiskParitySizer(RiskParityParams()).target_positions(
        np.ones(4), context_at(late, history_through(late, row), row)
    )
    assert np.isnan(units[3]) and np.isfinite(units[:3]).all()
