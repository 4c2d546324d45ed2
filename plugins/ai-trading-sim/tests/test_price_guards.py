"""The simulated broker's price guards: tick from the data, fills inside the bar, fill-price
sanity (fail-closed before anything in the bar is filled)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from ai_trading_sim import FillPriceError, SimulatedBroker, SimulatedBrokerParams, data_tick
from pydantic import ValidationError

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import OrderStatus, OrderType, Side, Timeframe
from ai_trading_core.market import MarketSlice, to_datetime
from ai_trading_core.models import Instrument, Order
from ai_trading_core.protocols import BrokerContext

DAY = 86_400 * 10**9


def connect(tick: str | None = None, **params: object) -> SimulatedBroker:
    b = SimulatedBroker(SimulatedBrokerParams(**params))  # type: ignore[arg-type]
    insts = {s: (Instrument(symbol=s) if tick is None else Instrument(symbol=s, tick_size=Decimal(tick)))
             for s in ("AAA", "BBB")}
    b.connect(BrokerContext(instruments=insts, symbols=("AAA", "BBB"), initial_cash=Decimal(10_000),
                            currency="USD", timeframe=Timeframe.D1, clock=SimulatedClock(0)))
    return b


def bars(aaa: tuple[float, float, float, float], bbb: tuple[float, float, float, float]) -> MarketSlice:
    """One bar per symbol, (open, high, low, close)."""
    o, h, lo, c = (np.array([aaa[k], bbb[k]]) for k in range(4))
    return MarketSlice(DAY, ("AAA", "BBB"), o, h, lo, c, np.full(2, 1e6))


def order(side: Side = Side.BUY, symbol: str = "AAA", coid: str = "o1", qty: str = "10", **kw: object) -> Order:
    return Order(client_order_id=coid, symbol=symbol, side=side, quantity=Decimal(qty),
                 order_type=kw.pop("order_type", OrderType.MARKET), created_at=to_datetime(0), **kw)  # type: ignore[arg-type]


def test_data_tick() -> None:
    assert data_tick(100.0, 101.5) == Decimal("0.01")  # never coarser than 0.01
    assert data_tick(0.004, 0.005) == Decimal("0.001")
    assert data_tick(1.5e-7) == Decimal("1E-8")
    assert data_tick(0.1 + 0.2) == Decimal("1E-10")  # a float's full repr: capped at 10 places
    assert data_tick(float("nan"), None, Decimal("12.125")) == Decimal("0.001")


@pytest.mark.parametrize(("side", "expected"), [(Side.SELL, "0.004"), (Side.BUY, "0.004")])
def test_sub_cent_open_fills_at_the_data_tick(side: Side, expected: str) -> None:
    """Unconfigured tick: a 0.004 open is filled at 0.004 (not 0 for a sell, 0.01 for a buy)."""
    b = connect()
    b.submit_order(order(side))
    (fill,) = b.on_market(bars((0.004, 0.005, 0.003, 0.004), (1.0, 1.0, 1.0, 1.0))).fills
    assert fill.price == Decimal(expected)


def test_slippage_is_clamped_to_the_bar() -> None:
    """A buy slipped above a bar that opened at its high fills at the high; a sell below a
    bar that opened at its low fills at the low."""
    b = connect(slippage_bps=Decimal(50))
    b.submit_order(order(Side.BUY, "AAA", "buy"))
    b.submit_order(order(Side.SELL, "BBB", "sell"))
    fills = b.on_market(bars((100.0, 100.0, 98.0, 99.0), (50.0, 51.0, 50.0, 50.5))).fills
    prices = {f.symbol: f.price for f in fills}
    assert prices == {"AAA": Decimal("100"), "BBB": Decimal("50")}
    # with room in the bar the slippage applies in full
    b.submit_order(order(Side.BUY, "AAA", "buy2"))
    (f,) = b.on_market(bars((100.0, 102.0, 98.0, 99.0), (50.0, 51.0, 49.0, 50.5))).fills
    assert f.price == Decimal("100.5")


def test_rounding_snaps_inside_the_bar_when_it_can() -> None:
    """Configured tick 0.05. Bar 10.01 .. 10.07, buy at the 10.06 open: rounding up gives
    10.10, above the high; the highest tick price inside the bar, 10.05, is the fill. Bar
    10.01 .. 10.04 holds no 0.05 price: the rounded 10.05 stands (outside by less than a tick)."""
    b = connect(tick="0.05")
    b.submit_order(order(Side.BUY, "AAA", "a"))
    (f,) = b.on_market(bars((10.06, 10.07, 10.01, 10.03), (1.0, 1.0, 1.0, 1.0))).fills
    assert f.price == Decimal("10.05")
    b.submit_order(order(Side.BUY, "AAA", "b"))
    (g,) = b.on_market(bars((10.02, 10.04, 10.01, 10.03), (1.0, 1.0, 1.0, 1.0))).fills
    assert g.price == Decimal("10.05")


def test_limit_rounding_never_crosses_the_limit() -> None:
    b = connect(tick="0.05")
    b.submit_order(order(Side.BUY, "AAA", "lim", order_type=OrderType.LIMIT, limit_price=Decimal("10.07")))
    (f,) = b.on_market(bars((10.2, 10.3, 10.0, 10.1), (1.0, 1.0, 1.0, 1.0))).fills
    assert f.price == Decimal("10.05")  # at most the limit, on the tick


def test_price_rounded_to_zero_raises_before_anything_fills() -> None:
    """BBB would fill; AAA's price rounds to zero: FillPriceError, and neither order filled,
    both still resting (the engine halts and cancels them)."""
    b = connect(tick="0.01")
    b.submit_order(order(Side.BUY, "BBB", "fine"))
    b.submit_order(order(Side.SELL, "AAA", "zero"))
    expected = r"fill price 0 for sell 10 AAA .* rounds to zero \(reference 0.004, tick 0.01\)"
    with pytest.raises(FillPriceError, match=expected):
        b.on_market(bars((0.004, 0.005, 0.003, 0.004), (5.0, 5.1, 4.9, 5.0)))
    assert b.positions() == {}
    assert {o.client_order_id for o in b._resting} == {"fine", "zero"}
    assert b.cancel_order("zero").status is OrderStatus.CANCELLED


def test_a_large_rounding_move_raises() -> None:
    b = connect(tick="0.01")
    b.submit_order(order(Side.BUY))
    with pytest.raises(FillPriceError, match=r"moves 81.82% from the reference 0.011 .* more than max_fill_move 5.00%"):
        b.on_market(bars((0.011, 0.011, 0.011, 0.011), (1.0, 1.0, 1.0, 1.0)))
    # allowed with a looser limit
    b2 = connect(tick="0.01", max_fill_move=0.9)
    b2.submit_order(order(Side.BUY))
    (f,) = b2.on_market(bars((0.011, 0.011, 0.011, 0.011), (1.0, 1.0, 1.0, 1.0))).fills
    assert f.price == Decimal("0.02")


def test_slippage_must_be_below_max_fill_move() -> None:
    with pytest.raises(ValidationError, match="slippage_bps .* must be below max_fill_move"):
        SimulatedBrokerParams(slippage_bps=Decimal(500), max_fill_move=0.05)
    SimulatedBrokerParams(slippage_bps=Decimal(499), max_fill_move=0.05)
