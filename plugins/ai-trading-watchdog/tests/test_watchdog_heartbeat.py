"""The ``heartbeat`` risk check: cadence on the engine clock, content, and inside a run."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from pathlib import Path

from ai_trading_watchdog.heartbeat import Heartbeat, heartbeat_path
from ai_trading_watchdog.watchdog import Liveness, Watch, read_heartbeat

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.config import config_from_dict
from ai_trading_core.enums import OrderType, RiskDecision, Side
from ai_trading_core.market import to_datetime
from ai_trading_core.models import Order
from ai_trading_core.runner import host_for_config, run_config
from ai_trading_core.testing import random_walk_panel

_S = 1_000_000_000


def test_beats_at_most_once_per_interval_of_clock_time(tmp_path: Path) -> None:
    clock = SimulatedClock(1_700_000_000 * _S)
    hb = Heartbeat(tmp_path / "heartbeat.json", clock, interval_s=5.0, pid=4242)
    written = []
    for second in range(21):  # t = 0 .. 20 s, one step a second
        if hb.beat():
            written.append(second)
        clock.advance(1.0)
    assert written == [0, 5, 10, 15, 20]
    beat = json.loads((tmp_path / "heartbeat.json").read_text())
    assert beat == {"pid": 4242, "ts_ns": (1_700_000_000 + 20) * _S, "beats": 5,
                    "ts": "2023-11-14T22:13:40+00:00"}


def test_interval_zero_beats_every_step_and_a_late_step_beats_at_once(tmp_path: Path) -> None:
    clock = SimulatedClock(0)
    hb = Heartbeat(tmp_path / "hb.json", clock, interval_s=0.0)
    assert [hb.beat() for _ in range(3)] == [True, True, True]
    slow = Heartbeat(tmp_path / "slow.json", clock, interval_s=60.0)
    assert slow.beat() and not slow.beat()
    clock.advance(59.999)
    assert not slow.beat()
    clock.advance(0.001)
    assert slow.beat()


def test_approves_every_order_unchanged(tmp_path: Path) -> None:
    clock = SimulatedClock(0)
    hb = Heartbeat(tmp_path / "hb.json", clock, interval_s=1.0)
    orders = [Order(client_order_id=f"o{i}", symbol="A", side=Side.BUY, quantity=Decimal(i + 1),
                    order_type=OrderType.MARKET, created_at=clock.now()) for i in range(3)]
    verdicts = hb.check(orders, None)  # type: ignore[arg-type]
    assert [(v.decision, v.client_order_id, v.approved_quantity) for v in verdicts] == \
        [(RiskDecision.APPROVE, f"o{i}", Decimal(i + 1)) for i in range(3)]


def test_a_run_with_the_heartbeat_writes_it_each_bar(tmp_path: Path) -> None:
    panel = random_walk_panel(50, 2, seed=1)
    before = time.time_ns()
    out = run_config(config_from_dict({
        "run": {"state_dir": str(tmp_path)}, "plugins": {"load": ["sample-data", "sim", "sma", "watchdog"]},
        "data": {"name": "synthetic"}, "strategies": [{"name": "sma_crossover", "params": {"fast": 3, "slow": 8}}],
        "risk": [{"name": "heartbeat", "params": {"interval_s": 0}}], "audit": {"enabled": False},
    }), panel=panel)
    beat = json.loads(heartbeat_path(tmp_path).read_text())
    assert beat["beats"] == 50
    # liveness is wall-clock time; the bar being processed is recorded beside it
    assert before <= beat["ts_ns"] <= time.time_ns()
    assert beat["bar_ts"] == to_datetime(int(panel.timestamps[-1]) + 86_400 * _S).isoformat()
    assert len(out.result.trades) > 0


def test_a_healthy_replay_never_looks_silent_and_a_silent_trader_does(tmp_path: Path) -> None:
    """A paper run replaying 2020's bars, paced: the watchdog reading its heartbeat while it
    runs finds it fresh every time (its bar time is years old); once the trader stops
    beating, the same watchdog finds it stale within --max-silence."""
    panel = random_walk_panel(60, 2, seed=2)  # daily bars of 2020
    config = config_from_dict({
        "run": {"mode": "paper", "state_dir": str(tmp_path), "output_dir": str(tmp_path / "runs"),
                "replay_speed": 86_400 / 0.02},  # one bar every 20 ms
        "plugins": {"load": ["sample-data", "sim", "sma", "watchdog"]},
        "data": {"name": "synthetic"}, "strategies": [{"name": "sma_crossover", "params": {"fast": 3, "slow": 8}}],
        "risk": [{"name": "heartbeat", "params": {"interval_s": 0.05}}], "audit": {"enabled": False},
    })
    max_silence_s = 0.5
    watch = Watch(max_silence_s)
    seen: list[Liveness] = []
    done = threading.Event()

    def watchdog() -> None:
        while not done.is_set():
            seen.append(watch.seen(read_heartbeat(heartbeat_path(tmp_path)), time.time_ns()).liveness)
            time.sleep(0.02)

    thread = threading.Thread(target=watchdog)
    thread.start()
    try:
        run_config(config, host_for_config(config), panel=panel)
    finally:
        done.set()
        thread.join()
    assert Liveness.FRESH in seen and Liveness.STALE not in seen, "a healthy replay tripped the watchdog"
    # the trader is gone now: silent beyond max_silence, then stale
    stopped = time.time_ns()
    while watch.seen(read_heartbeat(heartbeat_path(tmp_path)), time.time_ns()).liveness is Liveness.FRESH:
        time.sleep(0.02)
    noticed_s = (time.time_ns() - stopped) / 1e9
    assert noticed_s <= max_silence_s + 0.1
