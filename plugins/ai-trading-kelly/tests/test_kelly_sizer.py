"""The ``kelly`` sizer: attribution to strategies, confidence, edge cases, registration."""

from __future__ import annotations

import numpy as np
import pytest
from ai_trading_kelly import KellyParams, KellySizer
from hypothesis import given
from hypothesis import strategies as st

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import History
from ai_trading_core.models import Instrument, StrategyPerformance
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.protocols import PositionSizer, SizingContext
from ai_trading_core.registry import BuildContext

SYMBOLS = ("AAA", "BBB", "CCC")
EVEN_MONEY_60 = [0.01, 0.01, 0.01, -0.01, -0.01] * 4  # p = 0.6, b = 1 -> f* = 0.2
TWO_TO_ONE_50 = [0.02, -0.01] * 10  # p = 0.5, b = 2 -> f* = 0.25
NO_EDGE = [0.01, -0.01] * 10


def context(
    prices: list[float],
    strategy_targets: dict[str, list[float]] | None = None,
    performance: dict[str, list[float]] | None = None,
    confidence: list[float] | None = None,
    equity: float = 100_000.0,
) -> SizingContext:
    n = len(prices)
    return SizingContext(
        timestamp=0,
        symbols=SYMBOLS[:n],
        prices=np.array(prices, dtype=float),
        equity=equity,
        cash=equity,
        positions=np.zeros(n),
        history=History(1, n),
        instruments=[Instrument(symbol=s) for s in SYMBOLS[:n]],
        timeframe=Timeframe.D1,
        strategy_targets={k: np.array(v, dtype=float) for k, v in (strategy_targets or {}).items()},
        performance={
            k: StrategyPerformance(strategy_id=k, trade_returns=v) for k, v in (performance or {}).items()
        },
        confidence=None if confidence is None else np.array(confidence, dtype=float),
    )


def sizer(**kw: float) -> KellySizer:
    params = {"lookback_periods": 100, "fraction": 1.0, "max_fraction": 1.0, "min_trades": 20, **kw}
    return KellySizer(KellyParams(**params))


def test_kelly_sizer_satisfies_the_protocol() -> None:
    assert isinstance(sizer(), PositionSizer)


def test_single_strategy_units_are_strength_times_kelly_times_equity_over_price() -> None:
    ctx = context([100.0, 50.0, 20.0], {"s1": [1.0, -0.5, 0.0]}, {"s1": EVEN_MONEY_60})
    units = sizer().target_positions(np.array([1.0, -0.5, 0.0]), ctx)
    # f* = 0.2: AAA 1 × 0.2 × 100k / 100 = 200; BBB -0.5 × 0.2 × 100k / 50 = -200; CCC flat
    np.testing.assert_allclose(units, [200.0, -200.0, 0.0])


def test_fraction_and_cap_apply() -> None:
    ctx = context([100.0], {"s1": [1.0]}, {"s1": TWO_TO_ONE_50})
    assert sizer(fraction=0.5).target_positions(np.array([1.0]), ctx)[0] == pytest.approx(125.0)  # 0.125
    assert sizer(max_fraction=0.1).target_positions(np.array([1.0]), ctx)[0] == pytest.approx(100.0)


def test_symbols_are_attributed_to_strategies_by_absolute_strength() -> None:
    # s1: f* 0.2, s2: f* 0.25. AAA only s1 -> 0.2. BBB only s2 -> 0.25.
    # CCC: |0.6| on s1 and |-0.2| on s2 -> (0.6·0.2 + 0.2·0.25) / 0.8 = 0.2125.
    ctx = context(
        [100.0, 100.0, 100.0],
        {"s1": [1.0, 0.0, 0.6], "s2": [0.0, 1.0, -0.2]},
        {"s1": EVEN_MONEY_60, "s2": TWO_TO_ONE_50},
    )
    combined = np.array([1.0, 1.0, 0.4])
    s = sizer()
    np.testing.assert_allclose(s.symbol_fractions(3, ctx), [0.2, 0.25, 0.2125])
    np.testing.assert_allclose(s.target_positions(combined, ctx), [200.0, 250.0, 0.4 * 0.2125 * 1000])


def test_strategy_without_edge_or_record_dilutes_or_zeroes_the_fraction() -> None:
    ctx = context(
        [100.0, 100.0, 100.0],
        {"s1": [1.0, 0.0, 0.5], "flat": [0.0, 1.0, 0.5], "unknown": [0.0, 0.0, 0.0]},
        {"s1": EVEN_MONEY_60, "flat": NO_EDGE},
    )
    units = sizer().target_positions(np.array([1.0, 1.0, 1.0]), ctx)
    np.testing.assert_allclose(units, [200.0, 0.0, 100.0])  # BBB: zero Kelly -> flat


def test_confidence_scales_and_none_or_nan_count_as_one() -> None:
    targets = np.array([1.0, 1.0, 1.0])
    perf = {"s1": EVEN_MONEY_60}
    st = {"s1": [1.0, 1.0, 1.0]}
    with_conf = sizer().target_positions(
        targets, context([100.0] * 3, st, perf, confidence=[0.5, float("nan"), 0.0])
    )
    np.testing.assert_allclose(with_conf, [100.0, 200.0, 0.0])
    np.testing.assert_allclose(sizer().target_positions(targets, context([100.0] * 3, st, perf)), [200.0] * 3)


