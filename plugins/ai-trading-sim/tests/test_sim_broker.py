from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from ai_trading_sim import SimulatedBroker, SimulatedBrokerParams

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import OrderStatus, OrderType, Side, Timeframe, TimeInForce
from ai_trading_core.errors import BrokerError
from ai_trading_core.market import MarketSlice, to_datetime
from ai_trading_core.models import Instrument, Order
from ai_trading_core.protocols import BrokerContext
from ai_trading_core.testing.contracts import BatchBrokerContract, BrokerContract


class TestSimContract(BrokerContract):
    @pytest.fixture
    def broker(self) -> SimulatedBroker:
        return SimulatedBroker()


class TestSimBatchContract(BatchBrokerContract):
    @pytest.fixture
    def make_broker(self) -> Any:
        return lambda: SimulatedBroker(SimulatedBrokerParams(commission_bps=Decimal("2.5"), slippage_bps=Decimal("3")))


def connect(params: SimulatedBrokerParams | None = None) -> SimulatedBroker:
    b = SimulatedBroker(params)
    b.connect(BrokerContext(instruments={"AAA": Instrument(symbol="AAA")}, symbols=("AAA",),
                            initial_cash=Decimal(10_000), currency="USD", timeframe=Timeframe.D1, clock=SimulatedClock(0)))
    return b


def bar(o: float, h: float, lo: float, c: float, ts: int = 86_400 * 10**9) -> MarketSlice:
    a = lambda x: np.array([x])  # noqa: E731
    return MarketSlice(ts, ("AAA",), a(o), a(h), a(lo), a(c), a(1000.0))


def order(side: Side = Side.BUY, qty: str = "10", kind: OrderType = OrderType.MARKET, coid: str = "o1", **kw: object) -> Order:
    return Order(client_order_id=coid, symbol="AAA", side=side, quantity=Decimal(qty), order_type=kind,
                 created_at=to_datetime(0), **kw)  # type: ignore[arg-type]


def test_market_fills_at_next_open_with_slippage_and_commission() -> None:
    b = connect(SimulatedBrokerParams(commission_bps=Decimal(10), slippage_bps=Decimal(10), commission_minimum=Decimal(1)))
    b.submit_order(order())
    ev = b.on_market(bar(100.0, 105.0, 99.0, 104.0))
    (fill,) = ev.fills
    # 100 * 1.001 = 100.1 exactly; commission 10 * 100.1 * 0.001 = 1.001 (above the minimum)
    assert fill.price == Decimal("100.10")
    assert fill.commission == Decimal("1.0010")
    assert fill.timestamp == to_datetime(86_400 * 10**9)


def test_sell_slippage_rounds_against_trader() -> None:
    b = connect(SimulatedBrokerParams(slippage_bps=Decimal(3)))
    b.submit_order(order(Side.SELL))
    (fill,) = b.on_market(bar(100.0, 101.0, 99.0, 100.0)).fills
    # 100 * (1 - 0.0003) = 99.97 exactly
    assert fill.price == Decimal("99.97")
    b.submit_order(order(Side.SELL, coid="o2"))
    (fill2,) = b.on_market(bar(100.01, 101.0, 99.0, 100.0)).fills
    # 100.01 * 0.9997 = 99.979997 -> sells round down to 99.97
    assert fill2.price == Decimal("99.97")


def test_limit_and_stop_rules() -> None:
    b = connect()
    b.submit_order(order(kind=OrderType.LIMIT, limit_price=Decimal("98"), coid="lim"))
    assert b.on_market(bar(100, 101, 99, 100)).updates[0].status is OrderStatus.EXPIRED  # DAY: one bar
    b.submit_order(order(kind=OrderType.LIMIT, limit_price=Decimal("98"), coid="lim2", time_in_force=TimeInForce.GTC))
    assert not b.on_market(bar(100, 101, 99, 100)).fills
    (f,) = b.on_market(bar(99, 99.5, 97, 98)).fills
    assert f.price == Decimal("98")  # better of open (99) and limit (98) for a buy is 98
    b.submit_order(order(kind=OrderType.STOP, stop_price=Decimal("102"), coid="stop"))
    (s,) = b.on_market(bar(101, 103, 100, 102)).fills
    assert s.price == Decimal("102")  # worse of open 101 and stop 102 for a buy


