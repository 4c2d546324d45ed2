"""A paper run of the kernel engine with the ccxt broker pointed at the local Binance server:
every order the engine sends exists exactly once at the exchange and every fill is applied
once, although the first order's answer is lost after it was accepted (and filled), the
second submission meets a 429, and every trade is listed twice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ai_trading_core.enums import OrderStatus, Timeframe
from ai_trading_core.testing import random_walk_panel


def test_ccxt_paper_run_through_the_engine(binance_server: Any, ai_trading_run: Any) -> None:
    panel = random_walk_panel(80, 2, seed=3, timeframe=Timeframe.H1, symbols=["BTC/USDT", "ETH/USDT"])
    binance_server.auto_fill = True
    binance_server.duplicate_trades = True
    binance_server.prices = {"BTCUSDT": Decimal("100.00"), "ETHUSDT": Decimal("100.00")}
    binance_server.balances = {"USDT": Decimal("100000"), "BTC": Decimal("50"), "ETH": Decimal("50")}
    binance_server.order_faults += ["accept_then_hang", "429"]
    binance_server.hang_s = 1.5
    keys = {"api_key": binance_server.api_key, "secret": binance_server.secret}
    outcome = ai_trading_run(
        {
            "run": {"mode": "paper", "initial_cash": "100000", "currency": "USDT"},
            "plugins": {"load": ["sma", "ccxt"]},
            "data": {"name": "ccxt_ohlcv", "params": {"symbols": list(panel.symbols), "timeframe": "1h"}},
            "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 3, "slow": 8}}],
            "sizer": {"name": "fixed_quantity", "params": {"quantity": 2}},
            "broker": {
                "name": "ccxt",
                "params": {
                    "urls": binance_server.urls,
                    "request_timeout_s": 0.5,
                    "rate_limit_ms": 1,
                    "rate_limit_wait_s": 0.01,
                    **keys,
                },
            },
            "audit": {"enabled": False},
        },
        panel=panel,
    )
    result = outcome.result
    sent = [o for o in result.orders if o.status is not OrderStatus.REJECTED]
    assert len(sent) >= 4
    # exactly one order at the exchange per intent
    placed = [o["clientOrderId"] for o in binance_server.orders]
    assert sorted(placed) == sorted(o.client_order_id for o in sent)
    assert binance_server.order_posts == len(sent) + 1  # + the one refused with 429
    # the order whose answer was lost was looked up, not resent, and filled
    assert result.orders[0].status is OrderStatus.FILLED
    # every fill applied once: the engine's positions equal the account's balance changes
    execs = [f.execution_id for f in result.fills]
    assert len(execs) == len(set(execs)) == len(binance_server.trades)
    for symbol, base in (("BTC/USDT", "BTC"), ("ETH/USDT", "ETH")):
        engine_qty = sum((f.signed_quantity for f in result.fills if f.symbol == symbol), Decimal(0))
        assert binance_server.balances[base] - Decimal("50") == engine_qty
    commissions = sum((f.commission for f in result.fills), Decimal(0))
    assert commissions == sum((Decimal(t["commission"]) for t in binance_server.trades), Decimal(0))
