"""The run document's column tables (schema 2): orders, fills and trades read back through
``rows`` equal to the models' JSON, schema 1 documents still read, and a manifest recorded
with the schema 1 digest still replays."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ai_trading_core.config import config_from_dict
from ai_trading_core.enums import OrderStatus, OrderType, Side
from ai_trading_core.errors import DataError
from ai_trading_core.manifest import result_digest, row_digest
from ai_trading_core.market import to_ns
from ai_trading_core.models import Fill, Order, Trade, utc
from ai_trading_core.replay import replay
from ai_trading_core.rundoc import (
    SCHEMA_VERSION,
    fill_columns,
    order_columns,
    rows,
    trade_columns,
    with_rows,
)
from ai_trading_core.runner import run_config

T0 = utc(2010, 1, 4)


def _orders() -> list[Order]:
    return [
        Order(client_order_id="ait-1", symbol="AAA", side=Side.BUY, quantity=Decimal("10"), created_at=T0,
              status=OrderStatus.FILLED, filled_quantity=Decimal("10"), average_fill_price=Decimal("101.25"),
              strategy_id="sma", correlation_id="dec-1"),
        Order(client_order_id="ait-2", symbol="BBB", side=Side.SELL, quantity=Decimal("0.5"),
              order_type=OrderType.LIMIT, limit_price=Decimal("99.9"), created_at=T0 + timedelta(microseconds=250),
              status=OrderStatus.REJECTED, reason="venue said no", reduce_only=True, parent_id="ait-1"),
        Order(client_order_id="ait-3", symbol="AAA", side=Side.BUY, quantity=Decimal("3"),
              notional=Decimal("300"), created_at=T0 + timedelta(days=1), broker_order_id="b-3"),
    ]


def _fills() -> list[Fill]:
    return [
        Fill(execution_id="x1", client_order_id="ait-1", symbol="AAA", side=Side.BUY, quantity=Decimal("4"),
             price=Decimal("101"), commission=Decimal("0.04"), timestamp=T0, strategy_id="sma"),
        Fill(execution_id="x2", client_order_id="ait-1", symbol="AAA", side=Side.BUY, quantity=Decimal("6"),
             price=Decimal("101.4166"), timestamp=T0 + timedelta(seconds=1, microseconds=7), venue="primary"),
    ]


def _trades() -> list[Trade]:
    return [
        Trade(symbol="AAA", side=Side.BUY, quantity=Decimal("10"), entry_time=T0, entry_price=Decimal("101.25"),
              exit_time=T0 + timedelta(days=3), exit_price=Decimal("105"), pnl=Decimal("37.46"),
              commission=Decimal("0.04"), strategy_id="sma"),
        Trade(symbol="BBB", side=Side.SELL, quantity=Decimal("2"), entry_time=T0, entry_price=Decimal("50"),
              pnl=Decimal("-1.5"), is_open=True),
    ]


def test_columns_read_back_as_the_models_json() -> None:
    orders, fills, trades = _orders(), _fills(), _trades()
    doc = {"orders": order_columns(orders), "fills": fill_columns(fills), "trades": trade_columns(trades)}
    doc = json.loads(json.dumps(doc, allow_nan=False))  # through JSON text, as a reader gets it
    assert rows(doc, "orders") == [o.model_dump(mode="json") for o in orders]
    assert rows(doc, "fills") == [f.model_dump(mode="json") for f in fills]
    assert rows(doc, "trades") == [t.model_dump(mode="json") for t in trades]
    table = doc["orders"]
    assert table["columns"] == list(Order.model_fields) and table["count"] == 3
    assert table["data"]["created_at"] == ["2010-01-04T00:00:00Z", "2010-01-04T00:00:00.000250Z",
                                           "2010-01-05T00:00:00Z"]
    assert table["data"]["limit_price"] == [None, "99.9", None]
    assert table["data"]["side"] == ["buy", "sell", "buy"]
    assert doc["fills"]["columns"] == list(Fill.model_fields)
    assert doc["trades"]["data"]["exit_time"] == ["2010-01-07T00:00:00Z", None]


def test_empty_tables_have_every_column_and_no_rows() -> None:
    table = order_columns([])
    assert table["count"] == 0 and table["columns"] == list(Order.model_fields)
    assert all(v == [] for v in table["data"].values())
    assert rows({"orders": table}, "orders") == []


def test_columns_handed_over_as_arrays_match_the_objects() -> None:
    """What the engine may hand over instead of objects: raw values per field, timestamps as
    int64 nanoseconds."""
    fills = _fills()
    raw: dict[str, Any] = {name: [f.__dict__[name] for f in fills] for name in Fill.model_fields}
    raw["timestamp"] = np.array([to_ns(f.timestamp) for f in fills], dtype=np.int64)
    assert fill_columns(raw) == fill_columns(fills)
    del raw["venue"]
    with pytest.raises(DataError, match="venue"):
        fill_columns(raw)


def test_schema_1_documents_still_read() -> None:
    orders, trades = _orders(), _trades()
    old = {
        "schema_version": 1,
        "orders": [o.model_dump(mode="json") for o in orders],
        "trades": [t.model_dump(mode="json") for t in trades],
    }
    assert rows(old, "orders") == old["orders"]
    assert rows(old, "trades") == old["trades"]
    assert rows(old, "fills") == []  # schema 1 kept no fills
    new = {"orders": order_columns(orders), "trades": trade_columns(trades)}
    assert with_rows(new)["orders"] == old["orders"] and with_rows(new)["trades"] == old["trades"]


@pytest.mark.parametrize(
    "table",
    [
        {"columns": ["a", "b"], "data": {"a": [1]}, "count": 1},
        {"columns": ["a"], "data": {"a": [1, 2]}, "count": 1},
        {"rows": []},
    ],
)
def test_a_malformed_table_is_a_data_error(table: dict[str, Any]) -> None:
    with pytest.raises(DataError, match="orders"):
        rows({"orders": table}, "orders")


def _config(tmp_path: Path) -> dict[str, Any]:
    return {
        "run": {"name": "columns", "initial_cash": "100000", "start": "2010-03-01", "end": "2011-06-30", "seed": 5,
                "output_dir": str(tmp_path / "runs"), "state_dir": str(tmp_path / "state")},
        "plugins": {"load": ["sample-data", "sim", "sma"]},
        "data": {"name": "synthetic", "params": {"n_symbols": 2, "n_bars": 300}},
        "strategies": [{"name": "sma_crossover", "id": "sma-5-20", "params": {"fast": 5, "slow": 20}}],
        "sizer": {"name": "equal_weight", "params": {"gross": 0.98}},
        "broker": {"name": "sim", "params": {"commission_bps": 1, "slippage_bps": 2}},
    }


def test_a_run_document_round_trips_and_old_manifests_replay(tmp_path: Path) -> None:
    outcome = run_config(config_from_dict(_config(tmp_path)))
    doc, result = json.loads(json.dumps(outcome.document, allow_nan=False)), outcome.result
    assert doc["schema_version"] == SCHEMA_VERSION == 2
    assert len(result.orders) > 3 and len(result.fills) > 3
    assert rows(doc, "orders") == [o.model_dump(mode="json") for o in result.orders]
    assert rows(doc, "fills") == [f.model_dump(mode="json") for f in result.fills]
    assert rows(doc, "trades") == [t.model_dump(mode="json") for t in result.trades]
    assert doc["orders"]["count"] == doc["metrics"]["order_count"]
    assert doc["fills"]["count"] == doc["metrics"]["fill_count"]

    # the schema 1 digest (orders and trades as objects) is what row_digest recomputes
    assert row_digest(doc) == result_digest(with_rows(doc)) != result_digest(doc)
    path = outcome.manifest_path
    assert path is not None
    recorded = json.loads(path.read_text())
    recorded["result_digest"] = row_digest(doc)  # as a manifest written before schema 2
    path.write_text(json.dumps(recorded, indent=1))
    _, ok, problems = replay(path)
    assert ok, problems
    recorded["result_digest"] = "0" * 64  # any other digest is still a mismatch
    path.write_text(json.dumps(recorded, indent=1))
    _, ok, problems = replay(path)
    assert not ok and any("result digest" in p for p in problems)
