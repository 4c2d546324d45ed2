"""The alpaca broker against a local server speaking Alpaca's REST and websocket formats,
driven through alpaca-py itself. Faults: 504/500/dropped/hung replies after accepting an
order, 429, duplicated fill events, dropped sockets, positions that do not reconcile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from ai_trading_alpaca.config import AlpacaBrokerParams
from ai_trading_alpaca.errors import NotReconciled
from ai_trading_alpaca.execution import AlpacaBroker
from pydantic import SecretStr

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import OrderStatus, Side, Timeframe
from ai_trading_core.errors import BrokerTimeout, TradingHalted
from ai_trading_core.market import MarketSlice
from ai_trading_core.models import Alert, Instrument, Order, utc
from ai_trading_core.protocols import BrokerContext, BrokerEvents

SYMBOLS = ("AAPL", "MSFT")


def market() -> MarketSlice:
    ones = np.ones(len(SYMBOLS))
    return MarketSlice(0, SYMBOLS, ones, ones, ones, ones, ones)


def order(coid: str = "ait-1", qty: str = "10", side: Side = Side.BUY, symbol: str = "AAPL") -> Order:
    return Order(
        client_order_id=coid, symbol=symbol, side=side, quantity=Decimal(qty), created_at=utc(2024, 1, 2)
    )


class Harness:
    def __init__(self, server: Any, **params: Any) -> None:
        self.sleeps: list[float] = []
        self.alerts: list[Alert] = []
        defaults: dict[str, Any] = {
            "base_url": server.url,
            "stream_url": server.stream_url,
            "request_timeout_s": 0.5,
            "stale_after_s": 1.0,
        }
        defaults.update(params)
        self.broker = AlpacaBroker(
            AlpacaBrokerParams(**defaults),
            SecretStr("PKTEST"),
            SecretStr("s3cr3t-value"),
            alert=self.alerts.append,
            sleep=self.sleeps.append,
        )
        self.clock = SimulatedClock(0)

    def connect(self) -> AlpacaBroker:
        self.broker.connect(
            BrokerContext(
                instruments={s: Instrument(symbol=s) for s in SYMBOLS},
                symbols=SYMBOLS,
                initial_cash=Decimal(100_000),
                currency="USD",
                timeframe=Timeframe.D1,
                clock=self.clock,
            )
        )
        return self.broker

    def collect(self, until: Any, timeout: float = 5.0) -> BrokerEvents:
        """Call on_market until ``until(events)`` holds (the stream delivers asynchronously)."""
        total = BrokerEvents()
        deadline = time.monotonic() + timeout
        while True:
            ev = self.broker.on_market(market())
            total.fills += ev.fills
            total.updates += ev.updates
            if until(total) or time.monotonic() > deadline:
                return total
            time.sleep(0.05)


@pytest.fixture
def rest_only(alpaca_server: Any) -> Iterator[Harness]:
    h = Harness(alpaca_server, stream=False)
    h.connect()
    yield h
    h.broker.close()


@pytest.mark.parametrize(
    "fault", ["accept_then_504", "accept_then_500", "accept_then_drop", "accept_then_hang"]
)
def test_alpaca_lost_answer_is_unknown_and_found_by_lookup(
    alpaca_server: Any, rest_only: Harness, fault: str
) -> None:
    alpaca_server.order_faults.append(fault)
    alpaca_server.hang_s = 2.0
    with pytest.raises(BrokerTimeout):
        rest_only.broker.submit_order(order())
    # one HTTP request: alpaca-py's own retry of 504 is off, nothing was resent
    assert alpaca_server.order_posts == 1
    found = rest_only.broker.lookup_order("ait-1")
    assert found is not None and found.status is OrderStatus.ACCEPTED
    assert list(alpaca_server.orders) == ["ait-1"]


def test_alpaca_429_is_retried_with_backoff_and_places_one_order(
    alpaca_server: Any, rest_only: Harness
) -> None:
    alpaca_server.order_faults += ["429", "429"]
    upd = rest_only.broker.submit_order(order())
    assert upd.status is OrderStatus.ACCEPTED
    assert alpaca_server.order_posts == 3 and len(alpaca_server.orders) == 1
    assert rest_only.sleeps == [1.0, 2.0]  # no Retry-After: doubling from rate_limit_wait_s


def test_alpaca_429_waits_as_long_as_retry_after_says(alpaca_server: Any, rest_only: Harness) -> None:
    alpaca_server.order_faults += ["429_retry_after", "429_retry_after"]
    alpaca_server.retry_after_s = "7"
    upd = rest_only.broker.submit_order(order())
    assert upd.status is OrderStatus.ACCEPTED
    assert alpaca_server.order_posts == 3 and len(alpaca_server.orders) == 1
    assert rest_only.sleeps == [7.0, 7.0]


def test_alpaca_500_before_accepting_is_unknown_then_rejected_by_lookup(
    alpaca_server: Any, rest_only: Harness
) -> None:
    alpaca_server.order_faults.append("500")
    with pytest.raises(BrokerTimeout):
        rest_only.broker.submit_order(order())
    assert rest_only.broker.lookup_order("ait-1") is None  # the engine then rejects it; nothing resent
    assert alpaca_server.orders == {}


def test_alpaca_resubmission_of_a_known_id_returns_the_existing_order(alpaca_server: Any) -> None:
    first = Harness(alpaca_server, stream=False)
    first.connect()
    a = first.broker.submit_order(order())
    first.broker.close()
    # A restarted process cancels what it finds open, then the same intent is sent again:
    # Alpaca answers 422 (never reuses an id, even after a cancel); the broker looks it up.
    second = Harness(alpaca_server, stream=False)
    second.connect()
    b = second.broker.submit_order(order())
    assert b.client_order_id == a.client_order_id and b.broker_order_id == a.broker_order_id
    assert b.status is OrderStatus.CANCELLED
    assert len(alpaca_server.orders) == 1 and alpaca_server.order_posts == 2
    second.broker.close()


def test_alpaca_duplicate_fill_event_applied_once(alpaca_server: Any) -> None:
    alpaca_server.duplicate_fills = True
    alpaca_server.prices["AAPL"] = Decimal("187.23")
    h = Harness(alpaca_server)
    h.connect()
    try:
        deadline = time.monotonic() + 5
        while not alpaca_server._sockets and time.monotonic() < deadline:
            time.sleep(0.02)
        h.broker.submit_order(order(qty="10"))
        alpaca_server.call(alpaca_server.fill, "ait-1", "4", "187.23")
        alpaca_server.call(alpaca_server.fill, "ait-1", "6", "187.25")
        events = h.collect(lambda ev: sum(f.quantity for f in ev.fills) >= 10)
        time.sleep(0.2)
        events.fills += h.broker.on_market(market()).fills
        # Normally both executions arrive on the stream (each sent twice, applied once). Under
        # heavy load the stream may subscribe late and the REST reconciliation recovers the
        # same executions as one aggregated fill instead; either way each share counts once.
        assert sum(f.quantity for f in events.fills) == Decimal(10)
        assert sum(f.quantity * f.price for f in events.fills) == Decimal(4) * Decimal("187.23") + Decimal(
            6
        ) * Decimal("187.25")
        assert len({f.execution_id for f in events.fills}) == len(events.fills)
        assert h.broker.mismatch is None and h.broker.reconcile()
    finally:
        h.broker.close()


def test_alpaca_fill_during_socket_gap_recovered_over_rest_once(alpaca_server: Any) -> None:
    alpaca_server.prices["AAPL"] = Decimal("100")
    h = Harness(alpaca_server)
    h.connect()
    try:
        h.broker.submit_order(order(qty="10"))
        alpaca_server.call(alpaca_server.drop_sockets)
        alpaca_server.call(alpaca_server.fill, "ait-1", "10", "100.5")  # sent to nobody
        events = h.collect(lambda ev: len(ev.fills) >= 1)
        assert [(f.quantity, f.price) for f in events.fills] == [(Decimal(10), Decimal("100.5"))]
        # the stream reconnects; nothing more arrives for the same execution
        deadline = time.monotonic() + 5
        while alpaca_server.ws_connections < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alpaca_server.ws_connections >= 2
        assert h.broker.on_market(market()).fills == []
    finally:
        h.broker.close()


def test_alpaca_silent_handshake_is_abandoned_and_retried(alpaca_server: Any) -> None:
    alpaca_server.silent_handshake = True
    h = Harness(alpaca_server, stale_after_s=0.5)
    h.connect()
    try:
        deadline = time.monotonic() + 5
        while alpaca_server.ws_connections < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alpaca_server.ws_connections >= 2  # gave up on the hung handshake and reconnected
    finally:
        h.broker.close()


def test_alpaca_positions_not_reconciled_refuse_trading(alpaca_server: Any) -> None:
    alpaca_server.positions["MSFT"] = Decimal(5)
    h = Harness(alpaca_server, stream=False)
    h.connect()
    try:
        with pytest.raises(TradingHalted):
            h.broker.submit_order(order())
        assert alpaca_server.order_posts == 0
        assert "MSFT: account 5, expected 0" in (h.broker.mismatch or "")
        assert [a.key for a in h.alerts] == ["alpaca:reconcile"]
        alpaca_server.positions["MSFT"] = Decimal(0)
        h.clock.advance(120)
        h.broker.on_market(market())  # periodic reconciliation
        assert h.broker.mismatch is None
        h.broker.submit_order(order())
        assert alpaca_server.order_posts == 1
    finally:
        h.broker.close()


def test_alpaca_fill_landing_during_reconciliation_is_in_flight_not_a_mismatch(
    alpaca_server: Any, rest_only: Harness
) -> None:
    """The account shows a fill of our own open order before the order poll does (it landed
    between the two reads): no halt; the next step's poll applies the fill and reconciles.
    A difference larger than what our open orders could still fill is a mismatch."""
    h = rest_only
    h.broker.submit_order(order("ait-1", "10"))
    alpaca_server.positions["AAPL"] = Decimal(10)  # the position moved; the order still reads "accepted"
    assert h.broker.reconcile(BrokerEvents()) is True
    assert h.broker.mismatch is None and not h.alerts
    assert alpaca_server.order_posts == 1

    alpaca_server.positions["AAPL"] = Decimal(0)  # the server's fill books the 10 itself
    asyncio.run_coroutine_threadsafe(alpaca_server.fill("ait-1", "10", "100"), alpaca_server._loop).result(5)
    events = h.broker.on_market(market())  # due again: polls the fill, then reconciles clean
    assert [(f.symbol, f.quantity) for f in events.fills] == [("AAPL", Decimal(10))]
    assert h.broker.mismatch is None and h.broker.reconcile()

    h.broker.submit_order(order("ait-2", "5", Side.SELL))
    alpaca_server.positions["AAPL"] = Decimal(-1)  # 11 units down with 5 for sale: not ours
    assert h.broker.reconcile(BrokerEvents()) is False
    assert "AAPL: account -1, expected 10" in (h.broker.mismatch or "")
    with pytest.raises(TradingHalted):
        h.broker.submit_order(order("ait-3"))


def test_alpaca_open_orders_on_start_cancelled_or_refused(alpaca_server: Any) -> None:
    first = Harness(alpaca_server, stream=False)
    first.connect()
    first.broker.submit_order(order("ait-old"))
    first.broker.close()
    refuse = Harness(alpaca_server, stream=False, on_start_open_orders="refuse")
    refuse.connect()
    with pytest.raises(NotReconciled):
        refuse.broker.submit_order(order("ait-new"))
    refuse.broker.close()
    cancel = Harness(alpaca_server, stream=False)
    cancel.connect()
    assert alpaca_server.orders["ait-old"]["status"] == "canceled"
    cancel.broker.close()


def test_alpaca_cancel(alpaca_server: Any, rest_only: Harness) -> None:
    rest_only.broker.submit_order(order())
    assert rest_only.broker.cancel_order("ait-1").status is OrderStatus.CANCEL_PENDING
    events = rest_only.broker.on_market(market())
    assert [u.status for u in events.updates] == [OrderStatus.CANCELLED]


def test_alpaca_secrets_never_in_repr_or_errors(alpaca_server: Any, rest_only: Harness) -> None:
    alpaca_server.order_faults.append("accept_then_504")
    with pytest.raises(BrokerTimeout) as info:
        rest_only.broker.submit_order(order())
    assert "s3cr3t" not in str(info.value) and "s3cr3t" not in repr(rest_only.broker)


def test_alpaca_new_run_starts_from_the_account_and_reconciles_cash(alpaca_server: Any) -> None:
    """A new run takes the account's cash and positions; a cash difference beyond
    ``cash_tolerance`` (a withdrawal nobody booked) refuses trading with a CRITICAL alert."""
    alpaca_server.cash = Decimal("54321.09")
    alpaca_server.positions = {"AAPL": Decimal(7), "TSLA": Decimal(3)}
    h = Harness(alpaca_server, stream=False, cash_tolerance="0.01")
    h.broker.connect(
        BrokerContext(
            instruments={s: Instrument(symbol=s) for s in SYMBOLS},
            symbols=SYMBOLS,
            initial_cash=Decimal(100_000),
            currency="USD",
            timeframe=Timeframe.D1,
            clock=h.clock,
            adopt_account=True,
        )
    )
    try:
        account = h.broker.account_state()
        assert account is not None and account.cash == Decimal("54321.09")
        assert account.positions == {"AAPL": (Decimal(7), Decimal(100))}  # TSLA is not the run's
        assert h.broker.reconcile() and h.broker.mismatch is None
        alpaca_server.cash -= Decimal("0.02")
        assert not h.broker.reconcile()
        assert "cash: account 54321.07, expected 54321.09" in (h.broker.mismatch or "")
        assert [a.severity.value for a in h.alerts] == ["critical"]
        with pytest.raises(NotReconciled):
            h.broker.submit_order(order("ait-after"))
    finally:
        h.broker.close()


def test_alpaca_fill_recovered_over_rest_is_booked_at_each_execution_price(
    alpaca_server: Any, rest_only: Harness
) -> None:
    """Alpaca's average price is rounded (to the cent here); the account's FILL activities
    give each execution's own price, so cash moves exactly."""
    rest_only.broker.submit_order(order(qty="3"))
    alpaca_server.call(alpaca_server.fill, "ait-1", "1", "100.01")  # no stream: REST only
    alpaca_server.call(alpaca_server.fill, "ait-1", "2", "100.02")
    assert alpaca_server.orders["ait-1"]["filled_avg_price"] == "100.02"  # (100.01 + 2 * 100.02) / 3, rounded
    events = rest_only.broker.on_market(market())
    assert sorted((f.quantity, f.price) for f in events.fills) == [
        (Decimal(1), Decimal("100.01")),
        (Decimal(2), Decimal("100.02")),
    ]
    assert rest_only.broker.on_market(market()).fills == []  # booked once
