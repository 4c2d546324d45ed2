"""The ccxt broker driving ccxt.binance against the local Binance server. Faults: a reply
that never comes after the order was accepted, HTTP 5xx after accepting, 429 and 5xx
refusals, duplicated trades; balances that do not reconcile; keys never in errors."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from ai_trading_ccxt.config import CcxtBrokerParams
from ai_trading_ccxt.errors import NotReconciled
from ai_trading_ccxt.execution import CcxtBroker
from pydantic import SecretStr

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import OrderStatus, OrderType, Side, Timeframe
from ai_trading_core.errors import BrokerError, BrokerTimeout
from ai_trading_core.market import MarketSlice
from ai_trading_core.models import Alert, Instrument, Order, utc
from ai_trading_core.protocols import BrokerContext, BrokerEvents

SYMBOLS = ("BTC/USDT", "ETH/USDT")


def market() -> MarketSlice:
    ones = np.ones(len(SYMBOLS))
    return MarketSlice(0, SYMBOLS, ones, ones, ones, ones, ones)


def order(
    coid: str = "ait-1", qty: str = "0.01", side: Side = Side.BUY, symbol: str = "BTC/USDT", **extra: Any
) -> Order:
    return Order(
        client_order_id=coid,
        symbol=symbol,
        side=side,
        quantity=Decimal(qty),
        created_at=utc(2024, 1, 2),
        **extra,
    )


@pytest.fixture
def harness(binance_server: Any) -> Iterator[Any]:
    sleeps: list[float] = []
    alerts: list[Alert] = []
    clock = SimulatedClock(0)

    def make(**params: Any) -> CcxtBroker:
        defaults: dict[str, Any] = {"urls": binance_server.urls, "request_timeout_s": 0.5, "rate_limit_ms": 1}
        defaults.update(params)
        return CcxtBroker(
            CcxtBrokerParams(**defaults),
            SecretStr(binance_server.api_key),
            SecretStr(binance_server.secret),
            alert=alerts.append,
            sleep=sleeps.append,
        )

    def connect(broker: CcxtBroker, **context: Any) -> CcxtBroker:
        broker.connect(
            BrokerContext(
                instruments={s: Instrument(symbol=s) for s in SYMBOLS},
                symbols=SYMBOLS,
                initial_cash=Decimal(100_000),
                currency="USDT",
                timeframe=Timeframe.H1,
                clock=clock,
                **context,
            )
        )
        return broker

    class H:
        pass

    h = H()
    h.make, h.connect, h.sleeps, h.alerts, h.clock = make, connect, sleeps, alerts, clock  # type: ignore[attr-defined]
    h.broker = connect(make())  # type: ignore[attr-defined]
    yield h
    h.broker.close()  # type: ignore[attr-defined]


def collect(broker: CcxtBroker, steps: int = 1) -> BrokerEvents:
    total = BrokerEvents()
    for _ in range(steps):
        ev = broker.on_market(market())
        total.fills += ev.fills
        total.updates += ev.updates
    return total


@pytest.mark.parametrize("fault", ["accept_then_hang", "accept_then_500", "accept_then_503"])
def test_ccxt_lost_answer_is_unknown_and_found_by_client_id(
    binance_server: Any, harness: Any, fault: str
) -> None:
    binance_server.order_faults.append(fault)
    binance_server.hang_s = 1.5
    with pytest.raises(BrokerTimeout):
        harness.broker.submit_order(order())
    assert binance_server.order_posts == 1  # ccxt did not retry; nothing was resent
    found = harness.broker.lookup_order("ait-1")
    assert found is not None and found.status is OrderStatus.ACCEPTED
    # the engine asking again with the same intent gets the existing order, not a new one
    again = harness.broker.submit_order(order())
    assert again.broker_order_id == found.broker_order_id
    assert binance_server.order_posts == 1 and len(binance_server.order_by_client_id("ait-1")) == 1


def test_ccxt_timeout_of_a_filled_order_is_never_resent(binance_server: Any, harness: Any) -> None:
    # Binance accepts a repeated client order id once the first order is filled: a blind
    # resend would buy twice. The broker looks it up instead.
    binance_server.auto_fill = True
    binance_server.prices["BTCUSDT"] = Decimal("42000.50")
    binance_server.order_faults.append("accept_then_hang")
    binance_server.hang_s = 1.5
    with pytest.raises(BrokerTimeout):
        harness.broker.submit_order(order(qty="0.01"))
    assert harness.broker.submit_order(order(qty="0.01")).status is OrderStatus.ACCEPTED
    events = collect(harness.broker)
    assert binance_server.order_posts == 1
    assert [(f.quantity, f.price) for f in events.fills] == [(Decimal("0.01"), Decimal("42000.5"))]
    assert events.fills[0].commission == Decimal("0.42000500")  # 0.1 % of 420.005 USDT, in the quote asset


def test_ccxt_refusals_before_processing(binance_server: Any, harness: Any) -> None:
    binance_server.order_faults += ["429", "429"]
    upd = harness.broker.submit_order(order())
    assert upd.status is OrderStatus.ACCEPTED
    assert binance_server.order_posts == 3 and len(binance_server.orders) == 1
    assert harness.sleeps == [1.0, 2.0]  # backoff doubling from rate_limit_wait_s
    binance_server.order_faults += ["500"]  # refused before processing, but the client cannot know
    with pytest.raises(BrokerTimeout):
        harness.broker.submit_order(order("ait-2"))
    assert harness.broker.lookup_order("ait-2") is None  # the engine then declares it rejected


def test_ccxt_duplicate_client_order_id_is_looked_up(binance_server: Any, harness: Any) -> None:
    limit = order("ait-9", qty="0.01", order_type=OrderType.LIMIT, limit_price=Decimal("30000"))
    other = harness.connect(harness.make())  # a second process, connected before the order exists
    first = harness.broker.submit_order(limit)
    # the second process sends the same intent: Binance answers
    # -2010 "Duplicate order sent." and the broker returns the open order
    dup = other.submit_order(limit)
    assert dup.broker_order_id == first.broker_order_id and dup.status is OrderStatus.ACCEPTED
    assert len(binance_server.order_by_client_id("ait-9")) == 1
    other.close()


def test_ccxt_rejections_are_broker_errors(binance_server: Any, harness: Any) -> None:
    with pytest.raises(BrokerError, match="insufficient balance") as info:
        harness.broker.submit_order(order("ait-3", qty="5", side=Side.SELL))
    assert not isinstance(info.value, BrokerTimeout)
    assert binance_server.secret not in str(info.value) and binance_server.api_key not in str(info.value)
    assert binance_server.secret not in repr(harness.broker)


def test_ccxt_fills_applied_once_with_duplicated_trades(binance_server: Any, harness: Any) -> None:
    binance_server.duplicate_trades = True
    limit = order("ait-4", qty="0.03", order_type=OrderType.LIMIT, limit_price=Decimal("41000"))
    harness.broker.submit_order(limit)
    placed = binance_server.order_by_client_id("ait-4")[0]
    binance_server.fill(placed, Decimal("0.01"), Decimal("41000"))
    first = collect(harness.broker, steps=2)
    binance_server.fill(placed, Decimal("0.02"), Decimal("40999.99"))
    second = collect(harness.broker, steps=3)
    fills = first.fills + second.fills
    assert [f.quantity for f in fills] == [Decimal("0.01"), Decimal("0.02")]
    assert len({f.execution_id for f in fills}) == 2
    assert fills[1].price == Decimal("40999.99")
    assert harness.broker.positions()["BTC/USDT"] == Decimal("0.03")
    assert harness.broker.reconcile() and harness.broker.mismatch is None
    # a lookup acknowledges; the fills (already applied) move the engine's order to FILLED
    looked = harness.broker.lookup_order("ait-4")
    assert (
        looked is not None
        and looked.status is OrderStatus.ACCEPTED
        and looked.filled_quantity == Decimal("0.03")
    )


def test_ccxt_cancel_partially_filled_order(binance_server: Any, harness: Any) -> None:
    limit = order("ait-5", qty="0.02", order_type=OrderType.LIMIT, limit_price=Decimal("41000"))
    harness.broker.submit_order(limit)
    placed = binance_server.order_by_client_id("ait-5")[0]
    binance_server.fill(placed, Decimal("0.005"), Decimal("41000"))
    assert harness.broker.cancel_order("ait-5").status is OrderStatus.CANCEL_PENDING
    events = collect(harness.broker)
    assert [f.quantity for f in events.fills] == [Decimal("0.005")]
    assert [u.status for u in events.updates] == [OrderStatus.CANCELLED]
    assert harness.broker.cancel_order("ait-5").status is OrderStatus.CANCELLED  # terminal: no request
    # not found is not "never placed": it may be accepted late, so it stays unknown
    assert harness.broker.cancel_order("never-sent").status is OrderStatus.UNKNOWN


def test_ccxt_balance_mismatch_refuses_trading_and_alerts(binance_server: Any, harness: Any) -> None:
    binance_server.balances["ETH"] = Decimal("1.5")  # moved outside this run
    harness.clock.advance(3600)
    collect(harness.broker)
    assert harness.broker.mismatch and "ETH/USDT" in harness.broker.mismatch
    assert len(harness.alerts) == 1 and harness.alerts[0].severity.value == "critical"
    with pytest.raises(NotReconciled):
        harness.broker.submit_order(order("ait-6"))
    binance_server.balances["ETH"] = Decimal("0")
    assert harness.broker.reconcile() and harness.broker.mismatch is None


def test_ccxt_open_orders_on_start_are_cancelled_or_refused(binance_server: Any, harness: Any) -> None:
    limit = order("foreign-1", qty="0.01", order_type=OrderType.LIMIT, limit_price=Decimal("30000"))
    harness.broker.submit_order(limit)
    refusing = harness.connect(harness.make(on_start_open_orders="refuse"))
    assert refusing.mismatch and "foreign-1" in refusing.mismatch
    cancelling = harness.connect(harness.make())
    assert cancelling.mismatch is None
    assert binance_server.order_by_client_id("foreign-1")[0]["status"] == "CANCELED"


def test_ccxt_refuses_to_resume_a_run_and_stays_refused(binance_server: Any, harness: Any) -> None:
    # a recovered ledger (ai_trading_core.recovery)
    broker = harness.connect(harness.make(), positions={SYMBOLS[0]: Decimal("0.5")})
    try:
        assert broker.mismatch and "resuming a run is not supported" in broker.mismatch
        with pytest.raises(NotReconciled):
            broker.submit_order(order("ait-resume"))
        harness.clock.advance(3600)
        collect(broker)  # a periodic reconciliation with agreeing balances does not lift it
        assert broker.mismatch and "run.resume = false" in broker.mismatch
        assert binance_server.order_posts == 0
    finally:
        broker.close()
