from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from ai_trading_core.enums import OrderStatus, Side
from ai_trading_core.errors import DataError, InvalidOrderTransition
from ai_trading_core.market import BarPanel, History, to_datetime, to_ns
from ai_trading_core.models import Instrument, Order
from ai_trading_core.orders import transition
from ai_trading_core.testing import random_walk_panel


def test_history_window_is_last_rows_oldest_first() -> None:
    panel = random_walk_panel(50, 2, seed=2)
    h = History(7, 2)
    for i in range(20):
        h.push(panel.slice_at(i))
        n = min(i + 1, 7)
        np.testing.assert_array_equal(h.close(7), panel.close[i + 1 - n: i + 1])
        np.testing.assert_array_equal(h.window("high", 3), panel.high[max(i - 2, 0): i + 1])
    assert h.close(3).base is not None  # a view into the ring buffer, not a copy


def test_panel_rejects_unsorted_and_bad_shapes() -> None:
    p = random_walk_panel(5, 1)
    with pytest.raises(DataError, match="not strictly increasing at row 2"):
        BarPanel(symbols=p.symbols, timestamps=p.timestamps[[0, 1, 1, 3, 4]], open=p.open, high=p.high, low=p.low,
                 close=p.close, volume=p.volume)
    with pytest.raises(DataError, match="shape"):
        BarPanel(symbols=("A", "B"), timestamps=p.timestamps, open=p.open, high=p.high, low=p.low, close=p.close,
                 volume=p.volume)


def test_naive_timestamp_is_rejected() -> None:
    from datetime import datetime

    with pytest.raises(DataError, match="naive"):
        to_ns(datetime(2020, 1, 1))
    assert to_datetime(to_ns("2020-01-02T03:04:05.123456+00:00")).isoformat() == "2020-01-02T03:04:05.123456+00:00"


def test_instrument_rounding() -> None:
    inst = Instrument(symbol="X", tick_size=Decimal("0.05"), lot_size=Decimal("10"))
    assert inst.round_quantity(Decimal("129.9")) == Decimal(120)
    assert inst.round_price(Decimal("10.01"), Side.BUY) == Decimal("10.05")
    assert inst.round_price(Decimal("10.04"), Side.SELL) == Decimal("10")
    assert inst.round_price(Decimal("10.03")) == Decimal("10.05")


def test_order_lifecycle_transitions() -> None:
    o = Order(client_order_id="x", symbol="X", side=Side.BUY, quantity=Decimal(1), created_at=to_datetime(0))
    transition(o, OrderStatus.SUBMITTED)
    transition(o, OrderStatus.UNKNOWN)
    transition(o, OrderStatus.FILLED)
    with pytest.raises(InvalidOrderTransition, match="filled -> accepted"):
        transition(o, OrderStatus.ACCEPTED)
    n = Order(client_order_id="y", symbol="X", side=Side.BUY, quantity=Decimal(1), created_at=to_datetime(0))
    with pytest.raises(InvalidOrderTransition):
        transition(n, OrderStatus.FILLED)  # never filled without being sent


def test_run_bounds_keep_their_time_of_day() -> None:
    from datetime import UTC, date, datetime

    from pydantic import ValidationError

    from ai_trading_core.config import RunSettings

    s = RunSettings(start="2010-01-04T14:30:00Z", end="2010-02-01")
    assert s.start == datetime(2010, 1, 4, 14, 30, tzinfo=UTC) and s.end == date(2010, 2, 1)
    with pytest.raises(ValidationError, match="must carry a timezone"):
        RunSettings(start="2010-01-04T14:30:00")
