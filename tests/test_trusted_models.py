"""``models.trusted`` (construction without validation on the backtest hot path) must give
the same object validation gives, and refuse what it cannot check; ``runner.gc_paused``
must always give the collector back."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ai_trading_core.enums import OrderStatus, OrderType, Side
from ai_trading_core.models import Alert, Fill, Order, OrderUpdate, Trade, trusted
from ai_trading_core.runner import gc_paused

NOW = datetime(2024, 5, 1, 14, 30, tzinfo=UTC)


def order_fields(**over: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "client_order_id": "ait-1",
        "symbol": "AAA",
        "side": Side.BUY,
        "quantity": Decimal("12"),
        "order_type": OrderType.MARKET,
        "strategy_id": "s",
        "correlation_id": "dec-1",
        "created_at": NOW,
        "reduce_only": False,
        "reason": None,
        "notional": Decimal("1234.5"),
    }
    fields.update(over)
    return fields


@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (Order, order_fields()),
        (
            Fill,
            {
                "execution_id": "x1",
                "client_order_id": "ait-1",
                "symbol": "AAA",
                "side": Side.SELL,
                "quantity": Decimal("3"),
                "price": Decimal("101.25"),
                "commission": Decimal("0.5"),
                "timestamp": NOW,
            },
        ),
        (OrderUpdate, {"client_order_id": "ait-1", "status": OrderStatus.ACCEPTED, "timestamp": NOW}),
        (
            Trade,
            {
                "symbol": "AAA",
                "side": Side.BUY,
                "quantity": Decimal("3"),
                "entry_time": NOW,
                "entry_price": Decimal("100"),
                "exit_time": NOW + timedelta(days=1),
                "exit_price": Decimal("101"),
                "pnl": Decimal("3"),
            },
        ),
    ],
)
def test_trusted_equals_validated(cls: type, fields: dict[str, object]) -> None:
    fast, checked = trusted(cls, **fields), cls(**fields)
    assert fast == checked
    assert fast.model_dump(mode="json") == checked.model_dump(mode="json")
    assert fast.model_fields_set == checked.model_fields_set
    assert cls.model_validate(fast.model_dump()) == checked  # round-trips through validation


def test_trusted_refuses_missing_and_unknown_fields() -> None:
    fields = order_fields()
    del fields["symbol"]
    with pytest.raises(TypeError, match="missing fields \\['symbol'\\]"):
        trusted(Order, **fields)
    with pytest.raises(TypeError, match="unknown fields \\['colour'\\]"):
        trusted(Order, **order_fields(colour="red"))


def test_trusted_calls_default_factories_per_instance() -> None:
    a = trusted(Alert, severity="info", source="t", message="m", timestamp=NOW)
    b = trusted(Alert, severity="info", source="t", message="m", timestamp=NOW)
    a.details["k"] = 1
    assert b.details == {}


def test_order_assignment_is_recorded_like_pydantic() -> None:
    order = Order(**order_fields())
    order.status = OrderStatus.SUBMITTED
    order.filled_quantity = Decimal("4")
    assert order.status is OrderStatus.SUBMITTED and order.remaining_quantity == Decimal("8")
    assert {"status", "filled_quantity"} <= order.model_fields_set
    assert order.model_copy().status is OrderStatus.SUBMITTED
    with pytest.raises(ValueError, match="has no field"):
        order.colour = "red"  # type: ignore[attr-defined]


def test_engine_validates_what_it_cannot_vouch_for() -> None:
    """An engine order with a clock that is not UTC goes through validation, which
    normalises the time; a bad notional raises the validation error."""
    from ai_trading_core.clock import SimulatedClock
    from ai_trading_core.engine import AlertRouter, Engine, EngineComponents
    from ai_trading_core.enums import RunMode, Timeframe
    from ai_trading_core.plugins import create_plugin_host
    from ai_trading_core.result import Session

    class EasternClock(SimulatedClock):
        """A test clock that reports its time in UTC-5."""

        def now(self) -> datetime:
            return super().now().astimezone(timezone(timedelta(hours=-5)))

    session = Session(
        run_id="r",
        mode=RunMode.BACKTEST,
        config_hash="h" * 64,
        timeframe=Timeframe.D1,
        symbols=("AAA",),
        initial_cash=Decimal(1000),
        currency="USD",
    )
    clock = EasternClock()
    clock.set(int(NOW.timestamp()) * 1_000_000_000)
    host = create_plugin_host(only=[])
    # orders are only made here, never sent: no sizer or broker is needed
    components = EngineComponents(strategies=[], sizer=None, broker=None)  # type: ignore[arg-type]
    engine = Engine(session, components, host, {}, clock, alerts=AlertRouter())
    order = engine._new_order(0, Side.BUY, Decimal(5), "s")
    assert order.created_at == NOW and order.created_at.tzinfo is UTC
    with pytest.raises(ValueError, match="greater than 0"):
        engine._new_order(0, Side.BUY, Decimal(5), "s", notional=Decimal(0))


def test_gc_paused_hands_its_objects_to_the_oldest_generation() -> None:
    """What was allocated during the pause is not scanned by the next young collection,
    and a cycle made during it is still collected."""

    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    gc.collect()
    with gc_paused():
        kept = [[i] for i in range(20_000)]
        a, b = Node(), Node()
        a.other, b.other = b, a
        assert gc.get_count()[0] > 20_000
    assert gc.get_count()[0] < 700  # young generation empty: no 20,000-object young scan
    assert gc.is_tracked(kept[0])
    del a, b
    assert gc.collect() >= 2  # the cycle made during the pause is collected


def test_gc_paused_restores_collection() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()
    with gc_paused(False):
        assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()


def test_a_backtest_makes_no_reference_cycles_per_bar() -> None:
    """The premise of pausing the collector: the garbage a backtest leaves for it does not
    grow with the bars and orders (4× the bars, several times the fills, the same cycles)."""
    from ai_trading_core.config import config_from_dict
    from ai_trading_core.runner import run_config
    from ai_trading_core.testing import random_walk_panel

    config = config_from_dict(
        {
            "data": {"name": "synthetic"},
            "audit": {"enabled": False},
            "sizer": {"name": "equal_weight"},
            "broker": {"name": "sim", "params": {"commission_bps": 1}},
            "strategies": [{"name": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        }
    )
    found = {}
    fills = {}
    gc.collect()
    gc.disable()
    try:
        for bars in (300, 300, 1200):  # the first run also leaves one-off caches
            outcome = run_config(config, panel=random_walk_panel(bars, 5, seed=3))
            fills[bars] = len(outcome.result.fills)
            del outcome
            found[bars] = gc.collect()
    finally:
        gc.enable()
    assert fills[1200] > 2 * fills[300] > 0
    assert found[1200] - found[300] < 100, found
