"""One order per intent: the order state machine's stale updates and contradictions, and the
engine keeping an order whose answer was lost in flight until the broker shows it (the
subprocess scenarios against local broker servers are in the alpaca and ccxt plugins)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from ai_trading_sim import SimulatedBroker

from ai_trading_core import hookimpl
from ai_trading_core.config import config_from_dict
from ai_trading_core.enums import OrderStatus, RiskState, Side
from ai_trading_core.errors import BrokerError, BrokerTimeout, InvalidOrderTransition
from ai_trading_core.market import to_datetime
from ai_trading_core.models import Order
from ai_trading_core.orders import OrderBook, is_stale, transition
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.runner import run_config

S = OrderStatus


def _order(coid: str = "x", side: Side = Side.BUY) -> Order:
    return Order(client_order_id=coid, symbol="X", side=side, quantity=Decimal(10), created_at=to_datetime(0))


def test_late_acceptance_goes_from_unknown_to_filled_never_through_rejected() -> None:
    o = _order()
    transition(o, S.SUBMITTED)
    transition(o, S.UNKNOWN)
    transition(o, S.UNKNOWN)  # still not found: stays unknown
    transition(o, S.ACCEPTED)
    transition(o, S.FILLED)
    r = _order("y")
    transition(r, S.REJECTED)
    with pytest.raises(InvalidOrderTransition, match="rejected -> accepted"):
        transition(r, S.ACCEPTED)


@pytest.mark.parametrize(
    ("current", "update", "stale"),
    [
        (S.FILLED, S.ACCEPTED, True),  # an "accepted" event delivered after the fill
        (S.FILLED, S.PARTIALLY_FILLED, True),  # a partial after the final fill
        (S.CANCELLED, S.CANCEL_PENDING, True),
        (S.PARTIALLY_FILLED, S.ACCEPTED, True),
        (S.ACCEPTED, S.FILLED, False),
        (S.REJECTED, S.ACCEPTED, False),  # a contradiction, not a stale event
        (S.FILLED, S.CANCELLED, False),
        (S.UNKNOWN, S.ACCEPTED, False),
    ],
)
def test_stale_updates_are_told_apart_from_contradictions(current: S, update: S, stale: bool) -> None:
    assert is_stale(current, update) is stale


def test_order_book_in_flight_lists_open_orders_of_a_symbol() -> None:
    book = OrderBook()
    a, b = _order("a"), _order("b", Side.SELL)
    book.add(a)
    book.add(b)
    transition(b, S.REJECTED)
    book.settle(b)
    assert book.in_flight("X") == [a] and book.in_flight("Y") == []


class LateAcceptingBroker(SimulatedBroker):
    """Fakes a broker that holds every order request past the client's timeout and accepts
    it ``delay_bars`` bars later: the caller sees a timeout, lookups answer "not found" until
    the order appears."""

    unknown_order_budget_s = 60.0  # a venue that accepts late (the simulated one cannot)

    def __init__(self, delay_bars: int = 3) -> None:
        super().__init__()
        self.delay_bars = delay_bars
        self.bars = 0
        self.requests = 0
        self._held: list[tuple[int, Order]] = []

    def submit_order(self, order: Order) -> Any:
        self.requests += 1
        self._held.append((self.bars + self.delay_bars, order.model_copy()))
        raise BrokerTimeout("read timed out")

    def on_market(self, market: Any) -> Any:
        self.bars += 1
        due = [o for t, o in self._held if t <= self.bars]
        self._held = [(t, o) for t, o in self._held if t > self.bars]
        for order in due:
            super().submit_order(order)
        return super().on_market(market)


class RefusingOnceBroker(SimulatedBroker):
    """Fakes a broker that refuses the first order of each symbol (403 insufficient buying
    power) and accepts the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: set[str] = set()

    def submit_order(self, order: Order) -> Any:
        if order.symbol not in self.refused:
            self.refused.add(order.symbol)
            raise BrokerError("HTTP 403 insufficient buying power")
        return super().submit_order(order)


def _run(broker: SimulatedBroker, sma_config: dict[str, Any], panel: Any, **run: Any) -> Any:
    class Plugin:
        @hookimpl
        def ai_trading_register_brokers(self, registry: Any) -> None:
            registry.register("faulty", lambda p, c: broker)

    host = create_plugin_host(extra_plugins={"faulty": Plugin()})
    config = {
        **sma_config,
        "run": run,
        "sizer": {"name": "fixed_quantity", "params": {"quantity": 10}},
        "broker": {"name": "faulty"},
    }
    return run_config(config_from_dict(config), host, panel=panel)


def _held_never_exceeds_one_target(result: Any) -> None:
    held: dict[str, Decimal] = {}
    for fill in sorted(result.fills, key=lambda f: f.timestamp):
        held[fill.symbol] = held.get(fill.symbol, Decimal(0)) + fill.signed_quantity
        assert Decimal(0) <= held[fill.symbol] <= Decimal(10), (fill.symbol, held[fill.symbol])


@pytest.mark.parametrize("rebalance", ["every_bar", "on_signal"])
def test_an_order_accepted_late_is_one_order_whatever_the_rebalance_mode(
    sma_config: dict[str, Any], ai_trading_panel: Any, rebalance: str
) -> None:
    broker = LateAcceptingBroker(delay_bars=3)
    out = _run(broker, sma_config, ai_trading_panel, rebalance=rebalance)
    orders = out.result.orders
    assert len(orders) > 5
    assert broker.requests == len(orders)  # each intent sent once, never again while unknown
    assert all(o.status is S.FILLED for o in orders[:-3])
    assert not [o for o in orders if o.status is S.REJECTED]
    _held_never_exceeds_one_target(out.result)
    assert out.engine is not None and out.engine.state is RiskState.ACTIVE


def test_a_refused_order_is_retried_on_the_next_decision(sma_config: dict[str, Any], ai_trading_panel: Any) -> None:
    broker = RefusingOnceBroker()
    out = _run(broker, sma_config, ai_trading_panel)
    engine = out.engine
    assert engine is not None
    refused = [o for o in out.result.orders if o.status is S.REJECTED]
    assert len(refused) == len(broker.refused) == len(engine.refused_orders)
    for order in refused:  # the same target went out on the next bar and filled
        retry = next(o for o in out.result.orders if o.symbol == order.symbol and o.status is S.FILLED)
        assert retry.side is order.side and retry.quantity == order.quantity
    assert all("insufficient buying power" in r["reason"] for r in engine.refused_orders)
    _held_never_exceeds_one_target(out.result)


@pytest.mark.parametrize(
    ("health", "failed"),
    [
        ({"risk_state": "active", "reconciled": True, "storage_lost": False}, None),
        ({"risk_state": "halted", "risk_state_source": "shutdown", "reconciled": True}, None),  # asked for
        ({"risk_state": "halted", "risk_state_source": "orders", "halt_reason": "contradiction"}, "halted"),
        ({"risk_state": "active", "reconciled": False, "reconcile_problem": "cash"}, "does not reconcile"),
        ({"risk_state": "halted", "risk_state_source": "storage", "storage_lost": True}, "storage lost"),
    ],
)
def test_how_a_run_ended_decides_its_exit(health: dict[str, Any], failed: str | None) -> None:
    from ai_trading_core.runner import run_failure

    verdict = run_failure({"health": health})
    assert (verdict is None) if failed is None else (verdict is not None and failed in verdict)
    assert run_failure({}) is None  # a backtest's document has no health section
