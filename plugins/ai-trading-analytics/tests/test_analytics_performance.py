"""PerformanceCalculator against hand-worked examples and independent references (empyrical,
scipy, pandas, plain-Python loops)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from ai_trading_analytics import BENCHMARK_METRICS, RETURN_METRICS, PerformanceCalculator
from ai_trading_analytics.performance import json_number
from scipy.stats import norm

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import ConfigError, DataError

ep = pytest.importorskip("empyrical")

CALC = PerformanceCalculator()
R4 = np.array([0.10, -0.05, 0.02, -0.01])


def _returns(t: int = 756, n: int = 7, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_t(4, size=(t, n)) * 0.01 + rng.normal(0.0004, 0.0002, size=n)


# ----------------------------------------------------------------------- hand-worked
def test_hand_worked_four_bars() -> None:
    # wealth 1.1, 1.045, 1.0659, 1.055241: peak 1.1 at bar 0, never regained.
    assert CALC.total_return(R4) == pytest.approx(1.1 * 0.95 * 1.02 * 0.99 - 1, abs=1e-15)
    assert CALC.cagr(R4) == pytest.approx(1.055241 ** (252 / 4) - 1, rel=1e-12)
    mean, var = 0.015, (0.085**2 + 0.065**2 + 0.005**2 + 0.025**2) / 3
    assert CALC.volatility(R4) == pytest.approx(math.sqrt(var) * math.sqrt(252), rel=1e-12)
    assert CALC.sharpe(R4) == pytest.approx(mean / math.sqrt(var) * math.sqrt(252), rel=1e-12)
    downside = math.sqrt((0.05**2 + 0.01**2) / 4) * math.sqrt(252)
    assert CALC.downside_deviation(R4) == pytest.approx(downside, rel=1e-12)
    assert CALC.sortino(R4) == pytest.approx(mean * 252 / downside, rel=1e-12)
    assert CALC.max_drawdown(R4) == pytest.approx(-0.05, abs=1e-15)
    assert CALC.calmar(R4) == pytest.approx((1.055241**63 - 1) / 0.05, rel=1e-12)
    assert CALC.drawdown_durations(R4) == (3.0, 3.0)
    # sorted -0.05, -0.01, 0.02, 0.10; position 3 * 0.05 = 0.15 between the first two.
    assert CALC.var_historical(R4, 0.05) == pytest.approx(-0.05 + 0.15 * 0.04, abs=1e-15)
    assert CALC.cvar(R4, 0.05) == pytest.approx(-0.05, abs=1e-15)
    assert CALC.var_parametric(R4, 0.05) == pytest.approx(
        mean - 1.6448536269514722 * math.sqrt(var), rel=1e-12
    )


def test_hand_worked_drawdown_durations() -> None:
    # wealth: 1.1 (peak), 0.99, 1.089, 1.1 (recovered), 0.88, 0.968: two episodes.
    r = np.array([0.10, -0.10, 0.10, 1.1 / 1.089 - 1, -0.2, 0.1])
    max_dur, longest = CALC.drawdown_durations(r)
    assert CALC.max_drawdown(r) == pytest.approx(-0.2, rel=1e-12)
    assert max_dur == 2.0  # the -20 % episode: bars 4 and 5, still under water at the end
    assert longest == 2.0  # bars 1-2, and bars 4-5
    r2 = np.array([-0.01, -0.01, -0.01, 0.05, 0.0])
    assert CALC.drawdown_durations(r2) == (3.0, 3.0)  # under water from the start, regained at bar 3


def test_risk_free_rate_is_annual_and_geometric() -> None:
    calc = PerformanceCalculator(risk_free_rate=0.03)
    rf = 1.03 ** (1 / 252) - 1
    assert calc.risk_free_per_bar == pytest.approx(rf, rel=1e-14)
    r = _returns(n=1)[:, 0]
    assert calc.sharpe(r) == pytest.approx(ep.sharpe_ratio(r, risk_free=rf), rel=1e-10)
    assert calc.sortino(r) == pytest.approx(ep.sortino_ratio(r, required_return=rf), rel=1e-10)


def test_for_timeframe_uses_the_bar_length() -> None:
    assert PerformanceCalculator.for_timeframe(Timeframe.D1).periods_per_year == 252.0
    assert PerformanceCalculator.for_timeframe(Timeframe.H1).periods_per_year == pytest.approx(252 * 6.5)


# ----------------------------------------------------------------------- empyrical
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_empyrical_column_by_column(seed: int) -> None:
    r = _returns(seed=seed)
    bench = _returns(n=1, seed=seed + 10)[:, 0]
    m = CALC.compute(r, bench)
    for j in range(r.shape[1]):
        col = r[:, j]
        assert m["total_return"][j] == pytest.approx(ep.cum_returns_final(col), rel=1e-10)
        assert m["cagr"][j] == pytest.approx(ep.annual_return(col), rel=1e-10)
        assert m["volatility"][j] == pytest.approx(ep.annual_volatility(col), rel=1e-10)
        assert m["sharpe"][j] == pytest.approx(ep.sharpe_ratio(col), rel=1e-10)
        assert m["sortino"][j] == pytest.approx(ep.sortino_ratio(col), rel=1e-10)
        assert m["downside_deviation"][j] == pytest.approx(ep.downside_risk(col), rel=1e-10)
        assert m["max_drawdown"][j] == pytest.approx(ep.max_drawdown(col), rel=1e-10)
        assert m["calmar"][j] == pytest.approx(ep.calmar_ratio(col), rel=1e-10)
        assert m["var_95_historical"][j] == pytest.approx(ep.value_at_risk(col, 0.05), rel=1e-10)
        assert m["var_99_historical"][j] == pytest.approx(ep.value_at_risk(col, 0.01), rel=1e-10)
        assert m["cvar_95"][j] == pytest.approx(ep.conditional_value_at_risk(col, 0.05), rel=1e-10)
        assert m["cvar_99"][j] == pytest.approx(ep.conditional_value_at_risk(col, 0.01), rel=1e-10)
        assert m["information_ratio"][j] == pytest.approx(
            ep.excess_sharpe(col, bench) * math.sqrt(252), rel=1e-10
        )


def test_vectorised_matches_empyrical_on_dataframe() -> None:
    r = _returns(t=300, n=80)
    df = pd.DataFrame(r)
    np.testing.assert_allclose(CALC.sharpe(r), np.asarray(ep.sharpe_ratio(df)), rtol=1e-10)
    np.testing.assert_allclose(CALC.sortino(r), np.asarray(ep.sortino_ratio(df)), rtol=1e-10)
    np.testing.assert_allclose(CALC.max_drawdown(r), np.asarray(ep.max_drawdown(df)), rtol=1e-10)
    np.testing.assert_allclose(CALC.volatility(r), np.asarray(ep.annual_volatility(df)), rtol=1e-10)


# ----------------------------------------------------------------------- other references
def test_parametric_var_matches_scipy_norm() -> None:
    r = _returns(n=3)
    for tail in (0.05, 0.01):
        expected = norm.ppf(tail, loc=r.mean(axis=0), scale=r.std(axis=0, ddof=1))
        np.testing.assert_allclose(CALC.var_parametric(r, tail), expected, rtol=1e-10)


@pytest.mark.parametrize("t_len", [1, 2, 3, 5, 19, 20, 21, 99, 100, 101, 257])
def test_historical_var_and_cvar_match_numpy_for_every_length(t_len: int) -> None:
    r = _returns(t=t_len, n=5, seed=t_len)
    m = CALC.compute(r)
    for tail, key in ((0.05, "95"), (0.01, "99")):
        np.testing.assert_allclose(
            m[f"var_{key}_historical"], np.percentile(r, 100 * tail, axis=0), rtol=1e-12
        )
        k = int((t_len - 1) * tail)
        expected = np.sort(r, axis=0)[: k + 1].mean(axis=0)
        np.testing.assert_allclose(m[f"cvar_{key}"], expected, rtol=1e-12)


def test_drawdown_series_matches_pandas_cummax() -> None:
    r = _returns(n=3)
    wealth = pd.DataFrame(np.vstack([np.ones((1, 3)), np.cumprod(1 + r, axis=0)]))
    expected = (wealth / wealth.cummax() - 1).to_numpy()[1:]
    np.testing.assert_allclose(CALC.drawdown_series(r), expected, atol=1e-14)


def _durations_by_loop(col: np.ndarray) -> tuple[float, float]:
    wealth, peak, run, longest = 1.0, 1.0, 0, 0
    episodes: list[tuple[float, int]] = []  # (deepest drawdown, length) per episode
    deepest = 0.0
    for x in col:
        wealth *= 1 + x
        if wealth >= peak:
            if run:
                episodes.append((deepest, run))
            peak, run, deepest = wealth, 0, 0.0
        else:
            run += 1
            deepest = min(deepest, wealth / peak - 1)
            longest = max(longest, run)
    if run:
        episodes.append((deepest, run))
    if not episodes:
        return 0.0, 0.0
    worst = min(episodes, key=lambda e: e[0])  # first episode wins ties, like argmin
    return float(worst[1]), float(longest)


@pytest.mark.parametrize("n", [1, 3, 100])  # narrow (numpy accumulate) and wide (row loop) paths
def test_drawdown_durations_match_a_plain_loop(n: int) -> None:
    r = _returns(t=500, n=n, seed=n)
    max_dur, longest = CALC.drawdown_durations(r)
    for j in range(n):
        assert (np.atleast_1d(max_dur)[j], np.atleast_1d(longest)[j]) == _durations_by_loop(r[:, j])


def test_wide_and_narrow_paths_agree() -> None:
    r = _returns(t=400, n=100)
    wide = CALC.compute(r)
    for j in (0, 57, 99):
        narrow = CALC.compute(r[:, j])
        for key, value in narrow.items():
            assert wide[key][j] == pytest.approx(value, rel=1e-12, abs=1e-15), key


def test_compute_equals_the_single_metric_methods() -> None:
    r = _returns()
    b = _returns(n=1, seed=9)[:, 0]
    m = CALC.compute(r, b)
    assert set(m) == set(RETURN_METRICS) | set(BENCHMARK_METRICS)
    np.testing.assert_allclose(m["sharpe"], CALC.sharpe(r), rtol=1e-12)
    np.testing.assert_allclose(m["sortino"], CALC.sortino(r), rtol=1e-12)
    np.testing.assert_allclose(m["calmar"], CALC.calmar(r), rtol=1e-12)
    np.testing.assert_allclose(m["var_95_historical"], CALC.var_historical(r), rtol=1e-12)
    np.testing.assert_allclose(m["var_99_parametric"], CALC.var_parametric(r, 0.01), rtol=1e-12)
    np.testing.assert_allclose(m["cvar_99"], CALC.cvar(r, 0.01), rtol=1e-12)
    np.testing.assert_allclose(m["information_ratio"], CALC.information_ratio(r, b), rtol=1e-12)
    np.testing.assert_allclose(m["tracking_error"], CALC.tracking_error(r, b), rtol=1e-12)


def test_returns_from_equity() -> None:
    eq = np.array([100.0, 110.0, 99.0])
    np.testing.assert_allclose(CALC.returns_from_equity(eq), [0.10, -0.10])
    np.testing.assert_allclose(CALC.returns_from_equity(eq, initial=100.0), [0.0, 0.10, -0.10])
    # Equity wiped out: afterwards nothing is left to gain or lose.
    np.testing.assert_allclose(
        CALC.returns_from_equity(np.array([50.0, 0.0, 0.0, 10.0]), initial=100.0), [-0.5, -1.0, 0.0, 0.0]
    )
    two_d = CALC.returns_from_equity(np.array([[100.0, 50.0], [101.0, 49.0]]))
    np.testing.assert_allclose(two_d, [[0.01, -0.02]])


# ----------------------------------------------------------------------- edge cases
def test_empty_series_has_defined_values() -> None:
    m = CALC.compute(np.array([]))
    assert m["total_return"] == 0.0
    assert m["max_drawdown"] == 0.0
    assert m["max_drawdown_duration_bars"] == 0.0
    assert all(
        math.isnan(m[k]) for k in ("cagr", "volatility", "sharpe", "sortino", "var_95_historical", "cvar_95")
    )


def test_one_bar() -> None:
    m = CALC.compute(np.array([0.01]), np.array([0.0]))
    assert m["total_return"] == pytest.approx(0.01)
    assert m["cagr"] == pytest.approx(1.01**252 - 1)
    assert m["var_95_historical"] == pytest.approx(0.01)
    assert m["cvar_95"] == pytest.approx(0.01)
    assert all(
        math.isnan(m[k])
        for k in ("volatility", "sharpe", "sortino", "var_95_parametric", "information_ratio")
    )
    assert math.isnan(m["calmar"])  # no drawdown


def test_flat_series_ratios_are_undefined_not_huge() -> None:
    m = CALC.compute(np.zeros(50))
    assert m["volatility"] == 0.0 and m["max_drawdown"] == 0.0 and m["total_return"] == 0.0
    assert m["cagr"] == 0.0
    assert all(math.isnan(m[k]) for k in ("sharpe", "sortino", "calmar"))
    # A constant non-zero return: the float mean leaves a residue, the std must still be 0.
    m = CALC.compute(np.full(50, 0.001))
    assert m["volatility"] == 0.0 and math.isnan(m["sharpe"])
    assert math.isnan(m["sortino"])  # no bar below the risk-free rate


def test_all_losses() -> None:
    r = np.full(20, -0.01)
    r[::2] = -0.02
    m = CALC.compute(r)
    assert m["max_drawdown"] == pytest.approx(CALC.total_return(r))
    assert m["max_drawdown_duration_bars"] == 20.0
    assert m["sharpe"] < 0 and m["sortino"] < 0 and m["calmar"] < 0
    assert m["sortino"] == pytest.approx(ep.sortino_ratio(r), rel=1e-12)
    total_wipeout = CALC.compute(np.array([-0.5, -1.0, 0.0]))
    assert total_wipeout["cagr"] == -1.0 and total_wipeout["max_drawdown"] == -1.0


def test_json_number() -> None:
    assert (
        json_number(float("nan")) is None and json_number(float("inf")) is None and json_number(None) is None
    )
    assert json_number(np.float64(0.5)) == 0.5 and json_number(np.int64(3)) == 3


def test_bad_input_raises_typed_errors() -> None:
    with pytest.raises(DataError, match="NaN"):
        CALC.compute(np.array([0.01, np.nan]))
    with pytest.raises(DataError, match="1-D"):
        CALC.sharpe(np.zeros((2, 2, 2)))
    with pytest.raises(DataError, match="align"):
        CALC.information_ratio(np.zeros(5), np.zeros(4))
    with pytest.raises(ConfigError):
        PerformanceCalculator(periods_per_year=0)
    with pytest.raises(ConfigError):
        PerformanceCalculator(risk_free_rate=float("nan"))
    with pytest.raises(ConfigError):
        CALC.var_historical(R4, tail=1.5)
