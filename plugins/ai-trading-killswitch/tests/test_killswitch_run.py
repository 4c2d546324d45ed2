"""The kill switch in paper runs, driven through the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ai_trading_killswitch.plugin import KillSwitchComponent

from ai_trading_core.enums import OrderStatus, OrderType, RiskState, Side
from ai_trading_core.errors import TradingHalted
from ai_trading_core.market import BarPanel, to_ns
from ai_trading_core.models import Order, OrderUpdate
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.testing import random_walk_panel

HALT_AFTER = 129  # steps processed when the operator halts mid-run
NO_OPEN_FROM = 126  # SYM000 has no opening price from this bar on: its market orders rest


def cli(state_dir: Path, *args: str, all_plugins: bool = False) -> subprocess.CompletedProcess[str]:
    """``ai-trading ARGS --state-dir STATE_DIR`` in a new process; by default loading only this
    plugin (``AI_TRADING_LOAD_PLUGINS``), which keeps the start-up short."""
    env = dict(os.environ)
    env.pop("AI_TRADING_LOAD_PLUGINS", None)
    if not all_plugins:
        env["AI_TRADING_LOAD_PLUGINS"] = "killswitch"
    return subprocess.run(
        [sys.executable, "-m", "ai_trading_core.cli", *args, "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def config(state_dir: Path) -> dict[str, Any]:
    return {
        "run": {
            "mode": "paper",
            "initial_cash": "100000",
            "state_dir": str(state_dir),
            "rebalance": "every_bar",
        },
        "plugins": {"load": ["sample-data", "sim", "sma", "killswitch"]},
        "data": {"name": "synthetic"},
        "strategies": [{"name": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "sizer": {"name": "equal_weight", "params": {"gross": 0.9}},
        "risk": [{"name": "kill_switch"}],
        "broker": {"name": "sim"},
        "audit": {"enabled": False},
    }


@pytest.fixture
def panel() -> BarPanel:
    """Three random walks; SYM000 stops having an open from bar 126, so the simulated broker
    leaves its market orders resting (open when the halt comes)."""
    p = random_walk_panel(300, 3, seed=7)
    opens = p.open.copy()
    opens[NO_OPEN_FROM:, 0] = np.nan
    return replace(p, open=opens)


def close_of(panel: BarPanel, i: int) -> int:
    """When decisions about bar ``i`` are taken (its close), ns."""
    return int(panel.timestamps[i]) + panel.timeframe.seconds * 1_000_000_000


def broker_saw(order: Order) -> bool:
    return order.broker_order_id is not None  # the simulated broker numbers every order it accepts


def test_halt_while_running_stops_orders_and_cancels_open_ones(
    tmp_path: Path, panel: BarPanel, ai_trading_run: Callable[..., Any]
) -> None:
    state_dir = tmp_path / "state"
    halted: list[subprocess.CompletedProcess[str]] = []

    def operator(done: int, total: int) -> None:
        if done >= HALT_AFTER and not halted:
            halted.append(cli(state_dir, "halt", "--reason", "desk says stop", "--by", "ops"))

    outcome = ai_trading_run(config(state_dir), panel=panel, progress=operator)
    assert halted[0].returncode == 0, halted[0].stderr
    result = outcome.result
    halt_ts = to_ns(result.risk_events[0].timestamp)
    assert halt_ts == close_of(panel, HALT_AFTER)  # seen at the very next step

    (event,) = result.risk_events
    assert event.state is RiskState.HALTED and event.source == "kill_switch"
    assert "desk says stop" in event.reason and "ops" in event.reason
    before = [o for o in result.orders if to_ns(o.created_at) < halt_ts]
    assert len(before) > 100 and all(broker_saw(o) for o in before)  # it was trading
    assert not [o for o in result.orders if to_ns(o.created_at) >= halt_ts]  # nothing after
    assert all(to_ns(f.timestamp) < halt_ts for f in result.fills)
    # SYM000's resting orders were open at the halt and are cancelled by it
    cancelled = [o for o in result.orders if o.status is OrderStatus.CANCELLED]
    assert cancelled and {o.symbol for o in cancelled} == {"SYM000"}
    assert all(to_ns(o.created_at) >= close_of(panel, NO_OPEN_FROM - 1) for o in cancelled)
    assert all("kill switch" in (o.reason or "") for o in cancelled)
    assert not [o for o in result.orders if not o.status.is_terminal]
    (doc_event,) = outcome.document["risk_events"]
    assert doc_event["source"] == "kill_switch" and doc_event["state"] == "halted"


def test_halt_before_the_run_then_resume_rearms(
    tmp_path: Path, panel: BarPanel, ai_trading_run: Callable[..., Any]
) -> None:
    state_dir = tmp_path / "state"
    done = cli(state_dir, "halt", "--reason", "maintenance", all_plugins=True)
    assert done.returncode == 0, done.stderr
    assert "HALTED" in done.stdout
    status = cli(state_dir, "halt", "--status", "--json")
    assert json.loads(status.stdout)["halted"] is True

    halted_run = ai_trading_run(config(state_dir), panel=panel).result
    assert not halted_run.orders and not halted_run.fills
    (event,) = halted_run.risk_events
    assert event.source == "kill_switch" and event.state is RiskState.HALTED
    assert to_ns(event.timestamp) == close_of(panel, 0)
    assert halted_run.final_equity == Decimal("100000")

    resumed = cli(state_dir, "resume", "--reason", "maintenance over")
    assert resumed.returncode == 0, resumed.stderr
    assert "previous: HALTED" in resumed.stdout and "maintenance" in resumed.stdout
    assert json.loads(cli(state_dir, "halt", "--status", "--json").stdout)["halted"] is False

    rearmed = ai_trading_run(config(state_dir), panel=panel).result
    assert not rearmed.risk_events and rearmed.fills


def test_cli_refuses_a_halt_without_reason(tmp_path: Path) -> None:
    done = cli(tmp_path, "halt")
    assert done.returncode != 0 and "--reason" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "kill-switch" / "state.json").exists()


class RecordingBroker:
    """Fakes a broker that accepts every order and records what reached it."""

    name = "recording"

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit_order(self, order: Order) -> OrderUpdate:
        self.submitted.append(order.client_order_id)
        return OrderUpdate(
            client_order_id=order.client_order_id, status=OrderStatus.ACCEPTED, timestamp=order.created_at
        )


def test_wrapper_refuses_a_submission_that_bypassed_the_risk_checks(tmp_path: Path) -> None:
    host = create_plugin_host(only=["killswitch"])
    registry = host.registries.risk_checks
    component = registry.get("kill_switch").build({}, _build_context(tmp_path))
    assert isinstance(component, KillSwitchComponent)
    host.pm.register(component, name="component:kill_switch")
    broker = RecordingBroker()
    order = Order(
        client_order_id="c1",
        symbol="SYM000",
        side=Side.BUY,
        quantity=Decimal(5),
        order_type=OrderType.MARKET,
        created_at=datetime(2024, 1, 2, tzinfo=UTC),
    )

    ack = host.hook.ai_trading_submit_order(order=order, broker=broker)
    assert ack.status is OrderStatus.ACCEPTED and broker.submitted == ["c1"]

    assert cli(tmp_path, "halt", "--reason", "fat finger").returncode == 0
    with pytest.raises(TradingHalted, match="fat finger"):
        host.hook.ai_trading_submit_order(
            order=order.model_copy(update={"client_order_id": "c2"}), broker=broker
        )
    assert broker.submitted == ["c1"]

    assert cli(tmp_path, "resume", "--reason", "checked").returncode == 0
    host.hook.ai_trading_submit_order(order=order.model_copy(update={"client_order_id": "c3"}), broker=broker)
    assert broker.submitted == ["c1", "c3"]


def _build_context(state_dir: Path) -> Any:
    from ai_trading_core.registry import BuildContext

    return BuildContext(component_id="kill_switch", state_dir=state_dir)
