from __future__ import annotations

import math
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from ai_trading_storage.storage import SqlStorage, SqlStorageParams

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import OrderStatus, OrderType, RiskState, Side
from ai_trading_core.errors import StorageError
from ai_trading_core.models import Fill, Instrument, Order, PortfolioState, Position, RiskEvent, Signal, utc
from ai_trading_core.protocols import Storage
from ai_trading_core.registry import BuildContext


def make_storage(url: str, **params: object) -> SqlStorage:
    clock = SimulatedClock(1_700_000_000_000_000_000)
    return SqlStorage(SqlStorageParams(url=url, **params), BuildContext(component_id="sql", clock=clock))  # type: ignore[arg-type]


def make_order(i: int, **kw: object) -> Order:
    values: dict[str, object] = dict(
        client_order_id=f"run1-{i:05d}",
        symbol="SPY",
        side=Side.BUY if i % 2 == 0 else Side.SELL,
        quantity=Decimal("10.5") + i,
        order_type=OrderType.LIMIT,
        limit_price=Decimal("412.37"),
        strategy_id="sma-10-30",
        correlation_id=f"corr-{i}",
        created_at=utc(2024, 1, 2, 14, 30),
    )
    values.update(kw)
    return Order.model_validate(values)


def test_is_a_storage_and_defaults_to_sqlite_in_state_dir(tmp_path: Path) -> None:
    store = SqlStorage(SqlStorageParams(), BuildContext(component_id="sql", state_dir=tmp_path / "state"))
    try:
        assert isinstance(store, Storage)
        assert store.url == f"sqlite:///{(tmp_path / 'state' / 'ai-trading.db').as_posix()}"
        store.record_order(make_order(1))
        assert (tmp_path / "state" / "ai-trading.db").exists()
    finally:
        store.close()


def test_order_lifecycle_round_trips_exactly(db_url: str) -> None:
    store = make_storage(db_url)
    store.bind_run("run1")
    order = make_order(7)
    store.record_order(order)
    assert store.db.orders.get(order.client_order_id) == order
    filled = order.model_copy(
        update={
            "status": OrderStatus.FILLED,
            "filled_quantity": order.quantity,
            "average_fill_price": Decimal("412.3333333333333333333333"),
            "broker_order_id": "B-1",
        }
    )
    store.record_order_update(filled)
    assert store.db.orders.get(order.client_order_id) == filled
    fill = Fill(
        execution_id="X-1",
        client_order_id=order.client_order_id,
        symbol="SPY",
        side=order.side,
        quantity=order.quantity,
        price=Decimal("412.3333333333333333333333"),
        commission=Decimal("0.0001"),
        timestamp=utc(2024, 1, 2, 14, 31),
        correlation_id=order.correlation_id,
    )
    store.record_fill(fill)
    store.record_fill(fill)  # the same execution twice is stored once
    assert store.db.fills.for_order(order.client_order_id) == [fill]
    assert store.db.orders.for_run("run1") == [filled]
    store.close()


def test_same_client_order_id_from_another_run_is_refused(db_url: str) -> None:
    store = make_storage(db_url)
    store.bind_run("run-a")
    store.record_order(make_order(1))
    store.bind_run("run-b")
    with pytest.raises(StorageError, match="already recorded by run 'run-a'"):
        store.record_order(make_order(1))
    store.close()


def test_concurrent_writers(db_url: str) -> None:
    stores = [make_storage(db_url, auto_migrate=False) for _ in range(4)]
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(25):
                order = make_order(k * 1000 + i)
                stores[k].record_order(order)
                stores[k].record_order_update(order.model_copy(update={"status": OrderStatus.ACCEPTED}))
        except BaseException as exc:  # collected and re-raised by the test
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    orders = stores[0].db.orders.for_run("")
    assert len(orders) == 100
    assert {o.status for o in orders} == {OrderStatus.ACCEPTED}
    assert {o.client_order_id for o in orders} == {
        f"run1-{k * 1000 + i:05d}" for k in range(4) for i in range(25)
    }
    for s in stores:
        s.close()


