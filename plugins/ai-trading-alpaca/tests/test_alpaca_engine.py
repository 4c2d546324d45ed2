"""A paper run of the kernel engine with the alpaca broker pointed at the local server:
every order the engine sends exists exactly once at the server, every fill is applied once,
including when the first order's answer is lost (504 after accepting) and fill events are
delivered twice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ai_trading_core.config import config_from_dict
from ai_trading_core.enums import OrderStatus
from ai_trading_core.runner import run_config
from ai_trading_core.testing import random_walk_panel


def test_alpaca_paper_run_through_the_engine(alpaca_server: Any, tmp_path: Any) -> None:
    panel = random_walk_panel(80, 2, seed=3)
    alpaca_server.auto_fill = True
    alpaca_server.duplicate_fills = True
    alpaca_server.prices = {s: Decimal("100") for s in panel.symbols}
    alpaca_server.order_faults += ["accept_then_504"]
    config = config_from_dict(
        {
            "run": {
                "mode": "paper",
                "initial_cash": "100000",
                "state_dir": str(tmp_path / "state"),
                "output_dir": str(tmp_path / "out"),
            },
            "plugins": {"load": ["sma", "alpaca"]},
            "data": {
                "name": "alpaca_bars",
                "params": {"symbols": list(panel.symbols), "api_key": "PKTEST", "secret_key": "secret"},
            },
            "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 3, "slow": 8}}],
            "sizer": {"name": "fixed_quantity", "params": {"quantity": 10}},
            "broker": {
                "name": "alpaca",
                "params": {
                    "base_url": alpaca_server.url,
                    "stream_url": alpaca_server.stream_url,
                    "request_timeout_s": 1.0,
                    "api_key": "PKTEST",
                    "secret_key": "secret",
                },
            },
            "audit": {"enabled": False},
        }
    )
    outcome = run_config(config, panel=panel)
    result = outcome.result
    sent = [o for o in result.orders if o.status is not OrderStatus.REJECTED]
    assert len(sent) >= 4
    # exactly one order at the broker per intent
    assert sorted(alpaca_server.orders) == sorted(o.client_order_id for o in sent)
    assert alpaca_server.order_posts == len(sent)
    # the 504'd order was looked up, not resent, and filled
    first = result.orders[0]
    assert first.status is OrderStatus.FILLED
    # every fill applied once: the engine's positions equal the account's
    execs = [f.execution_id for f in result.fills]
    assert len(execs) == len(set(execs))
    filled = {}
    for f in result.fills:
        filled[f.symbol] = filled.get(f.symbol, Decimal(0)) + f.signed_quantity
    for symbol in panel.symbols:
        assert alpaca_server.positions.get(symbol, Decimal(0)) == filled.get(symbol, Decimal(0))
