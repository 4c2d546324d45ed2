"""The columnar order path against the per-order object path, and the integer ledger.

A backtest on the simulated broker sends its orders as columns (``Engine._columnar``) unless
something needs one object per order; the audit trail is such a thing, so the same config run
with the audit trail on takes the object path. Both must give the same money, positions, run
document rows (except the per-run ids) and equity curve. The ledger tests work small
examples by hand; the helper tests pin the exact-decimal conversions both paths share.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ai_trading_core.batch import FillBatch, notional_decimal, notional_units, plain, scaled_strings
from ai_trading_core.config import config_from_dict
from ai_trading_core.enums import Side
from ai_trading_core.engine import Engine
from ai_trading_core.ledger import Portfolio
from ai_trading_core.market import BarPanel
from ai_trading_core.models import Fill, Instrument
from ai_trading_core.order_table import LazyRows
from ai_trading_core.plugins import PluginHost, create_plugin_host
from ai_trading_core.rundoc import rows
from ai_trading_core.runner import RunOutcome, run_config
from ai_trading_core.testing import random_walk_panel

ID_COLUMNS = frozenset({"client_order_id", "correlation_id", "execution_id"})
"""Ids derived from the run's id: different in every run, whatever the path."""
BROKER_ID = "broker_order_id"
"""The simulated broker's order id: ``sim-<n>`` on the object path, None on the columnar one
(see :func:`test_broker_order_id_is_the_same_on_both_paths`)."""
TICK = Decimal("0.05")

SMA = {"name": "sma_crossover", "params": {"fast": 5, "slow": 20}}
COSTS = {"commission_bps": "3.5", "commission_per_unit": "0.01", "commission_minimum": "1", "slippage_bps": "2"}


@pytest.fixture(autouse=True)
def columnar_for_small_panels(monkeypatch: pytest.MonkeyPatch) -> None:
    """These panels are small; the engine keeps objects below ``COLUMNAR_MIN_SYMBOLS`` symbols
    by default (a speed choice): lift the floor so that both paths are exercised."""
    monkeypatch.setattr(Engine, "COLUMNAR_MIN_SYMBOLS", 0)


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return create_plugin_host(only=["sim", "sma", "sample-data", "risk-limits"])


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("columnar")


def _panel(n_bars: int, n_symbols: int, seed: int, *, lot: Decimal = Decimal(1), tick: Decimal = TICK) -> BarPanel:
    """A random walk whose instruments have a configured tick (and lot): raw float prices,
    so nearly every open lies off the tick and the broker has to round it."""
    base = random_walk_panel(n_bars, n_symbols, seed=seed)
    instruments = {s: Instrument(symbol=s, tick_size=tick, lot_size=lot) for s in base.symbols}
    return dataclasses.replace(base, instruments=instruments)


def _config(out_dir: Path, audit: bool, run: dict[str, Any] | None = None, **sections: Any) -> Any:
    doc: dict[str, Any] = {
        "run": {"output_dir": str(out_dir / "runs"), "state_dir": str(out_dir / "state"), **(run or {})},
        "data": {"name": "synthetic"},
        "strategies": [SMA],
        "broker": {"name": "sim", "params": COSTS},
        "audit": {"enabled": audit},
    }
    doc.update(sections)
    return config_from_dict(doc)


def _both(host: PluginHost, out_dir: Path, panel: BarPanel, **sections: Any) -> tuple[RunOutcome, RunOutcome]:
    """(object path, columnar path) runs of one config: audit trail on, then off."""
    objects = run_config(_config(out_dir, True, **sections), host, panel=panel)
    columns = run_config(_config(out_dir, False, **sections), host, panel=panel)
    assert objects.engine is not None and columns.engine is not None
    assert objects.engine._columnar is False
    assert columns.engine._columnar is True
    # the columnar run's orders and fills are column tables, built without objects
    assert columns.result.orders.columns() is not None and columns.result.fills.columns() is not None
    return objects, columns


DECIMAL_COLUMNS = frozenset(
    {
        "quantity",
        "filled_quantity",
        "average_fill_price",
        "notional",
        "price",
        "commission",
        "entry_price",
        "exit_price",
        "pnl",
    }
)


