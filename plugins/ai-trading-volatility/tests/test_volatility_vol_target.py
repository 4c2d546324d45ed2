"""The ``vol_target`` sizer: EWMA and GARCH(1,1) volatility targeting."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from ai_trading_volatility import VolTargetParams, VolTargetSizer
from ai_trading_volatility.garch import fit_garch
from arch import arch_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_trading_core.market import BarPanel, History
from ai_trading_core.protocols import PositionSizer, SizingContext

ContextAt = Callable[..., SizingContext]
HistoryThrough = Callable[..., History]


def pandas_ewma_vol(panel: BarPanel, row: int, lookback: int, lam: float) -> np.ndarray:
    closes = pd.DataFrame(panel.close[row - lookback : row + 1])
    r2 = np.log(closes).diff().iloc[1:] ** 2
    return np.sqrt(r2.ewm(alpha=1 - lam, adjust=True).mean().iloc[-1].to_numpy() * 252.0)


def test_vol_target_satisfies_the_protocol() -> None:
    assert isinstance(VolTargetSizer(VolTargetParams()), PositionSizer)


def test_units_are_strength_times_vol_scale_times_weighted_equity_over_price(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 300
    sizer = VolTargetSizer(VolTargetParams(target_vol=0.15, lookback=250, max_leverage=10.0))
    ctx = context_at(panel, history_through(panel, row), row)
    targets = np.array([1.0, -0.5, 0.25, 0.0])
    vol = pandas_ewma_vol(panel, row, 250, 0.94)
    expected = targets * (0.15 / vol) * (1e6 / 4) / panel.close[row]
    units = sizer.target_positions(targets, ctx)
    np.testing.assert_allclose(units, expected, rtol=1e-10)
    assert units[3] == 0.0
    # realised volatility of V0 (1 %/bar ≈ 16 % a year) is the lowest: its position is the largest
    notional = np.abs(units * panel.close[row]) / np.abs(np.where(targets == 0, 1, targets))
    assert notional[0] > notional[1] > notional[2]


def test_halflife_and_explicit_weight(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 320
    sizer = VolTargetSizer(
        VolTargetParams(target_vol=0.1, halflife=20, lookback=300, weight=0.1, max_leverage=10)
    )
    ctx = context_at(panel, history_through(panel, row), row)
    vol = pandas_ewma_vol(panel, row, 300, 0.5 ** (1 / 20))
    units = sizer.target_positions(np.ones(4), ctx)
    np.testing.assert_allclose(units, (0.1 / vol) * 1e6 * 0.1 / panel.close[row], rtol=1e-10)


def test_per_position_scale_is_capped_at_max_leverage(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 300
    # target 200 % a year against 16-64 % realised: every scale is capped at 1.5
    sizer = VolTargetSizer(VolTargetParams(target_vol=2.0, max_leverage=1.5, weight=0.25))
    ctx = context_at(panel, history_through(panel, row), row)
    units = sizer.target_positions(np.array([1.0, 0.0, 0.0, 0.0]), ctx)
    assert units[0] * panel.close[row, 0] == pytest.approx(1.5 * 0.25 * 1e6)


def test_gross_exposure_is_capped_at_max_leverage(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 300
    # per-position scales 0.2 / (0.16 .. 0.64) stay under 2; the book (≈ 2.3 × equity) does not
    sizer = VolTargetSizer(VolTargetParams(target_vol=0.2, max_leverage=2.0, weight=1.0))
    ctx = context_at(panel, history_through(panel, row), row)
    targets = np.array([1.0, -1.0, 0.7, -0.2])
    units = sizer.target_positions(targets, ctx)
    gross = np.abs(units * panel.close[row]).sum()
    assert gross == pytest.approx(2.0 * 1e6)
    uncapped = VolTargetSizer(VolTargetParams(target_vol=0.2, max_leverage=1e6, weight=1.0))
    raw = uncapped.target_positions(targets, ctx)
    assert np.abs(raw * panel.close[row]).sum() > 2.0 * 1e6  # the cap did bind
    np.testing.assert_allclose(units / raw, np.full(4, units[0] / raw[0]))  # one common factor
    assert np.sign(units).tolist() == np.sign(targets).tolist()


def test_nan_price_or_strength_keeps_the_position_and_zero_strength_is_flat(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 300
    ctx = context_at(panel, history_through(panel, row), row)
    ctx.prices[1] = np.nan
    ctx.prices[2] = 0.0
    units = VolTargetSizer(VolTargetParams()).target_positions(np.array([np.nan, 1.0, 1.0, 0.0]), ctx)
    assert np.isnan(units[:3]).all() and units[3] == 0.0


def test_too_little_history_gives_nan_except_for_flat_targets(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 10  # 10 returns < min_periods 20
    ctx = context_at(panel, history_through(panel, row), row)
    units = VolTargetSizer(VolTargetParams()).target_positions(np.array([1.0, -1.0, 0.0, np.nan]), ctx)
    assert np.isnan(units[[0, 1, 3]]).all() and units[2] == 0.0


def test_garch_forecast_rolls_forward_exactly_as_arch_with_fixed_parameters(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    start, lookback = 250, 200
    sizer = VolTargetSizer(
        VolTargetParams(
            estimator="garch", lookback=lookback, refit_every=10, target_vol=0.1, max_leverage=100
        )
    )
    history = history_through(panel, start)
    sizer.target_positions(np.ones(4), context_at(panel, history, start))
    garch = sizer._garch
    assert garch is not None and garch.fits == 1
    r = np.diff(np.log(panel.close), axis=0)  # r[t-1] is the return into row t
    fit_window = r[start - lookback : start]
    for j in range(4):
        fitted = fit_garch(fit_window[:, j])
        assert fitted is not None
        assert garch.omega[j] == pytest.approx(fitted[0]) and garch.beta[j] == pytest.approx(fitted[2])
    for row in range(start + 1, start + 6):  # five bars of rolling, no refit
        history.push(panel.slice_at(row))
        units = sizer.target_positions(np.ones(4), context_at(panel, history, row))
    assert garch.fits == 1
    for j in range(4):
        params = pd.Series(
            {"omega": garch.omega[j] * 1e4, "alpha[1]": garch.alpha[j], "beta[1]": garch.beta[j]}
        )
        model = arch_model(
            r[start - lookback : start + 5, j] * 100, mean="Zero", vol="GARCH", p=1, q=1, rescale=False
        )
        fixed = model.fix(params)
        # arch re-initialises the recursion with the backcast over the longer sample; the
        # forecasts agree to the weight β^(T) that the initial variance still has.
        ref = fixed.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0] / 1e4
        assert garch.variance[j] == pytest.approx(ref, rel=1e-6)
    vol = np.sqrt(garch.variance * 252)
    np.testing.assert_allclose(units, (0.1 / vol) * 1e6 / 4 / panel.close[start + 5], rtol=1e-12)


def test_garch_refits_every_refit_every_bars_and_not_twice_on_one_bar(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    start = 150
    sizer = VolTargetSizer(VolTargetParams(estimator="garch", lookback=120, refit_every=5))
    history = history_through(panel, start)
    sizer.target_positions(np.ones(4), context_at(panel, history, start))
    fits = []
    for row in range(start + 1, start + 13):
        history.push(panel.slice_at(row))
        ctx = context_at(panel, history, row)
        first = sizer.target_positions(np.ones(4), ctx)
        again = sizer.target_positions(np.ones(4), ctx)  # same bar: no second roll
        np.testing.assert_array_equal(first, again)
        assert sizer._garch is not None
        fits.append(sizer._garch.fits)
    assert fits == [1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3]  # refits at bars 5 and 10 after the first


def test_garch_without_enough_returns_gives_nan(
    panel: BarPanel, context_at: ContextAt, history_through: HistoryThrough
) -> None:
    row = 50  # 50 returns < garch_min_obs 100
    sizer = VolTargetSizer(VolTargetParams(estimator="garch"))
    units = sizer.target_positions(np.ones(4), context_at(panel, history_through(panel, row), row))
    assert np.isnan(units).all()


# subnormal strengths underflow to a zero position: not a sizing question
STRENGTH = st.floats(-1.0, 1.0).filter(lambda x: x == 0.0 or abs(x) > 1e-12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    strengths=st.lists(STRENGTH, min_size=4, max_size=4),
    target_vol=st.floats(0.01, 5.0),
    max_leverage=st.floats(0.1, 5.0),
    weight=st.none() | st.floats(0.01, 2.0),
)
def test_leverage_caps_hold_for_any_targets(
    panel: BarPanel,
    context_at: ContextAt,
    history_through: HistoryThrough,
    strengths: list[float],
    target_vol: float,
    max_leverage: float,
    weight: float | None,
) -> None:
    row = 300
    sizer = VolTargetSizer(VolTargetParams(target_vol=target_vol, max_leverage=max_leverage, weight=weight))
    ctx = context_at(panel, history_through(panel, row), row)
    targets = np.array(strengths)
    notional = sizer.target_positions(targets, ctx) * ctx.prices
    assert np.abs(notional).sum() <= max_leverage * 1e6 * (1 + 1e-12)
    per_symbol_cap = max_leverage * 1e6 * (weight if weight is not None else 0.25) * np.abs(targets)
    assert (np.abs(notional) <= per_symbol_cap * (1 + 1e-12)).all()
    assert (np.sign(notional) == np.sign(targets)).all()
