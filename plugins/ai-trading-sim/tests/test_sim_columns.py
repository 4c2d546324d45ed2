"""The columnar path prices, sizes and charges exactly as the object path: random bars
(prices on and off the tick, inferred and configured ticks), sides, slippage, commissions
and notional orders, one batch against the same orders one by one."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from ai_trading_sim import SimulatedBroker, SimulatedBrokerParams

from ai_trading_core.batch import OrderBatch, notional_decimal
from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import Side, Timeframe
from ai_trading_core.market import MarketSlice, to_datetime
from ai_trading_core.models import Instrument, Order
from ai_trading_core.protocols import BrokerContext

N = 60


def _connect(params: SimulatedBrokerParams, instruments: dict[str, Instrument], symbols: tuple[str, ...]) -> SimulatedBroker:
    b = SimulatedBroker(params)
    b.connect(
        BrokerContext(
            instruments=instruments, symbols=symbols, initial_cash=Decimal(10**6), currency="USD",
            timeframe=Timeframe.D1, clock=SimulatedClock(0),
        )
    )
    return b


def _market(rng: np.random.Generator, symbols: tuple[str, ...], places: np.ndarray) -> MarketSlice:
    n = len(symbols)
    base = rng.uniform(0.5, 400.0, n)
    o = base.copy()
    for k in range(n):  # mixed: some on the grid, some raw floats
        if places[k] >= 0:
            o[k] = round(float(base[k]), int(places[k]))
    spread = np.abs(rng.normal(0, 0.01, n)) * o
    h = o + spread * rng.uniform(0, 1, n)
    lo = o - spread * rng.uniform(0, 1, n)
    c = lo + (h - lo) * rng.uniform(0, 1, n)
    return MarketSlice(86_400 * 10**9, symbols, o, h, lo, c, np.full(n, 1e6))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("slippage", ["0", "2", "7.5"])
@pytest.mark.parametrize("costs", [False, True])
def test_columns_equal_objects(seed: int, slippage: str, costs: bool) -> None:
    rng = np.random.default_rng(seed)
    symbols = tuple(f"S{k:02d}" for k in range(N))
    ticks = [None, Decimal("0.01"), Decimal("0.05"), Decimal("1E-8"), Decimal("0.25")]
    lots = [Decimal(1), Decimal("0.001"), Decimal(10)]
    instruments = {}
    for k, s in enumerate(symbols):
        tick = ticks[k % len(ticks)]
        fields = {"symbol": s, "lot_size": lots[k % len(lots)]}
        if tick is not None:
            fields["tick_size"] = tick
        instruments[s] = Instrument(**fields)
    params = SimulatedBrokerParams(
        slippage_bps=Decimal(slippage),
        commission_bps=Decimal("3.5") if costs else Decimal(0),
        commission_per_unit=Decimal("0.005") if costs else Decimal(0),
        commission_minimum=Decimal("1") if costs else Decimal(0),
    )
    places = rng.choice([-1, 2, 3, 5, 8], N)
    market = _market(rng, symbols, places)
    side = np.where(rng.uniform(size=N) < 0.5, 1, -1).astype(np.int8)
    lot_units = np.array([int(instruments[s].lot_size.scaleb(3)) for s in symbols], dtype=np.int64)
    units = lot_units * rng.integers(1, 50, N)
    notional = np.where(rng.uniform(size=N) < 0.4, rng.uniform(50, 20_000, N), np.nan)
    notional[side < 0] = np.nan  # notionals are increases, buys here
    batch = OrderBatch(
        symbols=symbols, index=np.arange(N, dtype=np.int64), side=side, quantity=units / 1000.0, units=units,
        qty_scale=3, notional=notional, reduce_only=np.zeros(N, dtype=bool), seq=np.arange(1, N + 1),
        strategy=np.zeros(N, dtype=np.int16), strategy_ids=("s",), timestamp=0,
    )
    columns = _connect(params, instruments, symbols)
    columns.submit_batch(batch, np.arange(N))
    got = columns.on_market(market).batch
    objects = _connect(params, instruments, symbols)
    for k in range(N):
        fields = {
            "client_order_id": f"o{k}", "symbol": symbols[k], "side": Side.BUY if side[k] > 0 else Side.SELL,
            "quantity": batch.quantity_decimal(k), "created_at": to_datetime(0),
        }
        if notional[k] == notional[k]:
            fields["notional"] = notional_decimal(float(notional[k]))
        objects.submit_order(Order(**fields))
    want = {f.client_order_id: f for f in objects.on_market(market).fills}
    assert got is not None and got.fills is not None
    f = got.fills
    seen = set()
    for j in range(len(f)):
        row = int(f.row[j])
        seen.add(row)
        ref = want[f"o{row}"]
        assert Decimal(int(f.price[j])).scaleb(-f.price_scale) == ref.price, (row, symbols[row])
        assert Decimal(int(f.units[j])).scaleb(-f.qty_scale) == ref.quantity, (row, symbols[row])
        assert Decimal(f.commission[j]).scaleb(-f.money_scale) == ref.commission, (row, symbols[row])
    # what filled as objects filled as columns; the rest were notionals buying less than a lot
    assert seen == {int(c[1:]) for c in want}
    assert set(got.rejected) == set(range(N)) - seen
    assert len(seen) > N // 2