def _table(
    outcome: RunOutcome, table: str, drop: frozenset[str] = ID_COLUMNS | {BROKER_ID}, *, numeric: bool = False
) -> list[dict[str, Any]]:
    """The rows of a run-document table without ``drop``; ``numeric``: decimal columns as
    ``Decimal`` (equal values written with different trailing zeros compare equal)."""
    out = [{k: v for k, v in row.items() if k not in drop} for row in rows(outcome.document, table)]
    if numeric:
        for row in out:
            for k in DECIMAL_COLUMNS & row.keys():
                if isinstance(row[k], str):
                    row[k] = Decimal(row[k])
    return out


def _assert_same_run(a: RunOutcome, b: RunOutcome, *, min_fills: int = 10, numeric: bool = False) -> None:
    """Money, positions, run-document rows (ids aside) and equity curves are identical."""
    ra, rb = a.result, b.result
    assert len(rb.fills) >= min_fills  # the runs did trade
    assert ra.final_equity == rb.final_equity
    assert ra.final_cash == rb.final_cash
    assert ra.final_positions == rb.final_positions
    for key in ("final_equity", "final_cash", "final_positions"):
        assert a.document[key] == b.document[key], key
    for table in ("orders", "fills", "trades"):
        assert _table(a, table, numeric=numeric) == _table(b, table, numeric=numeric), table
    np.testing.assert_array_equal(ra.timestamps, rb.timestamps)
    np.testing.assert_array_equal(ra.equity, rb.equity)
    assert a.document["equity_curve"] == b.document["equity_curve"]


def _on_tick(text: str, tick: Decimal = TICK) -> bool:
    return Decimal(text) % tick == 0


# ====================================================================== object = columnar
@pytest.mark.parametrize("cash", ["2000", "100000"])
def test_sma_with_every_cost_off_tick_opens(host: PluginHost, out_dir: Path, cash: str) -> None:
    """(a) and the sim's columnar pricing: commission in bps, per unit and a minimum,
    slippage, a configured 0.05 tick under raw float opens. With 2,000 of cash every order
    is small enough for the minimum commission to bind; with 100,000 none is, and the
    commissions have fractions of a cent."""
    panel = _panel(160, 3, seed=1)
    objects, columns = _both(host, out_dir, panel, run={"initial_cash": cash})
    _assert_same_run(objects, columns)
    fills = rows(columns.document, "fills")
    prices = [f["price"] for f in fills]
    assert all(_on_tick(p) for p in prices)
    # the fill price is the open moved by slippage and rounded to the tick, never the raw open
    t_index = {int(t): k for k, t in enumerate(panel.timestamps.tolist())}
    raw_opens = [
        Decimal(repr(float(panel.open[t_index[int(f.timestamp.timestamp()) * 10**9], panel.symbols.index(f.symbol)])))
        for f in columns.result.fills
    ]
    assert all(o % TICK != 0 for o in raw_opens)  # the opens really were off the tick
    assert all(Decimal(p) != o for p, o in zip(prices, raw_opens, strict=True))
    # buys round up, sells down, after slippage: never better than the raw open
    for f, o in zip(fills, raw_opens, strict=True):
        assert (Decimal(f["price"]) > o) if f["side"] == "buy" else (Decimal(f["price"]) < o)
    commissions = [Decimal(f["commission"]) for f in fills]
    if cash == "2000":
        assert set(commissions) == {Decimal(1)}
    else:
        assert min(commissions) > Decimal(1)
        assert any(c != c.quantize(Decimal("0.01")) for c in commissions)


def test_sub_account_sized_at_fill(host: PluginHost, out_dir: Path) -> None:
    """(b) Notional orders: the broker fixes the quantity at the fill price on both paths."""
    panel = _panel(160, 3, seed=2)
    objects, columns = _both(
        host,
        out_dir,
        panel,
        strategies=[{"name": "sma_crossover", "params": {"fast": 5, "slow": 20, "long_only": True}}],
        sizer={"name": "sub_account", "params": {"size_at_fill": True}},
    )
    _assert_same_run(objects, columns)
    notionals = [o["notional"] for o in rows(columns.document, "orders")]
    assert sum(n is not None for n in notionals) >= 5


