"""The ``synthetic`` source: shapes, determinism, OHLC consistency and the statistics it promises."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from ai_trading_sample_data.synthetic import SyntheticParams, SyntheticUniverse, synthetic_panel

from ai_trading_core.enums import Timeframe
from ai_trading_core.protocols import DataSource


def _returns(close: np.ndarray) -> np.ndarray:
    return np.diff(np.log(close), axis=0)


def test_synthetic_satisfies_the_data_source_protocol() -> None:
    assert isinstance(SyntheticUniverse(SyntheticParams(), seed=0), DataSource)


def test_synthetic_shapes_symbols_and_instruments() -> None:
    p = synthetic_panel(SyntheticParams(n_symbols=12, n_bars=300), seed=1)
    assert p.shape == (300, 12)
    assert p.symbols[0] == "SYN000" and p.symbols[-1] == "SYN011"
    assert set(p.instruments) == set(p.symbols)
    for field in ("open", "high", "low", "close", "volume"):
        arr = getattr(p, field)
        assert arr.dtype == np.float64 and arr.shape == (300, 12)
    assert synthetic_panel(SyntheticParams(n_symbols=1500, n_bars=2), seed=1).symbols[-1] == "SYN1499"


def test_synthetic_daily_bars_fall_on_weekdays_from_start() -> None:
    # 2021-01-02 is a Saturday: the first bar is Monday 2021-01-04 at UTC midnight.
    p = synthetic_panel(SyntheticParams(n_symbols=1, n_bars=10, start=date(2021, 1, 2)), seed=0)
    times = [s.time for s in p.slices()]
    assert times[0] == datetime(2021, 1, 4, tzinfo=UTC)
    assert all(t.weekday() < 5 and t.hour == 0 for t in times)
    assert times[5] == datetime(2021, 1, 11, tzinfo=UTC)


def test_synthetic_intraday_bars_are_consecutive() -> None:
    p = synthetic_panel(SyntheticParams(n_symbols=2, n_bars=100, timeframe="5min"), seed=0)
    assert p.timeframe is Timeframe.M5
    assert p.slice_at(0).time == datetime(2010, 1, 4, tzinfo=UTC)
    assert np.all(np.diff(p.timestamps) == 300 * 10**9)


def test_synthetic_same_seed_same_panel_other_seed_other_panel() -> None:
    params = SyntheticParams(n_symbols=5, n_bars=200, correlation=0.4)
    a, b, c = synthetic_panel(params, 7), synthetic_panel(params, 7), synthetic_panel(params, 8)
    for field in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    assert not np.array_equal(a.close, c.close)


@pytest.mark.parametrize("timeframe", ["1m", "1h", "4h", "1d"])
def test_synthetic_ohlc_is_consistent_and_positive(timeframe: str) -> None:
    params = SyntheticParams(n_symbols=20, n_bars=2000, timeframe=timeframe, annual_volatility=0.8)
    p = synthetic_panel(params, seed=3)
    assert np.all(p.low > 0)
    assert np.all(p.low <= np.minimum(p.open, p.close))
    assert np.all(p.high >= np.maximum(p.open, p.close))
    assert np.all(p.volume >= 0) and np.all(np.isfinite(p.volume))


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.8])
def test_synthetic_pairwise_correlation_matches_the_parameter(rho: float) -> None:
    t = 5000
    p = synthetic_panel(SyntheticParams(n_symbols=8, n_bars=t, correlation=rho), seed=11)
    corr = np.corrcoef(_returns(p.close), rowvar=False)
    off = corr[~np.eye(8, dtype=bool)]
    # Standard error of a sample correlation is about (1 - rho**2) / sqrt(T): 0.014 at rho=0.
    tol = 5 * (1 - rho**2) / np.sqrt(t) + 0.005
    assert np.max(np.abs(off - rho)) < tol
    assert abs(off.mean() - rho) < tol / 2


def test_synthetic_annual_volatility_and_drift_match_the_parameters() -> None:
    sigma, mu = 0.25, 0.08
    p = synthetic_panel(
        SyntheticParams(n_symbols=1, n_bars=1_000_000, annual_volatility=sigma, annual_drift=mu), seed=5
    )
    r = _returns(p.close)[:, 0]
    ppy = Timeframe.D1.periods_per_year
    assert abs(r.std(ddof=1) * np.sqrt(ppy) / sigma - 1) < 0.01  # relative SE ~0.07%
    # Mean log return per year is mu - sigma**2/2; its SE is sigma / sqrt(years) ~ 0.004.
    assert abs(r.mean() * ppy - (mu - sigma**2 / 2)) < 0.02


def test_synthetic_intraday_volatility_uses_the_framework_annualisation() -> None:
    p = synthetic_panel(SyntheticParams(n_symbols=4, n_bars=50_000, timeframe="1m", annual_volatility=0.3), 2)
    annualised = _returns(p.close).std(ddof=1, axis=0) * np.sqrt(Timeframe.M1.periods_per_year)
    np.testing.assert_allclose(annualised, 0.3, rtol=0.02)


def test_synthetic_load_filters_an_inclusive_range() -> None:
    src = SyntheticUniverse(SyntheticParams(n_symbols=3, n_bars=50, timeframe="1h"), seed=0)
    full = src.load()
    part = src.load(datetime(2010, 1, 4, 5, tzinfo=UTC), datetime(2010, 1, 4, 9, tzinfo=UTC))
    assert part.shape == (5, 3)
    np.testing.assert_array_equal(part.close, full.close[5:10])
    assert part.instruments == full.instruments


def test_synthetic_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="unknown timeframe '2d'"):
        SyntheticParams(timeframe="2d")
    with pytest.raises(ValueError):
        SyntheticParams(correlation=1.5)
    with pytest.raises(ValueError, match="Extra inputs"):
        SyntheticParams(n_assets=3)  # type: ignore[call-arg]