def test_gap_through_limit_fills_at_open() -> None:
    b = connect()
    b.submit_order(order(Side.SELL, kind=OrderType.LIMIT, limit_price=Decimal("100")))
    (f,) = b.on_market(bar(103, 104, 102, 103)).fills
    assert f.price == Decimal("103")


def test_missing_bar_keeps_order_resting() -> None:
    b = connect()
    b.submit_order(order())
    assert not b.on_market(bar(np.nan, np.nan, np.nan, np.nan)).fills
    assert len(b.on_market(bar(100, 100, 100, 100)).fills) == 1


def test_unknown_symbol_is_refused() -> None:
    b = connect()
    with pytest.raises(BrokerError, match="unknown symbol"):
        b.submit_order(order().model_copy(update={"symbol": "ZZZ"}))


def test_cancel_removes_resting_order() -> None:
    b = connect()
    b.submit_order(order())
    assert b.cancel_order("o1").status is OrderStatus.CANCELLED
    assert not b.on_market(bar(100, 100, 100, 100)).fills


def volume_bar(o: float, volume: float, ts: int) -> MarketSlice:
    a = lambda x: np.array([x])  # noqa: E731
    return MarketSlice(ts, ("AAA",), a(o), a(o + 1), a(o - 1), a(o), a(volume))


def test_participation_cap_fills_part_and_rests_the_rest() -> None:
    b = connect(SimulatedBrokerParams(max_participation=0.1))
    b.submit_order(order(qty="250"))
    day = 86_400 * 10**9
    ev1 = b.on_market(volume_bar(100.0, 1000.0, day))  # 10% of 1000 = 100
    (f1,) = ev1.fills
    (u1,) = ev1.updates
    assert f1.quantity == Decimal(100) and u1.status is OrderStatus.PARTIALLY_FILLED
    assert b.lookup_order("o1").status is OrderStatus.PARTIALLY_FILLED  # type: ignore[union-attr]
    ev2 = b.on_market(volume_bar(101.0, 1230.0, 2 * day))  # 10% of 1230 = 123
    (f2,) = ev2.fills
    assert f2.quantity == Decimal(123) and f2.price == Decimal("101")
    ev3 = b.on_market(volume_bar(102.0, 5000.0, 3 * day))  # only 27 left
    (f3,) = ev3.fills
    assert f3.quantity == Decimal(27) and not ev3.updates
    assert b.lookup_order("o1").status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert len({f1.execution_id, f2.execution_id, f3.execution_id}) == 3
    assert b.positions() == {"AAA": Decimal(250)}


def test_participation_cap_is_shared_by_orders_on_one_symbol() -> None:
    b = connect(SimulatedBrokerParams(max_participation=0.05))
    b.submit_order(order(qty="30", coid="a"))
    b.submit_order(order(qty="30", coid="b"))
    ev = b.on_market(volume_bar(100.0, 1000.0, 86_400 * 10**9))  # 50 units between both
    assert [(f.client_order_id, f.quantity) for f in ev.fills] == [("a", Decimal(30)), ("b", Decimal(20))]


def test_participation_cap_without_volume_fills_nothing_and_cancel_stops_the_rest() -> None:
    b = connect(SimulatedBrokerParams(max_participation=0.5))
    b.submit_order(order(qty="10"))
    assert not b.on_market(volume_bar(100.0, float("nan"), 86_400 * 10**9)).fills
    (f,) = b.on_market(volume_bar(100.0, 8.0, 2 * 86_400 * 10**9)).fills
    assert f.quantity == Decimal(4)
    assert b.cancel_order("o1").status is OrderStatus.CANCELLED
    assert not b.on_market(volume_bar(100.0, 1000.0, 3 * 86_400 * 10**9)).fills


def test_participation_cap_leaves_notional_orders_whole() -> None:
    b = connect(SimulatedBrokerParams(max_participation=0.01))
    b.submit_order(order(qty="1", notional=Decimal("5000")))
    (f,) = b.on_market(volume_bar(100.0, 1000.0, 86_400 * 10**9)).fills
    assert f.quantity == Decimal(50)