def test_two_weighted_strategies(host: PluginHost, out_dir: Path) -> None:
    """(c) Two strategies with weights: the responsible strategy of each order matches."""
    panel = _panel(200, 3, seed=4)
    strategies = [
        {"name": "sma_crossover", "id": "fast", "weight": 0.7, "params": {"fast": 5, "slow": 20}},
        {"name": "sma_crossover", "id": "slow", "weight": 0.3, "params": {"fast": 10, "slow": 40}},
    ]
    objects, columns = _both(host, out_dir, panel, strategies=strategies)
    _assert_same_run(objects, columns)
    assert {o["strategy_id"] for o in rows(columns.document, "orders")} == {"fast", "slow"}


def test_portfolio_limits_resizing_and_rejecting(host: PluginHost, out_dir: Path) -> None:
    """(d) A tight ``portfolio_limits``: some orders resized, some rejected, same run."""
    panel = _panel(160, 4, seed=3)
    risk = [{"name": "portfolio_limits", "params": {"max_position_weight": 0.15, "max_gross_exposure": 0.5}}]
    objects, columns = _both(host, out_dir, panel, risk=risk)
    _assert_same_run(objects, columns)
    for outcome in (objects, columns):
        decisions = Counter(v["decision"] for v in rows(outcome.document, "risk_verdicts"))
        assert decisions["resize"] + decisions["reject"] > 0, decisions
    assert [o["status"] for o in rows(objects.document, "orders")] == [
        o["status"] for o in rows(columns.document, "orders")
    ]
    resized = Counter(v["decision"] for v in rows(columns.document, "risk_verdicts"))
    assert resized["resize"] > 0


def _verdict_rows(outcome: RunOutcome) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in ID_COLUMNS} for row in rows(outcome.document, "risk_verdicts")]


def test_risk_verdict_records_are_the_same_on_both_paths(host: PluginHost, out_dir: Path) -> None:
    panel = _panel(160, 4, seed=3)
    risk = [{"name": "portfolio_limits", "params": {"max_position_weight": 0.15}}]
    objects, columns = _both(host, out_dir, panel, risk=risk)
    assert len(_verdict_rows(objects)) > 0
    assert _verdict_rows(objects) == _verdict_rows(columns)


def test_broker_order_id_is_the_same_on_both_paths(host: PluginHost, out_dir: Path) -> None:
    objects, columns = _both(host, out_dir, _panel(120, 2, seed=1))
    assert [o[BROKER_ID] for o in rows(objects.document, "orders")] == [
        o[BROKER_ID] for o in rows(columns.document, "orders")
    ]


@pytest.mark.parametrize("sizer", [None, {"name": "sub_account", "params": {"size_at_fill": True}}])
def test_block_mode_equals_per_bar_on_the_columnar_path(host: PluginHost, out_dir: Path, sizer: Any) -> None:
    """(e) Block mode on the columnar path: the per-bar columnar run, row for row."""
    panel = _panel(300, 4, seed=5)
    extra: dict[str, Any] = {"sizer": sizer} if sizer else {}
    per_bar = run_config(_config(out_dir, False, **extra), host, panel=panel)
    block = run_config(_config(out_dir, False, **extra), host, panel=panel, block=True)
    assert per_bar.engine is not None and block.engine is not None
    assert per_bar.engine._columnar is True and block.engine._columnar is True
    _assert_same_run(per_bar, block)


FRACTIONAL_SIZERS = [None, {"name": "sub_account", "params": {"size_at_fill": True}}]


@pytest.mark.parametrize("sizer", FRACTIONAL_SIZERS)
def test_fractional_lots_and_a_coarse_tick(host: PluginHost, out_dir: Path, sizer: Any) -> None:
    """(f) Lots of 0.001 and a 0.05 tick: the same run document text on both paths."""
    panel = _panel(160, 3, seed=6, lot=Decimal("0.001"))
    objects, columns = _both(host, out_dir, panel, **({"sizer": sizer} if sizer else {}))
    _assert_same_run(objects, columns)


