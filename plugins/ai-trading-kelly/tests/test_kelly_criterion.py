"""Kelly fraction closed forms, estimation from closed trades, and scaling."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from ai_trading_kelly import KellyCriterion, estimate_edge, kelly_fraction
from hypothesis import given
from hypothesis import strategies as st

from ai_trading_core.errors import ConfigError, DataError
from ai_trading_core.models import Signal, StrategyPerformance

T0 = datetime(2024, 1, 2, tzinfo=UTC)


def signal(confidence: float = 1.0, strategy_id: str = "s1") -> Signal:
    return Signal(strategy_id=strategy_id, symbol="AAA", timestamp=T0, strength=1.0, confidence=confidence)


def perf(returns: list[float], strategy_id: str = "s1") -> StrategyPerformance:
    return StrategyPerformance(strategy_id=strategy_id, trade_returns=returns)


# ----------------------------------------------------------------------- closed forms
@pytest.mark.parametrize(
    ("p", "b", "expected"),
    [
        (0.6, 1.0, 0.2),  # even money, 60 % wins
        (0.5, 2.0, 0.25),  # 2:1 payoff, coin flip
        (0.4, 1.0, 0.0),  # negative edge: 0.4 - 0.6 < 0
        (0.5, 1.0, 0.0),  # zero edge
        (1.0, 3.0, 1.0),  # certain win: stake everything
        (0.0, 5.0, 0.0),
        (0.3, math.inf, 0.3),  # b -> inf: f* -> p
        (0.6, 0.0, 0.0),  # b <= 0 undefined
        (0.6, -1.0, 0.0),
        (0.6, math.nan, 0.0),
    ],
)
def test_kelly_fraction_closed_forms(p: float, b: float, expected: float) -> None:
    assert kelly_fraction(p, b) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("p", [-0.01, 1.01, math.nan, math.inf])
def test_kelly_fraction_rejects_probability_outside_unit_interval(p: float) -> None:
    with pytest.raises(ValueError, match=r"win_probability must be a fraction in \[0, 1\]"):
        kelly_fraction(p, 1.0)


# ----------------------------------------------------------------------- estimation
def test_edge_estimated_by_hand_from_a_trade_list() -> None:
    # wins 0.02, 0.03, 0.01 (mean 0.02); losses -0.01, -0.02 (mean -0.015); one breakeven.
    # p = 3/5 = 0.6, b = 0.02 / 0.015 = 4/3, f* = 0.6 - 0.4 / (4/3) = 0.3
    edge = estimate_edge([0.02, -0.01, 0.03, -0.02, 0.01, 0.0], lookback=252)
    assert (edge.trades, edge.wins, edge.losses) == (6, 3, 2)
    assert edge.win_probability == pytest.approx(0.6)
    assert edge.payoff_ratio == pytest.approx(4 / 3)
    assert edge.full_kelly == pytest.approx(0.3)


def test_lookback_counts_the_most_recent_closed_trades() -> None:
    old = [-0.5] * 10  # outside the window: must not matter
    recent = [0.02, -0.01, 0.03, -0.02, 0.01, 0.0]
    edge = estimate_edge(old + recent, lookback=6)
    assert edge.trades == 6 and edge.losses == 2
    assert edge.full_kelly == pytest.approx(0.3)


def test_breakeven_trades_do_not_change_the_optimum_of_the_two_outcome_bet() -> None:
    # Exact optimum of p·ln(1+f·b) + q·ln(1-f) + r·ln(1) is independent of r once p, q are
    # renormalised; a numerical maximisation agrees with f* = 0.3 from the trade list above.
    from scipy.optimize import minimize_scalar

    p, q, b = 3 / 6, 2 / 6, 4 / 3
    res = minimize_scalar(
        lambda f: -(p * math.log1p(f * b) + q * math.log1p(-f)),
        bounds=(0, 0.99),
        method="bounded",
        options={"xatol": 1e-12},
    )
    assert res.x == pytest.approx(0.3, abs=1e-7)


def test_non_finite_trade_return_is_a_data_error() -> None:
    with pytest.raises(DataError, match="not finite"):
        estimate_edge([0.01, math.nan, -0.01], lookback=10)


def test_degenerate_histories_give_zero() -> None:
    kc = KellyCriterion(lookback_periods=50, fraction=1.0, max_fraction=1.0, min_trades=5)
    assert kc.calculate_kelly_fraction("s1", signal(), perf([0.01] * 30)) == 0.0  # no loss: b unknown
    assert kc.calculate_kelly_fraction("s1", signal(), perf([-0.01] * 30)) == 0.0  # no win
    assert kc.calculate_kelly_fraction("s1", signal(), perf([0.0] * 30)) == 0.0  # only breakevens
    assert (
        kc.calculate_kelly_fraction("s1", signal(), perf([0.02, -0.01, 0.02, -0.01])) == 0.0
    )  # 4 < min_trades
    assert kc.calculate_kelly_fraction("s1", signal(), {}) == 0.0  # no record at all
    assert kc.calculate_kelly_fraction("s1", signal(), perf([0.01, -0.02] * 10)) == 0.0  # negative edge


def test_min_trades_counts_trades_in_the_window() -> None:
    kc = KellyCriterion(lookback_periods=10, fraction=1.0, max_fraction=1.0, min_trades=10)
    history = [0.02, -0.01] * 5  # exactly 10 trades: p = 0.5, b = 2 -> 0.25
    assert kc.calculate_kelly_fraction("s1", signal(), perf(history)) == pytest.approx(0.25)
    assert kc.calculate_kelly_fraction("s1", signal(), perf(history[1:])) == 0.0


# ----------------------------------------------------------------------- scaling
EVEN_MONEY_60 = [0.01, 0.01, 0.01, -0.01, -0.01] * 4  # p = 0.6, b = 1 -> f* = 0.2


def test_confidence_fraction_and_cap_scale_the_fraction() -> None:
    full = KellyCriterion(lookback_periods=100, fraction=1.0, max_fraction=1.0, min_trades=20)
    assert full.calculate_kelly_fraction("s1", signal(), perf(EVEN_MONEY_60)) == pytest.approx(0.2)
    assert full.calculate_kelly_fraction("s1", signal(0.5), perf(EVEN_MONEY_60)) == pytest.approx(0.1)
    half = KellyCriterion(lookback_periods=100, fraction=0.5, max_fraction=1.0, min_trades=20)
    assert half.calculate_kelly_fraction("s1", signal(0.5), perf(EVEN_MONEY_60)) == pytest.approx(0.05)
    capped = KellyCriterion(lookback_periods=100, fraction=1.0, max_fraction=0.15, min_trades=20)
    assert capped.calculate_kelly_fraction("s1", signal(), perf(EVEN_MONEY_60)) == pytest.approx(0.15)
    # the cap applies after confidence: 0.2 × 0.5 = 0.1 is under the 0.15 cap
    assert capped.calculate_kelly_fraction("s1", signal(0.5), perf(EVEN_MONEY_60)) == pytest.approx(0.1)
    assert full.calculate_kelly_fraction("s1", signal(0.0), perf(EVEN_MONEY_60)) == 0.0


def test_defaults_are_half_kelly_capped_at_a_quarter() -> None:
    kc = KellyCriterion()
    assert (kc.lookback_periods, kc.fraction, kc.max_fraction, kc.min_trades) == (252, 0.5, 0.25, 20)
    assert kc.calculate_kelly_fraction("s1", signal(), perf(EVEN_MONEY_60)) == pytest.approx(0.1)
    # p = 0.8, b = 1 -> f* = 0.6, half = 0.3, capped at 0.25
    assert kc.calculate_kelly_fraction("s1", signal(), perf([0.01] * 16 + [-0.01] * 4)) == pytest.approx(0.25)


def test_performance_mapping_is_looked_up_by_strategy_id() -> None:
    kc = KellyCriterion(lookback_periods=100, fraction=1.0, max_fraction=1.0, min_trades=20)
    records = {"s1": perf(EVEN_MONEY_60), "s2": perf([0.01, -0.01] * 10, "s2")}
    assert kc.calculate_kelly_fraction("s1", signal(), records) == pytest.approx(0.2)
    assert kc.calculate_kelly_fraction("s2", signal(), records) == 0.0


def test_record_of_another_strategy_is_refused() -> None:
    with pytest.raises(ConfigError, match="strategy 's2'"):
        KellyCriterion().calculate_kelly_fraction("s1", signal(), perf(EVEN_MONEY_60, "s2"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fraction": 0.0}, "fraction"),
        ({"max_fraction": 1.5}, "max_fraction"),
        ({"lookback_periods": 10, "min_trades": 20}, "min_trades .20. exceeds lookback_periods .10."),
    ],
)
def test_bad_parameters_raise_config_error(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        KellyCriterion(**kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------- properties
returns_lists = st.lists(
    st.floats(min_value=-1.0, max_value=5.0, allow_nan=False, allow_infinity=False), min_size=0, max_size=80
)


@given(
    returns=returns_lists,
    confidence=st.floats(min_value=0.0, max_value=1.0),
    fraction=st.floats(min_value=0.01, max_value=1.0),
    cap=st.floats(min_value=0.01, max_value=1.0),
)
def test_sized_fraction_stays_between_zero_and_the_cap(
    returns: list[float], confidence: float, fraction: float, cap: float
) -> None:
    kc = KellyCriterion(lookback_periods=60, fraction=fraction, max_fraction=cap, min_trades=5)
    f = kc.calculate_kelly_fraction("s1", signal(confidence), perf(returns))
    assert 0.0 <= f <= cap


@given(
    p1=st.floats(min_value=0.0, max_value=1.0),
    p2=st.floats(min_value=0.0, max_value=1.0),
    b=st.floats(min_value=1e-6, max_value=1e6),
)
def test_kelly_fraction_is_monotone_in_win_probability(p1: float, p2: float, b: float) -> None:
    lo, hi = sorted((p1, p2))
    assert kelly_fraction(lo, b) <= kelly_fraction(hi, b)
    assert 0.0 <= kelly_fraction(hi, b) <= hi


@given(
    p=st.floats(min_value=0.0, max_value=1.0),
    b1=st.floats(min_value=1e-6, max_value=1e6),
    b2=st.floats(min_value=1e-6, max_value=1e6),
)
def test_kelly_fraction_is_monotone_in_payoff_ratio(p: float, b1: float, b2: float) -> None:
    lo, hi = sorted((b1, b2))
    assert kelly_fraction(p, lo) <= kelly_fraction(p, hi)


@given(wins=st.integers(1, 40), losses=st.integers(1, 40), extra_win=st.integers(1, 10))
def test_estimated_fraction_grows_with_more_winning_trades(wins: int, losses: int, extra_win: int) -> None:
    kc = KellyCriterion(lookback_periods=200, fraction=1.0, max_fraction=1.0, min_trades=1)
    base = [0.02] * wins + [-0.01] * losses
    more = [0.02] * (wins + extra_win) + [-0.01] * losses
    assert kc.calculate_kelly_fraction("s1", signal(), perf(base)) <= kc.calculate_kelly_fraction(
        "s1", signal(), perf(more)
    )
