"""The watchdog against an Alpaca account (the local Alpaca-protocol server, alpaca-py): a
trader whose heartbeat has gone silent has its open orders cancelled through the broker
itself, which lists them from the account (``orders_since``), including one the trader's
storage never knew; filled orders are left alone; the kill switch is halted."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ai_trading_watchdog.watchdog import intervene

from ai_trading_core.clock import WallClock
from ai_trading_core.config import config_from_dict
from ai_trading_core.runner import host_for_config


def _order(server: Any, coid: str, status: str) -> None:
    order = server._new_order({"client_order_id": coid, "symbol": "AAPL", "qty": "5", "type": "limit",
                               "side": "buy", "time_in_force": "day", "limit_price": "90"})
    order["status"] = status
    server.orders[coid] = order


def test_silent_trader_open_orders_cancelled_through_the_broker(alpaca_server: Any, tmp_path: Path) -> None:
    _order(alpaca_server, "ait-run-1", "new")
    _order(alpaca_server, "ait-run-2", "partially_filled")
    _order(alpaca_server, "placed-by-hand", "accepted")
    _order(alpaca_server, "ait-run-0", "filled")
    state = tmp_path / "state"
    state.mkdir()
    (state / "heartbeat.json").write_text(json.dumps({"pid": 1, "ts_ns": time.time_ns() - 120 * 10**9,
                                                      "ts": "", "beats": 9}))
    config = config_from_dict({
        "run": {"mode": "live", "state_dir": str(state)},
        "plugins": {"load": ["alpaca", "sma", "killswitch", "watchdog"]},
        "data": {"name": "alpaca_bars", "params": {"symbols": ["AAPL"], "api_key": "PKTEST", "secret_key": "secret"}},
        "strategies": [{"name": "sma_crossover"}],
        "broker": {"name": "alpaca", "params": {
            "base_url": alpaca_server.url, "stream": False, "api_key": "PKTEST", "secret_key": "secret",
            "on_start_open_orders": "refuse",  # nothing cancelled on connect: the watchdog's own listing must do it
        }},
    })
    done = intervene(config, host_for_config(config), WallClock(), reason="watchdog: silent for 120 s")
    assert sorted(done.order_ids) == ["ait-run-1", "ait-run-2", "placed-by-hand"]
    assert sorted(done.cancelled) == sorted(done.order_ids) and not done.failed
    statuses = {k: o["status"] for k, o in alpaca_server.orders.items()}
    assert statuses == {"ait-run-1": "canceled", "ait-run-2": "canceled", "placed-by-hand": "canceled",
                        "ait-run-0": "filled"}
    assert done.halted


def test_the_watchdog_reaches_a_broker_whose_keys_live_in_the_secrets_file(
    alpaca_server: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """As the go-live guide sets it up: no keys in the config, the Alpaca keys in the
    encrypted secrets file; the watchdog loads them as the trader does."""
    from ai_trading_secrets.keys import as_key_ring, generate_key
    from ai_trading_secrets.store import SecretsFile

    key = generate_key()
    secrets = SecretsFile(tmp_path / "secrets.json")
    secrets.set("alpaca_api_key", "PKTEST", as_key_ring(key))
    secrets.set("alpaca_secret_key", "secret", as_key_ring(key))
    monkeypatch.setenv("AI_TRADING_SECRETS_FILE", str(tmp_path / "secrets.json"))
    monkeypatch.setenv("AI_TRADING_SECRETS_KEY", key.decode())
    for name in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    _order(alpaca_server, "ait-run-9", "new")
    config = config_from_dict({
        "run": {"mode": "live", "state_dir": str(tmp_path / "state")},
        "plugins": {"load": ["secrets", "alpaca", "sma", "watchdog"]},
        "data": {"name": "alpaca_bars", "params": {"symbols": ["AAPL"]}},
        "strategies": [{"name": "sma_crossover"}],
        "broker": {"name": "alpaca", "params": {"base_url": alpaca_server.url, "stream": False,
                                                "on_start_open_orders": "refuse"}},
    })
    done = intervene(config, host_for_config(config), WallClock(), reason="watchdog: silent")
    assert done.cancelled == ["ait-run-9"] and alpaca_server.orders["ait-run-9"]["status"] == "canceled"