def test_run_document_round_trip(db_url: str) -> None:
    store = make_storage(db_url)
    document = {
        "run_id": "2024-run-42",
        "name": "quickstart",
        "mode": "backtest",
        "config_hash": "abc123",
        "metrics": {"sharpe": 1.2345678901234567, "max_drawdown": -0.1875, "trades": 12, "cagr": 1e-17},
        "equity": [100000.0, 100012.5, 99950.25],
        "symbols": ["SP500", "NASDAQ"],
        "final_cash": "12345.678900",
        "nested": {"empty": {}, "none": None, "flag": True, "unicode": "€ — ü"},
    }
    store.record_run(document)
    assert store.load_run("2024-run-42") == document
    document["metrics"]["trades"] = 13  # type: ignore[index]
    store.record_run(document)  # storing again replaces
    assert store.load_run("2024-run-42") == document
    assert store.db.runs.ids() == ["2024-run-42"]
    with pytest.raises(StorageError, match="no stored run"):
        store.load_run("missing")
    with pytest.raises(StorageError, match="no run_id"):
        store.record_run({"metrics": {}})
    with pytest.raises(StorageError, match="not JSON-serialisable"):
        store.record_run({"run_id": "x", "cash": Decimal("1")})
    store.close()


def test_run_id_may_live_in_the_session_block(sqlite_url: str) -> None:
    store = make_storage(sqlite_url)
    doc = {"session": {"run_id": "r-9", "mode": "paper"}, "metrics": {"x": math.pi}}
    store.record_run(doc)
    assert store.load_run("r-9") == doc
    store.close()


def test_snapshots_signals_risk_events_instruments(db_url: str) -> None:
    store = make_storage(db_url)
    store.bind_run("r")
    inst = Instrument(symbol="BTCUSD", tick_size=Decimal("0.01"), lot_size=Decimal("0.0001"))
    store.record_instruments([inst])
    assert store.db.instruments.get("BTCUSD") == inst
    state = PortfolioState(
        timestamp=utc(2024, 3, 1),
        cash=Decimal("5000.25"),
        equity=Decimal("10100.75"),
        positions=(
            Position(
                symbol="SPY",
                quantity=Decimal("10"),
                average_price=Decimal("500.05"),
                market_price=Decimal("510.05"),
            ),
        ),
    )
    store.record_snapshot(state)
    assert store.db.snapshots.for_run("r") == [state]
    sig = Signal(
        strategy_id="s",
        symbol="SPY",
        timestamp=utc(2024, 3, 1),
        strength=-0.5,
        confidence=0.25,
        correlation_id="c",
        metadata={"fast": 10},
    )
    store.record_signal(sig)
    assert store.db.signals.for_run("r") == [sig]
    ev = RiskEvent(
        timestamp=utc(2024, 3, 1),
        source="circuit_breaker",
        previous_state=RiskState.ACTIVE,
        state=RiskState.HALTED,
        reason="daily loss",
        measured=0.061,
        limit=0.05,
    )
    store.record_risk_event(ev)
    assert store.db.risk_events.for_run("r") == [ev]
    store.close()


def test_outage_at_order_time_raises_storage_error() -> None:
    store = make_storage(
        "postgresql://postgres@127.0.0.1:1/ai_trading", auto_migrate=False, connect_timeout=1
    )
    with pytest.raises(StorageError, match="recording order run1-00001") as info:
        store.record_order(make_order(1))
    assert "127.0.0.1:1" in str(info.value)
    store.close()


@pytest.mark.postgres
def test_dropped_connections_are_replaced_not_fatal(pg_url: str) -> None:
    """A server that closed our pooled connections (restart, failover) is reconnected
    transparently: pre-ping finds the dead connection before an order is written."""
    import psycopg

    store = make_storage(pg_url)
    store.record_order(make_order(1))
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    store.record_order(make_order(2))
    assert store.db.orders.get("run1-00002") is not None
    store.close()


@pytest.mark.postgres
def test_password_never_appears_in_errors() -> None:
    store = make_storage(
        "postgresql://trader:hunter2secret@127.0.0.1:1/db", auto_migrate=False, connect_timeout=1
    )
    with pytest.raises(StorageError) as info:
        store.record_order(make_order(3))
    assert "hunter2secret" not in str(info.value)
    store.close()
