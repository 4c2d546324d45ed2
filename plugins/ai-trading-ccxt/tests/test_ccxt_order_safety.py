"""Order safety of the ccxt broker under exchange faults: the scenarios of the Alpaca suite
that apply to a spot exchange with client order ids, as paced paper runs of the engine
against the local Binance server, each checked against the same invariants:

* at most one accepted order per intent: the base balance never grows by more than one
  target, and filled orders alternate buy / sell per symbol;
* the ledger equals the account's balance changes, every trade booked once;
* the engine's order state equals the exchange's; an order the exchange never had is
  rejected; the run reconciled and did not halt.

Not applicable here: the trade-updates stream (this adapter polls ``fetch_my_trades``) and
restarts (the adapter refuses to resume a run: balances are reconciled from the start of a
run). Exchanges without client order ids are not supported (docs/failure-modes.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ai_trading_core.enums import Timeframe
from ai_trading_core.testing import random_walk_panel

SYMBOLS = ("BTC/USDT", "ETH/USDT")
BASES = {"BTC/USDT": ("BTC", "BTCUSDT"), "ETH/USDT": ("ETH", "ETHUSDT")}
TARGET = Decimal(2)
STEP_S = 0.05  # replay pace: one hourly bar every 50 ms
STATUS = {"NEW": "accepted", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled", "CANCELED": "cancelled"}


def run(server: Any, ai_trading_run: Any, panel: Any, *, rebalance: str = "on_signal", **broker: Any) -> Any:
    server.auto_fill = True
    server.prices = {"BTCUSDT": Decimal("100.00"), "ETHUSDT": Decimal("100.00")}
    server.balances = {"USDT": Decimal("100000"), "BTC": Decimal("50"), "ETH": Decimal("50")}
    params = {
        "urls": server.urls,
        "request_timeout_s": 0.5,
        "rate_limit_ms": 1,
        "rate_limit_wait_s": 0.01,
        "reconcile_every_s": 7200,
        "unknown_order_budget_s": 20.0,
        "api_key": server.api_key,
        "secret": server.secret,
    }
    params.update(broker)
    return ai_trading_run(
        {
            "run": {
                "mode": "paper",
                "initial_cash": "100000",
                "currency": "USDT",
                "rebalance": rebalance,
                "replay_speed": 3600 / STEP_S,
            },
            "plugins": {"load": ["sma", "ccxt"]},
            "data": {"name": "ccxt_ohlcv", "params": {"symbols": list(SYMBOLS), "timeframe": "1h"}},
            "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 3, "slow": 8}}],
            "sizer": {"name": "fixed_quantity", "params": {"quantity": str(TARGET)}},
            "broker": {"name": "ccxt", "params": params},
            "audit": {"enabled": False},
        },
        panel=panel,
    )


def check_invariants(server: Any, outcome: Any) -> None:
    result = outcome.result
    for symbol, (base, market_id) in BASES.items():
        # never more than one target held
        assert server.max_balance.get(base, Decimal(50)) - Decimal(50) <= TARGET, (base, server.max_balance)
        # one order per intent: filled orders alternate sides
        sides = [o["side"] for o in server.orders if o["symbol"] == market_id and Decimal(o["executedQty"]) > 0]
        assert all(a != b for a, b in zip(sides, sides[1:], strict=False)), sides
        # the ledger equals the balance change
        assert result.final_positions.get(symbol, Decimal(0)) == server.balances[base] - Decimal(50)
    # every trade booked once
    execs = [f.execution_id for f in result.fills]
    assert len(execs) == len(set(execs)) == len(server.trades)
    # the engine's order state equals the exchange's
    engine = {o.client_order_id: o for o in result.orders}
    for o in server.orders:
        assert engine[o["clientOrderId"]].status.value == STATUS[o["status"]], o
        assert engine[o["clientOrderId"]].filled_quantity == Decimal(o["executedQty"])
    placed = {o["clientOrderId"] for o in server.orders}
    for coid, order in engine.items():
        if coid not in placed:
            assert order.status.value == "rejected", order
    health = outcome.document["health"]
    assert health["reconciled"] and health["risk_state"] == "active" and not health["unresolved_orders"], health


def climbing_panel(n: int) -> Any:
    return random_walk_panel(
        n, 2, seed=1, timeframe=Timeframe.H1, symbols=list(SYMBOLS), volatility=1e-6, drift=0.01
    )


@pytest.mark.parametrize("rebalance", ["every_bar", "on_signal"])
def test_ccxt_post_held_past_the_client_timeout_places_one_order_per_intent(
    binance_server: Any, ai_trading_run: Any, rebalance: str
) -> None:
    binance_server.order_faults += ["hold_then_accept"]
    binance_server.hold_s = 2.0
    outcome = run(binance_server, ai_trading_run, climbing_panel(8 + int(4 / STEP_S)), rebalance=rebalance)
    check_invariants(binance_server, outcome)
    for _, market_id in BASES.values():
        assert len([o for o in binance_server.orders if o["symbol"] == market_id]) == 1
    assert all(o.status.value == "filled" for o in outcome.result.orders)


def test_ccxt_never_placed_order_is_rejected_after_the_budget_and_retried(
    binance_server: Any, ai_trading_run: Any
) -> None:
    binance_server.order_faults += ["500"]
    outcome = run(binance_server, ai_trading_run, climbing_panel(8 + int(3 / STEP_S)), unknown_order_budget_s=1.0)
    check_invariants(binance_server, outcome)
    rejected = [o for o in outcome.result.orders if o.status.value == "rejected"]
    assert len(rejected) == 1 and "not in its order list" in (rejected[0].reason or "")
    for _, market_id in BASES.values():
        assert len([o for o in binance_server.orders if o["symbol"] == market_id]) == 1


def test_ccxt_lost_answers_and_rate_limits_place_one_order_per_intent(
    binance_server: Any, ai_trading_run: Any
) -> None:
    binance_server.order_faults += ["accept_then_hang", "429", "accept_then_500", "accept_then_503"]
    binance_server.hang_s = 1.0
    binance_server.duplicate_trades = True
    panel = random_walk_panel(80, 2, seed=3, timeframe=Timeframe.H1, symbols=list(SYMBOLS))
    outcome = run(binance_server, ai_trading_run, panel)
    check_invariants(binance_server, outcome)
    assert len(binance_server.orders) >= 4
    assert binance_server.order_posts == len(binance_server.orders) + 1  # + the one refused with 429