@pytest.mark.parametrize("sizer", FRACTIONAL_SIZERS)
def test_fractional_lots_and_a_coarse_tick_same_values(host: PluginHost, out_dir: Path, sizer: Any) -> None:
    """(f) Lots of 0.001 and a 0.05 tick: the same money, positions, equity and row values
    (decimal columns compared as numbers; their text is the xfail above)."""
    panel = _panel(160, 3, seed=6, lot=Decimal("0.001"))
    objects, columns = _both(host, out_dir, panel, **({"sizer": sizer} if sizer else {}))
    _assert_same_run(objects, columns, numeric=True)
    quantities = [Decimal(f["quantity"]) for f in rows(columns.document, "fills")]
    assert all(q % Decimal("0.001") == 0 for q in quantities)
    assert any(q != q.to_integral_value() for q in quantities)
    assert all(_on_tick(f["price"]) for f in rows(columns.document, "fills"))


# ====================================================================== the integer ledger
def _fill(n: int, side: Side, quantity: str, price: str, commission: str, symbol: str = "X") -> Fill:
    return Fill(
        execution_id=f"e{n}",
        client_order_id=f"c{n}",
        symbol=symbol,
        side=side,
        quantity=Decimal(quantity),
        price=Decimal(price),
        commission=Decimal(commission),
        timestamp=datetime(2024, 1, n, tzinfo=UTC),
        strategy_id="s",
    )


def test_ledger_long_round_trip_with_a_reversal_hand_worked() -> None:
    """Cash 10,000; cents (money scale 2).

    1. buy 10 @ 100, commission 1: cash 10000 − 1000 − 1 = 8999; basis 1000.
    2. sell 4 @ 110, commission 0.4: cash 8999 + 440 − 0.4 = 9438.6; released 1000·4/10 = 400,
       realised 440 − 400 = 40; basis 600, 6 held.
    3. sell 10 @ 90, commission 1: cash 9438.6 + 900 − 1 = 10337.6. Closes 6: released 600,
       proceeds 540, realised −60 (total −20). 4 short opened at 90 (basis −360).
       The long trade: entry 10 for 1000 (price 100), exit 4·110 + 6·90 = 980 (price 98),
       commission 1 + 0.4 + 0.6 (6/10 of the last fill's 1) = 2, P&L 980 − 1000 − 2 = −22.
    """
    p = Portfolio(("X",), Decimal("10000"), qty_scale=0, price_scale=2)
    p.apply_fill(_fill(1, Side.BUY, "10", "100", "1"))
    assert (p.cash, p.quantities, p.realized) == (Decimal("8999"), [Decimal(10)], [Decimal(0)])
    assert p.avg_price(0) == Decimal(100)
    p.apply_fill(_fill(2, Side.SELL, "4", "110", "0.4"))
    assert (p.cash, p.quantities, p.realized) == (Decimal("9438.6"), [Decimal(6)], [Decimal(40)])
    assert p.avg_price(0) == Decimal(100)
    assert p.trades == []
    p.apply_fill(_fill(3, Side.SELL, "10", "90", "1"))
    assert (p.cash, p.quantities, p.realized) == (Decimal("10337.6"), [Decimal(-4)], [Decimal(-20)])
    assert p.avg_price(0) == Decimal(90)
    (trade,) = p.trades
    assert trade.side is Side.BUY and trade.quantity == Decimal(10)
    assert (trade.entry_price, trade.exit_price) == (Decimal(100), Decimal(98))
    assert (trade.pnl, trade.commission) == (Decimal(-22), Decimal(2))
    (short,) = p.open_trades()
    assert short.side is Side.SELL and short.entry_price == Decimal(90) and short.quantity == Decimal(4)
    assert short.commission == Decimal("0.4")  # the rest of fill 3's commission


