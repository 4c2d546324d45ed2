"""Trade statistics and attribution against hand-worked examples."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from ai_trading_analytics import PerformanceCalculator, attribute, split_strategy_id, trade_statistics

from ai_trading_core.enums import Side
from ai_trading_core.models import Trade

T0 = datetime(2024, 1, 2, tzinfo=UTC)


def trade(
    pnl: str,
    *,
    symbol: str = "AAA",
    strategy: str = "s1",
    day: int = 1,
    is_open: bool = False,
    qty: str = "10",
    price: str = "100",
) -> Trade:
    return Trade(
        symbol=symbol,
        side=Side.BUY,
        quantity=Decimal(qty),
        entry_time=T0,
        entry_price=Decimal(price),
        exit_time=None if is_open else T0 + timedelta(days=day),
        exit_price=None if is_open else Decimal(price),
        pnl=Decimal(pnl),
        strategy_id=strategy,
        is_open=is_open,
    )


def test_hand_worked_statistics() -> None:
    trades = [trade("100"), trade("-50"), trade("30"), trade("0"), trade("-20"), trade("999", is_open=True)]
    s = trade_statistics(trades)
    assert (s.trades, s.open_trades, s.wins, s.losses) == (5, 1, 2, 2)
    assert s.win_rate == pytest.approx(2 / 5)
    assert s.gross_profit == 130.0 and s.gross_loss == -70.0
    assert s.profit_factor == pytest.approx(130 / 70)
    assert s.expectancy == pytest.approx(60 / 5)
    assert s.average_win == pytest.approx(65.0) and s.average_loss == pytest.approx(-35.0)
    assert s.payoff_ratio == pytest.approx(65 / 35)
    assert s.largest_win == 100.0 and s.largest_loss == -50.0
    # Entry notional is 10 * 100 = 1000 for each trade.
    assert s.average_trade_return == pytest.approx(60 / 5 / 1000)
    # Expectancy identity: p * avg_win + q * avg_loss.
    assert s.expectancy == pytest.approx(2 / 5 * 65 + 2 / 5 * -35)
    assert PerformanceCalculator().trade_stats(trades) == s


def test_no_trades() -> None:
    s = trade_statistics([])
    assert s.trades == 0 and s.gross_profit == 0.0 and s.gross_loss == 0.0
    assert s.win_rate is None and s.profit_factor is None and s.expectancy is None
    assert s.average_win is None and s.average_loss is None and s.payoff_ratio is None


def test_all_losses_and_all_wins() -> None:
    losses = trade_statistics([trade("-10"), trade("-30")])
    assert losses.win_rate == 0.0 and losses.profit_factor == 0.0
    assert losses.expectancy == -20.0 and losses.average_win is None and losses.average_loss == -20.0
    wins = trade_statistics([trade("10"), trade("30")])
    assert wins.win_rate == 1.0 and wins.profit_factor is None  # no losing trade: undefined
    assert wins.largest_loss is None


def test_split_strategy_id() -> None:
    assert split_strategy_id("ens/momentum") == ("ens", "momentum")
    assert split_strategy_id("ens/a/b") == ("ens", "a/b")
    assert split_strategy_id("sma-10-30") == ("sma-10-30", None)
    assert split_strategy_id("") == ("unassigned", None)
    assert split_strategy_id("/x") == ("/x", None)


def test_attribution_by_strategy_symbol_and_member() -> None:
    timestamps = (np.datetime64("2024-01-02", "ns") + np.arange(10) * np.timedelta64(1, "D")).astype(np.int64)
    trades = [
        trade("100", symbol="AAA", strategy="sma", day=1),
        trade("-40", symbol="BBB", strategy="sma", day=2),
        trade("60", symbol="AAA", strategy="ens/mom", day=3),
        trade("-10", symbol="BBB", strategy="ens/rev", day=3),
        trade("20", symbol="BBB", strategy="ens/rev", day=5),
        trade("5", symbol="CCC", strategy="ens/mom", is_open=True),
    ]
    att = attribute(trades, timestamps, initial_cash=10_000.0, final_equity=10_200.0, periods_per_year=252)
    sma, ens = att["by_strategy"]["sma"], att["by_strategy"]["ens"]
    assert sma["pnl"] == 60.0 and sma["trades"] == 2 and sma["win_rate"] == 0.5
    assert sma["return_contribution"] == pytest.approx(0.006)
    assert ens["pnl"] == 75.0 and ens["trades"] == 3 and ens["win_rate"] == pytest.approx(2 / 3)
    members = att["ensemble_members"]["ens"]
    assert members["mom"]["pnl"] == 65.0 and members["mom"]["trades"] == 1
    assert members["rev"]["pnl"] == 10.0 and members["rev"]["win_rate"] == 0.5
    assert att["by_symbol"]["AAA"]["pnl"] == 160.0 and att["by_symbol"]["BBB"]["pnl"] == -30.0
    assert att["by_symbol"]["CCC"]["trades"] == 0 and att["by_symbol"]["CCC"]["win_rate"] is None
    assert att["attributed_pnl"] == 135.0 and att["total_pnl"] == 200.0 and att["unattributed_pnl"] == 65.0
    assert sum(r["pnl"] for r in att["by_strategy"].values()) == att["attributed_pnl"]
    assert sum(r["pnl"] for r in att["by_symbol"].values()) == att["attributed_pnl"]
    # Sharpe of "sma": P&L booked at the exit bars (1 and 2) over initial cash, ten bars.
    series = np.zeros(10)
    series[1], series[2] = 0.01, -0.004
    expected = series.mean() / series.std(ddof=1) * math.sqrt(252)
    assert sma["sharpe"] == pytest.approx(expected, rel=1e-12)
    # "rev": exits on bars 3 and 5.
    rev = np.zeros(10)
    rev[3], rev[5] = -0.001, 0.002
    assert members["rev"]["sharpe"] == pytest.approx(rev.mean() / rev.std(ddof=1) * math.sqrt(252), rel=1e-12)


def test_attribution_without_trades_is_empty_not_an_error() -> None:
    att = attribute([], np.array([], dtype=np.int64), 10_000.0, 10_000.0, 252)
    assert att == {
        "by_strategy": {},
        "ensemble_members": {},
        "by_symbol": {},
        "total_pnl": 0.0,
        "attributed_pnl": 0.0,
        "unattributed_pnl": 0.0,
    }


def test_single_trade_group_has_undefined_sharpe_not_nan() -> None:
    timestamps = (np.datetime64("2024-01-02", "ns") + np.arange(1) * np.timedelta64(1, "D")).astype(np.int64)
    att = attribute([trade("10", day=0)], timestamps, 1000.0, 1010.0, 252)
    assert att["by_strategy"]["s1"]["sharpe"] is None
