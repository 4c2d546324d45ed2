"""``ai-trading run --mode live`` end to end, as a subprocess, against local servers speaking
Alpaca's real protocols (trading REST + trade_updates websocket, market data REST + msgpack
websocket), driven by alpaca-py itself.

70 minute bars are streamed (one every 0.15 s of wall clock) after a 30-bar warm-up loaded
over REST. In the middle the market data socket is dropped (and refused for a while), then
goes mute while staying open, then the vendor publishes nothing for 4.5 s. The run must
decide every streamed bar exactly once, end with a ledger equal to the account (positions
and cash), record every fill once, agree with its run document, and exit 0.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ai_trading_core import rundoc
from ai_trading_core.market import to_ns

from .fake_market_data import KEY, SECRET, Bar, FakeMarketDataServer

SYMBOLS = ["AAPL", "MSFT"]
HISTORY, LIVE = 30, 70
FAST, SLOW = 3, 8


def _sma(closes: list[Decimal], n: int) -> Decimal:
    return sum(closes[-n:], Decimal(0)) / n


def _force_last_bar_crossing(server: FakeMarketDataServer) -> None:
    """Make the last bar flip the first symbol's fast/slow SMA order, so that an order is
    decided on the last streamed bar (its fill lands while the run is ending)."""
    symbol = SYMBOLS[0]
    bars: list[Bar] = server._all
    closes = [b.prices[symbol][3] for b in bars[:-1]]
    before = _sma(closes, FAST) - _sma(closes, SLOW)
    last = closes[-1] * (Decimal("0.85") if before > 0 else Decimal("1.15"))
    last = last.quantize(Decimal("0.01"))
    o, _, _, _, v = bars[-1].prices[symbol]
    bars[-1].prices[symbol] = (o, max(o, last), min(o, last), last, v)
    after = _sma([*closes, last], FAST) - _sma([*closes, last], SLOW)
    assert (before > 0) != (after > 0)


@pytest.fixture
def market_data(alpaca_server: Any) -> Iterator[FakeMarketDataServer]:
    def keep_fill_prices(index: int, bar: Bar) -> None:
        for symbol, (_, _, _, close, _) in bar.prices.items():
            alpaca_server.prices[symbol] = close

    server = FakeMarketDataServer(
        SYMBOLS,
        history=HISTORY,
        live=LIVE,
        bar_interval_s=0.15,
        events={
            20: [("drop", 0.6)],  # a disconnect: the socket closes and reconnects are refused 0.6 s
            38: [("mute", None)],  # a silent stream: open, answering pings, sending nothing
            52: [("pause", 4.5)],  # nothing published at all for 4.5 s: stale, then REDUCING
        },
        on_publish=keep_fill_prices,
    )
    _force_last_bar_crossing(server)
    for symbol, (_, _, _, close, _) in server.history_bars[-1].prices.items():
        alpaca_server.prices[symbol] = close
    alpaca_server.auto_fill = True
    server.start_server()
    yield server
    server.stop()


def _config(trading: Any, data: FakeMarketDataServer, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    keys = f'api_key = "{KEY}"\nsecret_key = "{SECRET}"\n'
    last = data.live_bars[-1].ts.isoformat()
    text = f"""
[run]
mode = "live"
initial_cash = "100000"
start = "{data.start.isoformat()}"
end = "{last}"
on_stop = "keep"
state_dir = "{root / 'state'}"
output_dir = "{root / 'runs'}"

[plugins]
load = ["sma", "alpaca", "storage"]

[data]
name = "alpaca_bars"
[data.params]
symbols = {json.dumps(SYMBOLS)}
timeframe = "1m"
base_url = "{data.url}"
trading_url = "{data.url}"
stream_url = "{data.stream_url()}"
stale_after_s = 1.5
reduce_after_s = 3.0
reconnect_min_s = 0.1
reconnect_max_s = 0.5
poll_s = 0.05
{keys}
[[strategies]]
name = "sma_crossover"
id = "sma"
[strategies.params]
fast = {FAST}
slow = {SLOW}

[sizer]
name = "fixed_quantity"
[sizer.params]
quantity = 10

[broker]
name = "alpaca"
[broker.params]
base_url = "{trading.url}"
stream_url = "{trading.stream_url}"
request_timeout_s = 2.0
max_requests_per_minute = 60000  # the local server has no rate limit
reconcile_every_s = 2.0
{keys}
[storage]
name = "sql"
[storage.params]
url = "sqlite:///{root / 'trader.db'}"