def test_ledger_short_close_hand_worked() -> None:
    """Steps 1–3 of the test above, then 4. buy 4 @ 80, no commission: cash 10337.6 − 320 =
    10017.6, flat. The short: sold 4 for 360, bought back for 320, commission 0.4 (from fill
    3): P&L 360 − 320 − 0.4 = 39.6; realised per symbol −20 + 40 = 20. The two trades' P&L
    (−22 + 39.6 = 17.6) is the cash's change (10017.6 − 10000)."""
    p = Portfolio(("X",), Decimal("10000"), qty_scale=0, price_scale=2)
    for n, (side, q, px, c) in enumerate(
        [
            (Side.BUY, "10", "100", "1"),
            (Side.SELL, "4", "110", "0.4"),
            (Side.SELL, "10", "90", "1"),
            (Side.BUY, "4", "80", "0"),
        ],
        start=1,
    ):
        p.apply_fill(_fill(n, side, q, px, c))
    assert (p.cash, p.quantities) == (Decimal("10017.6"), [Decimal(0)])
    long, short = p.trades
    assert short.side is Side.SELL and short.quantity == Decimal(4)
    assert (short.entry_price, short.exit_price) == (Decimal(90), Decimal(80))
    assert short.commission == Decimal("0.4")
    assert short.pnl == Decimal("39.6")
    assert long.pnl + short.pnl == p.cash - Decimal(10000)
    assert p.realized == [Decimal(20)]


def test_ledger_partial_close_releases_a_rounded_share() -> None:
    """Buy 1 @ 10.00 and 2 @ 10.01: basis 30.02 for 3. Selling 1 releases 30.02/3 =
    10.00666… → 10.01 (half even, to the cent); 20.01 stays for the other 2 (10.005 each).
    (Buying all 3 at one price would release a whole cent: no rounding to test.)
    Sell 1 @ 10.02: realised 0.01. Sell 2 @ 10.02: releases 20.01, realised 0.03. The round
    trip realises 0.04 = exit 30.06 − entry 30.02 exactly; commissions 0.01 + 0.02 + 0.03 +
    0.05 = 0.11, so the trade's P&L is −0.07 and cash ends 10000 − 0.07."""
    p = Portfolio(("X",), Decimal("10000"), qty_scale=0, price_scale=2)
    p.apply_fill(_fill(1, Side.BUY, "1", "10.00", "0.01"))
    p.apply_fill(_fill(2, Side.BUY, "2", "10.01", "0.02"))
    p.apply_fill(_fill(3, Side.SELL, "1", "10.02", "0.03"))
    assert p.realized == [Decimal("0.01")]  # not 10.02 - 10.00666…: the share was rounded
    assert p.avg_price(0) == Decimal("10.005")
    p.apply_fill(_fill(4, Side.SELL, "2", "10.02", "0.05"))
    assert p.realized == [Decimal("0.04")]
    assert p.quantities == [Decimal(0)]
    (trade,) = p.trades
    exit_value, entry_value, commissions = Decimal("30.06"), Decimal("30.02"), Decimal("0.11")
    assert trade.pnl == exit_value - entry_value - commissions == Decimal("-0.07")
    assert trade.commission == commissions
    assert trade.entry_price == entry_value / 3 and trade.exit_price == Decimal("10.02")
    assert p.cash == Decimal("10000") + trade.pnl


def test_ledger_rescales_for_a_finer_fill() -> None:
    """A price with 5 decimals, a quantity with 3 and a commission with 7 on a ledger of whole
    units and cents: the ledger moves to finer scales and every figure stays exact.
    Cash 10000 − 2.125 · 100.12345 (= 212.76233125) − 0.0000001 = 9787.2376686500."""
    p = Portfolio(("X", "Y"), Decimal("10000"), qty_scale=0, price_scale=2)
    p.apply_fill(_fill(1, Side.BUY, "3", "50.5", "0.25", symbol="Y"))  # before the rescale
    p.apply_fill(_fill(2, Side.BUY, "2.125", "100.12345", "0.0000001"))
    assert (p.qty_scale, p.price_scale) == (3, 5) and p.money_scale >= 8
    assert p.cash == Decimal("10000") - Decimal("151.5") - Decimal("0.25") - Decimal("212.76233125") - Decimal(
        "0.0000001"
    )
    assert p.quantities == [Decimal("2.125"), Decimal(3)]
    assert p.avg_price(0) == Decimal("100.12345") and p.avg_price(1) == Decimal("50.5")
    p.apply_fill(_fill(3, Side.SELL, "3", "50.51", "0", symbol="Y"))
    assert p.realized == [Decimal(0), Decimal("0.03")]
    (trade,) = p.trades
    assert trade.pnl == Decimal("0.03") - Decimal("0.25")


