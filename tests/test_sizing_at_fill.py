"""Sizing at the fill price (notional orders) against a hand-worked example and the NumPy
reference of the benchmarks."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from ai_trading_core.config import config_from_dict
from ai_trading_core.market import BarPanel
from ai_trading_core.runner import run_config
from ai_trading_core.testing import random_walk_panel


def test_all_in_at_next_open_hand_worked() -> None:
    day = 86_400 * 10**9
    close = np.array([[10.0], [10.0], [10.0], [9.0], [9.5], [12.0]])
    panel = BarPanel(symbols=("X",), timestamps=np.arange(6, dtype=np.int64) * day,
                     open=np.array([[10.0], [10.0], [10.0], [8.0], [9.5], [12.0]]), high=close + 5, low=close - 5,
                     close=close, volume=np.ones((6, 1)))

    class BuyAtBarTwo:
        strategy_id, warmup = "b", 0
        from ai_trading_core.enums import StrategyType
        strategy_type = StrategyType.OTHER

        def __init__(self) -> None:
            self.n = 0

        def prepare(self, symbols, timeframe):  # type: ignore[no-untyped-def]
            pass

        def on_slice(self, market, history):  # type: ignore[no-untyped-def]
            self.n += 1
            return np.array([1.0 if self.n >= 3 else 0.0])

    from ai_trading_core import hookimpl
    from ai_trading_core.plugins import create_plugin_host

    class Plugin:
        @hookimpl
        def ai_trading_register_strategies(self, registry):  # type: ignore[no-untyped-def]
            registry.register("b", lambda p, c: BuyAtBarTwo())

    host = create_plugin_host(extra_plugins={"local": Plugin()})
    out = run_config(config_from_dict({
        "run": {"initial_cash": "1000"}, "data": {"name": "synthetic"}, "strategies": [{"name": "b"}],
        "sizer": {"name": "sub_account", "params": {"size_at_fill": True}}, "audit": {"enabled": False},
    }), host, panel=panel)
    (fill,) = out.result.fills
    # decided at bar 2's close (10.0, estimate 100 units); filled at bar 3's open 8.0: 1000 / 8 = 125 units
    assert fill.price == Decimal(8) and fill.quantity == Decimal(125)
    assert out.result.orders[0].quantity == Decimal(125) and out.result.orders[0].status.value == "filled"
    assert out.result.final_cash == Decimal(0)
    assert out.result.final_equity == Decimal(1500)


def test_matches_numpy_reference_all_in_next_open() -> None:
    import dataclasses

    from ai_trading_core.models import Instrument
    from benchmarks.reference import run_reference  # type: ignore[import-not-found]

    base = random_walk_panel(400, 4, seed=5)
    # a tick far below the prices' own precision, so fills happen at the unrounded open as in the reference
    panel = dataclasses.replace(base, instruments={s: Instrument(symbol=s, tick_size=Decimal("1e-15")) for s in base.symbols})
    out = run_config(config_from_dict({
        "run": {"initial_cash": "400000"}, "data": {"name": "synthetic"},
        "strategies": [{"name": "sma_crossover", "params": {"fast": 10, "slow": 30}}],
        "sizer": {"name": "sub_account", "params": {"size_at_fill": True}}, "audit": {"enabled": False},
    }), panel=panel)
    ref = run_reference(panel.open, panel.close, 400000.0)
    buys = sum(1 for f in out.result.fills if f.side.value == "buy")
    assert buys == ref.trades > 20
    np.testing.assert_allclose(float(out.result.final_equity), ref.final_equity, rtol=1e-12)
