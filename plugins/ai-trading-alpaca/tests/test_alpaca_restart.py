"""kill -9 at random points of a paper run, then restart: no fill lost, no order duplicated.

The trader runs as a real ``ai-trading run`` process (paper mode over a paced replay of bars
served by the local Alpaca server, SQLite storage, the alpaca broker pointed at the same
server). It is killed with SIGKILL at seeded random moments and started again each time; the
restarted process resumes the unfinished run from storage and reconciles with the account
before it trades. The server fills orders right after accepting them, so a kill between an
order's POST and its answer leaves a fill that lands while no trader is running. The outcome is compared with the same config run once without
interruption against a fresh server.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ai_trading_core import rundoc
from ai_trading_core.audit import read_audit_key_file, verify_audit_file

SYMBOLS = ("AAPL", "MSFT")
BARS = 200
STEP_S = 0.04  # replay pace: one daily bar every 40 ms


def _bars(seed: int) -> dict[str, list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    out: dict[str, list[dict[str, Any]]] = {}
    day0 = datetime(2024, 1, 1, 5, tzinfo=UTC)
    for k, symbol in enumerate(SYMBOLS):
        steps = rng.normal(0, 1.5, BARS)
        steps[-16:] = 2.0  # a steady climb at the end: no new crossings, every order fills
        close = 100.0 + 50 * k + np.cumsum(steps)
        out[symbol] = [
            {
                "t": (day0 + timedelta(days=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "o": float(c),
                "h": float(c) + 1,
                "l": float(c) - 1,
                "c": float(c),
                "v": 1000,
                "n": 10,
                "vw": float(c),
            }
            for i, c in enumerate(close)
        ]
    return out


def _config(server: Any, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    keys = 'api_key = "PKTEST"\nsecret_key = "secret"\n'
    text = f"""
[run]
mode = "paper"
initial_cash = "100000"
state_dir = "{root / 'state'}"
output_dir = "{root / 'runs'}"
replay_speed = {86400 / STEP_S}

[plugins]
load = ["sma", "alpaca", "storage"]

[data]
name = "alpaca_bars"
[data.params]
symbols = {json.dumps(list(SYMBOLS))}
base_url = "{server.url}"
{keys}
[[strategies]]
name = "sma_crossover"
id = "sma"
[strategies.params]
fast = 3
slow = 8

[sizer]
name = "fixed_quantity"
[sizer.params]
quantity = 10

[broker]
name = "alpaca"
[broker.params]
base_url = "{server.url}"
stream_url = "{server.stream_url}"
request_timeout_s = 2.0
max_requests_per_minute = 60000  # the local server has no rate limit
unknown_order_budget_s = 1.0  # an order persisted but never sent before a kill: rejected soon
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


def _start(config: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "ai_trading_core.cli", "run", str(config), "--json-out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=open(out.with_suffix(".log"), "ab"),  # noqa: SIM115 - closed with the process
        env=env,
    )


def _prepare(server: Any, bars: dict[str, list[dict[str, Any]]]) -> Any:
    server.bars = bars
    server.auto_fill = True
    # fills land right after the acceptance, also while no trader runs (a kill between the
    # POST and its answer); not later: an order in flight holds back the next one of its
    # symbol and side, so slower fills would make the decisions depend on when fills land,
    # and the two runs could not be compared
    server.fill_delay_s = 0.0
    server.prices = {s: Decimal("100") for s in SYMBOLS}
    return server


def _intents(server: Any) -> Counter[tuple[str, str, str]]:
    return Counter((o["symbol"], o["side"], o["qty"]) for o in server.orders.values())


@pytest.mark.slow
def test_kill_9_and_restart_loses_no_fill_and_duplicates_no_order(alpaca_server: Any, tmp_path: Path) -> None:
    bars = _bars(seed=11)

    reference = _prepare(type(alpaca_server)(), bars)  # a second, fresh local Alpaca server
    reference.start()
    try:
        proc = _start(_config(reference, tmp_path / "reference"), tmp_path / "reference" / "run.json")
        assert proc.wait(timeout=180) == 0, (tmp_path / "reference" / "run.log").read_text()[-3000:]
        time.sleep(0.5)
    finally:
        reference.stop()
    expected = _intents(reference)
    assert sum(expected.values()) >= 6  # the run trades enough to be interrupted in between

    server = _prepare(alpaca_server, bars)
    rng = random.Random(20261204)
    root = tmp_path / "killed"
    config = _config(server, root)
    out = root / "run.json"
    interrupted_mid_run = 0
    try:
        for _ in range(4):
            proc = _start(config, out)
            # a random point while it trades: after a few more orders, plus a random delay
            target = len(server.orders) + rng.randint(1, 8)
            deadline = time.monotonic() + 120
            while len(server.orders) < target and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.25))
            before = len(server.orders)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            if proc.returncode == -signal.SIGKILL and 0 < before < sum(expected.values()):
                interrupted_mid_run += 1
            if proc.returncode == 0:
                break
        else:
            proc = _start(config, out)
            assert proc.wait(timeout=180) == 0, out.with_suffix(".log").read_text()[-3000:]
        time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.kill()

    log = out.with_suffix(".log").read_text()
    assert interrupted_mid_run >= 3, "the kills did not land while the run was trading"
    assert "resuming run" in log

    # no order duplicated: one order at the broker per intent, each posted once
    assert _intents(server) == expected
    assert server.order_posts == len(server.orders)
    assert all(o["status"] == "filled" for o in server.orders.values())

    # no fill lost or applied twice: the resumed run's ledger equals the account
    doc = json.loads(out.read_text())
    positions = {s: Decimal(q) for s, q in doc["final_positions"].items()}
    for symbol in SYMBOLS:
        assert positions.get(symbol, Decimal(0)) == server.positions.get(symbol, Decimal(0))
    filled = sum(Decimal(o["filled_qty"]) for o in server.orders.values())
    assert sum(Decimal(o["filled_quantity"]) for o in rundoc.rows(doc, "orders")) == filled
    # cash moved exactly once per share: every fill was at 100
    flow = sum(
        (Decimal(o["filled_qty"]) * 100 * (1 if o["side"] == "sell" else -1) for o in server.orders.values()),
        Decimal(0),
    )
    assert Decimal(doc["final_cash"]) == Decimal("100000") + flow

    # the resumed run kept one id and one unbroken audit chain
    key = read_audit_key_file(root / "state" / "audit-hmac.key")
    assert verify_audit_file(root / "audit.jsonl", key).ok