def _fill_batch(ts_day: int, spec: list[tuple[int, int, int, int, int]], qs: int, ps: int, ms: int) -> FillBatch:
    """spec rows: (symbol index, side, units at qs, price at ps, commission at ms)."""
    n = len(spec)
    return FillBatch(
        row=np.arange(n, dtype=np.int64),
        index=np.array([r[0] for r in spec], dtype=np.int64),
        side=np.array([r[1] for r in spec], dtype=np.int8),
        units=np.array([r[2] for r in spec], dtype=np.int64),
        qty_scale=qs,
        price=np.array([r[3] for r in spec], dtype=np.int64),
        price_scale=ps,
        commission=[r[4] for r in spec],
        money_scale=ms,
        timestamp=int(datetime(2024, 1, ts_day, tzinfo=UTC).timestamp()) * 10**9,
    )


def test_apply_fills_batch_equals_single_fills() -> None:
    """Two FillBatches at scales finer than the ledger's (quantity 3, price 4, money 7) book
    exactly as the same fills one by one: cash, positions, bases, realised, trades."""
    symbols = ("X", "Y")
    first = _fill_batch(
        2, [(0, 1, 2500, 1001234, 12345678), (1, -1, 1000, 500500, 0), (0, 1, 500, 1002000, 1)], 3, 4, 7
    )
    second = _fill_batch(3, [(0, -1, 3500, 990050, 2500000), (1, 1, 3000, 490000, 10000000)], 3, 4, 7)
    strategies = [["a", "b", "a"], ["a", "b"]]
    batched = Portfolio(symbols, Decimal("100000"), qty_scale=0, price_scale=2)
    single = Portfolio(symbols, Decimal("100000"), qty_scale=0, price_scale=2)
    n = 0
    for fb, ids in zip((first, second), strategies, strict=True):
        batched.apply_fills(fb, ids)
        day = datetime.fromtimestamp(fb.timestamp // 10**9, UTC).day
        for k in range(len(fb)):
            n += 1
            single.apply_fill(
                Fill(
                    execution_id=f"e{n}",
                    client_order_id=f"c{n}",
                    symbol=symbols[int(fb.index[k])],
                    side=Side.BUY if fb.side[k] > 0 else Side.SELL,
                    quantity=plain(Decimal(int(fb.units[k])).scaleb(-fb.qty_scale)),
                    price=plain(Decimal(int(fb.price[k])).scaleb(-fb.price_scale)),
                    commission=plain(Decimal(fb.commission[k]).scaleb(-fb.money_scale)),
                    timestamp=datetime(2024, 1, day, tzinfo=UTC),
                    strategy_id=ids[k],
                )
            )
    assert batched.cash == single.cash
    # the X leg by hand: 3 bought for 2.5·100.1234 + 0.5·100.2 = 300.4085, 3.5 sold at 99.005
    x_cash = (
        -Decimal("250.3085")
        - Decimal("1.2345678")
        - Decimal("50.1")
        - Decimal("0.0000001")
        + Decimal("346.5175")
        - Decimal("0.25")
    )
    y_cash = Decimal("50.05") - Decimal("147") - Decimal("1")
    assert batched.cash == Decimal("100000") + x_cash + y_cash
    assert batched.quantities == single.quantities == [Decimal("-0.5"), Decimal(2)]
    assert batched.avg_prices == single.avg_prices
    assert batched.realized == single.realized
    assert batched.trades == single.trades and len(batched.trades) == 2  # both legs reversed
    assert batched.open_trades() == single.open_trades()
    assert _decoded(batched.trade_columns()) == _decoded(single.trade_columns())
    # the batch moved the ledger to its scales at once (the single fills only as far as each
    # fill's own decimals needed): different integers, the same exact state above
    assert (batched.qty_scale, batched.price_scale, batched.money_scale) == (3, 4, 7)


# ====================================================================== helpers
def _expected_text(v: int, scale: int) -> str:
    return format(plain(Decimal(v).scaleb(-scale)), "f")


@pytest.mark.parametrize("scale", range(11))
def test_scaled_strings_match_decimal(scale: int) -> None:
    """Against ``Decimal`` for random integers of every size: both the float-repr shortcut
    (a column of values with at most 15 digits, none below 1e-4) and the exact fallback."""
    rng = np.random.default_rng(scale)
    columns: list[list[int]] = [[12345, 100, -7, 0, 10**scale, -(10**scale) + 1]]
    for digits in (1, 3, 6, 9, 12, 15, 17):
        values = rng.integers(-(10**digits), 10**digits, size=300).tolist()
        columns.append(values)
        columns.append([v for v in values if abs(v) * 10_000 >= 10**scale] or [10**scale])  # the shortcut's domain
        columns.extend([v] for v in values[:40])  # one value at a time: each takes its own branch
    columns.append([10**18 + 1, -(10**18) - 7, 999_999_999_999_999, 1])
    for values in columns:
        out = scaled_strings(values, scale)
        assert out == [_expected_text(v, scale) for v in values], values
        assert all("e" not in t.lower() for t in out)
        assert all(not ("." in t and t.endswith("0")) and not t.endswith(".") for t in out)


def test_notional_units_snaps_float_noise_and_rounds_down() -> None:
    assert notional_units(np.array([12.34])).tolist() == [1234000000]
    assert notional_units(np.array([0.1 + 0.2])).tolist() == [30000000]  # 0.30000000000000004
    assert notional_units(np.array([0.123456789])).tolist() == [12345678]  # 8 places, down
    assert notional_units(np.array([1e-9, 5.0, 12.349999999999])).tolist() == [0, 500000000, 1235000000]
    assert notional_decimal(12.34) == Decimal("12.34")
    assert str(notional_decimal(1000.0)) == "1000"


def test_lazy_rows_builds_once_and_only_when_read() -> None:
    made: list[int] = []
    column_calls: list[int] = []

    def make(k: int) -> str:
        made.append(k)
        return f"row{k}"

    def columns() -> dict[str, list[int]]:
        column_calls.append(1)
        return {"k": [0, 1, 2]}

    lazy: LazyRows[str] = LazyRows(3, make, columns=columns)
    assert len(lazy) == 3 and made == []
    assert lazy.columns() == {"k": [0, 1, 2]} and lazy.columns() is lazy.columns()
    assert column_calls == [1] and made == []
    assert list(lazy) == ["row0", "row1", "row2"]
    assert list(lazy) == ["row0", "row1", "row2"] and lazy[1] == "row1" and lazy[-1] == "row2"
    assert made == [0, 1, 2]  # every row built once
    assert lazy == ["row0", "row1", "row2"] and lazy + ["x"] == ["row0", "row1", "row2", "x"]

    headed: LazyRows[str] = LazyRows(1, make, head=["ready"], columns=columns)
    assert len(headed) == 2 and headed.columns() is None  # ready objects in front: no columns
    assert list(headed) == ["ready", "row0"]
    assert LazyRows(2, make).columns() is None


def test_the_default_path_follows_the_universe_size(host: PluginHost, out_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """By default a run of fewer than ``COLUMNAR_MIN_SYMBOLS`` symbols keeps one object per
    order (cheaper there); a wider one goes columnar. The results are the same either way."""
    monkeypatch.undo()
    floor = Engine.COLUMNAR_MIN_SYMBOLS
    narrow = run_config(_config(out_dir, False), host, panel=_panel(120, 3, seed=2))
    wide = run_config(_config(out_dir, False), host, panel=_panel(120, floor, seed=2))
    assert narrow.engine is not None and wide.engine is not None
    assert narrow.engine._columnar is False and wide.engine._columnar is True


def _decoded(columns: dict[str, Any]) -> list[dict[str, Any]]:
    """Trade columns (possibly scaled integers, at either ledger's scales) as row texts."""
    names = list(columns)
    count = len(columns["symbol"])
    return rows({"trades": {"columns": names, "data": columns, "count": count}}, "trades")


class _SingleOrderCap:
    """A third-party style risk check with only ``check(orders, ctx)``: orders above 150 units
    are resized to 150, sells are approved. The columnar path reaches it through the adapter."""

    name = "single_order_cap"

    def check(self, orders: Any, ctx: Any) -> list[Any]:
        from ai_trading_core.enums import RiskDecision
        from ai_trading_core.market import to_datetime
        from ai_trading_core.models import RiskVerdict

        out = []
        for o in orders:
            big = o.side is Side.BUY and o.quantity > 150 and o.notional is None
            out.append(
                RiskVerdict(
                    check=self.name,
                    decision=RiskDecision.RESIZE if big else RiskDecision.APPROVE,
                    client_order_id=o.client_order_id,
                    symbol=o.symbol,
                    requested_quantity=o.quantity,
                    approved_quantity=Decimal(150) if big else o.quantity,
                    reason="above 150 units" if big else "",
                    timestamp=to_datetime(ctx.timestamp),
                    correlation_id=o.correlation_id,
                )
            )
        return out

    def update(self, ctx: Any) -> None:
        return None


def test_a_single_order_risk_check_works_on_the_columnar_path(out_dir: Path) -> None:
    """The adapter: a check without ``check_batch`` gives the same run on both paths."""
    from ai_trading_core import hookimpl

    class Plugin:
        @hookimpl
        def ai_trading_register_risk_checks(self, registry: Any) -> None:
            registry.register("single_order_cap", lambda p, c: _SingleOrderCap())

    host = create_plugin_host(only=["sim", "sma", "sample-data"], extra_plugins={"cap": Plugin()})
    objects, columns = _both(host, out_dir, _panel(200, 4, seed=9), risk=[{"name": "single_order_cap"}])
    assert not hasattr(_SingleOrderCap(), "check_batch")
    assert any(v["decision"] == "resize" for v in columns.document["risk_verdicts"])
    _assert_same_run(objects, columns)


def _cli_config(path: Path, audit: bool) -> Path:
    """A config of 64 symbols (the columnar floor) for ``ai-trading run`` in a subprocess."""
    path.write_text(
        f"""
[run]
seed = 5
output_dir = "runs"
state_dir = "state"
[plugins]
load = ["sample-data", "sim", "sma"]
[data]
name = "synthetic"
params = {{ n_symbols = {Engine.COLUMNAR_MIN_SYMBOLS}, n_bars = 150 }}
[[strategies]]
name = "sma_crossover"
params = {{ fast = 5, slow = 20 }}
[broker]
name = "sim"
params = {{ commission_bps = 1, slippage_bps = 2 }}
[audit]
enabled = {"true" if audit else "false"}
"""
    )
    return path


def test_cli_runs_columnar_from_a_fresh_state_dir_twice_and_equals_the_object_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through ``ai-trading run`` in a subprocess, at the default floor: a fresh state dir, the
    same config a second time, and the audit-on (object path) run of the same data agree."""
    import subprocess
    import sys

    monkeypatch.undo()  # the subprocess uses the default floor; so does its config
    def run(config: Path, out: str) -> dict[str, Any]:
        proc = subprocess.run(
            [sys.executable, "-m", "ai_trading_core.cli", "run", str(config), "--json-out", out],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        doc: dict[str, Any] = json.loads((tmp_path / out).read_text())
        return doc

    columnar = _cli_config(tmp_path / "columns.toml", audit=False)
    first, second = run(columnar, "first.json"), run(columnar, "second.json")
    objects = run(_cli_config(tmp_path / "objects.toml", audit=True), "objects.json")
    # the columnar path wrote its decimals as scaled integers; the object path as text
    assert set(first["fills"]["data"]["price"]) == {"scale", "units"}
    assert isinstance(objects["fills"]["data"]["price"], list)
    assert first["metrics"]["fill_count"] > 50
    for doc in (second, objects):
        assert doc["final_equity"] == first["final_equity"] and doc["final_cash"] == first["final_cash"]
        for table in ("trades", "fills"):
            assert [{k: v for k, v in r.items() if k not in ID_COLUMNS} for r in rows(doc, table)] == [
                {k: v for k, v in r.items() if k not in ID_COLUMNS} for r in rows(first, table)
            ]