[audit]
path = "{root / 'audit.jsonl'}"
"""
    path = root / "config.toml"
    path.write_text(text)
    return path


def _account_cash(server: Any) -> Decimal:
    cash = getattr(server, "cash", None)
    if cash is not None:
        return Decimal(cash)
    flow = Decimal(0)
    for o in server.orders.values():
        q = Decimal(o["filled_qty"])
        if q:
            flow += q * Decimal(o["filled_avg_price"]) * (1 if o["side"] == "sell" else -1)
    return Decimal("100000") + flow


@pytest.mark.slow
def test_live_run_streams_decides_each_bar_once_and_ends_reconciled(
    alpaca_server: Any, market_data: FakeMarketDataServer, tmp_path: Path
) -> None:
    root = tmp_path / "live"
    config = _config(alpaca_server, market_data, root)
    out = root / "run.json"
    log = root / "run.log"
    started = time.monotonic()
    with open(log, "wb") as err:
        proc = subprocess.run(
            [sys.executable, "-m", "ai_trading_core.cli", "run", str(config), "--mode", "live", "--json-out",
             str(out), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            timeout=150,
            check=False,
        )
    wall = time.monotonic() - started
    text = log.read_text()
    assert proc.returncode == 0, text[-4000:]
    time.sleep(0.3)  # the last fill events reach the account

    doc = json.loads(out.read_text())
    assert doc["mode"] == "live"
    # every streamed bar decided exactly once, none skipped, none from the warm-up
    stamps = [to_ns(row[0]) for row in doc["equity_curve"]]
    assert stamps == [to_ns(b.ts) for b in market_data.live_bars], f"{len(stamps)} steps"
    assert doc["bars"] == LIVE

    # the faults happened and were handled as designed, and the run document says so
    assert market_data.ws_connections >= 3  # first, after the drop, after the recycles
    feed = doc["data_feed"]
    assert sum(feed["bars_by_source"].values()) == LIVE and feed["bars_by_source"].get("rest", 0) > 0
    assert feed["connections"] >= 3 and feed["recycles"] >= 2 and feed["stale_episodes"] >= 2
    assert feed["late_bars_dropped"] == 0 and feed["rejected_bars"] == 0
    assert "backfilled over REST" in text
    assert "alert [warning] alpaca_bars: no new bar" in text
    states = [(e["source"], e["state"]) for e in doc["risk_events"]]
    assert ("data_feed", "reducing") in states and ("data_feed", "active") in states, states
    assert states.index(("data_feed", "reducing")) < states.index(("data_feed", "active"))

    # the ledger equals the account: positions and cash
    positions = {s: Decimal(q) for s, q in doc["final_positions"].items()}
    for symbol in SYMBOLS:
        assert positions.get(symbol, Decimal(0)) == alpaca_server.positions.get(symbol, Decimal(0)), symbol
    assert Decimal(doc["final_cash"]) == _account_cash(alpaca_server)

    # every order the broker has is in the run document, filled, once
    orders = {o["client_order_id"]: o for o in rundoc.rows(doc, "orders")}
    assert len(alpaca_server.orders) >= 4
    assert set(alpaca_server.orders) <= set(orders)
    assert alpaca_server.order_posts == len(alpaca_server.orders)
    for coid, o in alpaca_server.orders.items():
        assert o["status"] == "filled"
        assert Decimal(orders[coid]["filled_quantity"]) == Decimal(o["filled_qty"]), coid
    # ... including the one decided on the last bar (its fill lands while the run ends)
    last_bar = to_ns(market_data.live_bars[-1].ts)
    audit = [json.loads(line) for line in (root / "audit.jsonl").read_text().splitlines()]
    on_last = {
        e["correlation_id"]
        for e in audit
        if e["kind"] == "decision" and to_ns(e["payload"]["market"]["timestamp"]) == last_bar
    }
    last_orders = [o for o in rundoc.rows(doc, "orders") if o["correlation_id"] in on_last]
    assert last_orders, "no order was decided on the last bar"
    for o in last_orders:
        assert Decimal(o["filled_quantity"]) == Decimal(alpaca_server.orders[o["client_order_id"]]["filled_qty"]) > 0

    # every fill recorded once in storage, and they add up to the account
    db = sqlite3.connect(root / "trader.db")
    try:
        rows = db.execute("SELECT execution_id, symbol, side, quantity FROM fills").fetchall()
    finally:
        db.close()
    execs = Counter(r[0] for r in rows)
    assert execs and max(execs.values()) == 1
    assert doc["metrics"]["fill_count"] == len(rows)
    held: dict[str, Decimal] = {}
    for _, symbol, side, qty in rows:
        held[symbol] = held.get(symbol, Decimal(0)) + Decimal(str(qty)) * (1 if side == "buy" else -1)
    for symbol in SYMBOLS:
        assert held.get(symbol, Decimal(0)) == alpaca_server.positions.get(symbol, Decimal(0))
    print(f"live run: {LIVE} streamed bars in {wall:.1f} s wall, {len(alpaca_server.orders)} orders, "
          f"{len(rows)} fills, {market_data.ws_connections} market data connections")