def test_nan_strength_or_price_keeps_the_position() -> None:
    ctx = context([100.0, float("nan"), -1.0], {"s1": [1.0, 1.0, 1.0]}, {"s1": EVEN_MONEY_60})
    units = sizer().target_positions(np.array([np.nan, 1.0, 1.0]), ctx)
    assert np.isnan(units).all()


def test_zero_kelly_gives_zero_targets_not_nan() -> None:
    ctx = context([100.0, 100.0], {"s1": [1.0, -1.0]}, {"s1": NO_EDGE})  # f* = 0.5 - 0.5 / 1 = 0
    units = sizer().target_positions(np.array([1.0, -1.0]), ctx)
    assert units.tolist() == [0.0, 0.0]


def test_cold_start_stakes_the_prior_until_min_trades_closed_trades_exist() -> None:
    # 10 closed trades < min_trades = 20: the prior 0.05 of equity, not the (unknown) estimate.
    # Hand-worked: 1.0 × 0.05 × 100,000 / 100 = 50 units; -0.5 × 0.05 × 100,000 / 50 = -50.
    few = context([100.0, 50.0], {"s1": [1.0, -0.5]}, {"s1": EVEN_MONEY_60[:10]})
    np.testing.assert_allclose(sizer(cold_start_fraction=0.05).target_positions(np.array([1.0, -0.5]), few), [50.0, -50.0])
    # no record at all (the first decision of a run) is a cold start too
    fresh = context([100.0], {"s1": [1.0]}, {})
    assert sizer(cold_start_fraction=0.05).target_positions(np.array([1.0]), fresh)[0] == pytest.approx(50.0)
    # the prior is capped like the estimate: min(0.05, max_fraction 0.03) × 100,000 / 100 = 30
    assert sizer(cold_start_fraction=0.05, max_fraction=0.03).target_positions(np.array([1.0]), fresh)[0] == (
        pytest.approx(30.0)
    )
    # 20 trades: the estimate takes over (f* = 0.2 → 200 units at fraction 1)
    enough = context([100.0], {"s1": [1.0]}, {"s1": EVEN_MONEY_60})
    assert sizer(cold_start_fraction=0.05).target_positions(np.array([1.0]), enough)[0] == pytest.approx(200.0)
    # a prior of 0 keeps the old behaviour: flat until the edge is known
    assert sizer(cold_start_fraction=0.0).target_positions(np.array([1.0]), fresh)[0] == 0.0


def test_cold_start_prior_is_validated() -> None:
    for bad in (-0.1, 1.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="cold_start_fraction"):
            KellyParams(cold_start_fraction=bad)
    assert KellyParams().cold_start_fraction == 0.02


def test_without_strategy_targets_a_single_record_is_used_else_flat() -> None:
    one = context([100.0], None, {"s1": EVEN_MONEY_60})
    assert sizer().target_positions(np.array([1.0]), one)[0] == pytest.approx(200.0)
    two = context([100.0], None, {"s1": EVEN_MONEY_60, "s2": TWO_TO_ONE_50})
    assert sizer().target_positions(np.array([1.0]), two)[0] == 0.0


def test_non_positive_equity_sizes_nothing() -> None:
    ctx = context([100.0], {"s1": [1.0]}, {"s1": EVEN_MONEY_60}, equity=-5.0)
    assert sizer().target_positions(np.array([1.0]), ctx)[0] == 0.0


def test_plugin_registers_the_kelly_sizer_with_validated_params() -> None:
    host = create_plugin_host(only=["kelly"], env={})
    assert not host.failures, [f.error for f in host.failures]
    spec = host.registries.sizers.get("kelly")
    assert spec.plugin == "kelly"
    built = spec.build({"fraction": 0.25, "min_trades": 5}, BuildContext("sizer"))
    assert isinstance(built, KellySizer) and built.criterion.fraction == 0.25
    with pytest.raises(ConfigError, match="sizer 'kelly'"):
        spec.build({"fraction": 2.0}, BuildContext("sizer"))
    with pytest.raises(ConfigError, match="halflife: Extra inputs are not permitted"):
        spec.build({"halflife": 3}, BuildContext("sizer"))


# subnormal strengths underflow to a zero position: not a sizing question
STRENGTH = st.floats(-1.0, 1.0).filter(lambda x: x == 0.0 or abs(x) > 1e-12)


@given(
    strengths=st.lists(STRENGTH, min_size=3, max_size=3),
    confidence=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3),
    returns=st.lists(st.floats(-0.5, 0.5), min_size=20, max_size=60),
    cap=st.floats(0.01, 1.0),
)
def test_each_position_stays_within_cap_times_strength(
    strengths: list[float], confidence: list[float], returns: list[float], cap: float
) -> None:
    ctx = context([10.0, 20.0, 30.0], {"s1": strengths}, {"s1": returns}, confidence=confidence)
    targets = np.array(strengths)
    units = sizer(max_fraction=cap, min_trades=1).target_positions(targets, ctx)
    notional = units * ctx.prices / ctx.equity
    assert (np.abs(notional) <= cap * np.abs(targets) * (1 + 1e-12)).all()
    assert (notional * targets >= 0).all()  # never against the signal
