"""The live runtime (``ai_trading_core.live``): a streaming source through the engine, and
what a stop (SIGTERM, SIGINT, or a programmatic request) does to open orders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from ai_trading_core import hookimpl, rundoc
from ai_trading_core.config import config_from_dict
from ai_trading_core.enums import OrderStatus, RiskState, RunMode
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import BarPanel, MarketSlice
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.runner import host_for_config, run_config
from ai_trading_core.testing import random_walk_panel


class ScriptedLiveSourceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_bars: int = 200
    seed: int = 3


class ScriptedLiveSource:
    """Fakes a streaming market data source: ``load`` gives the universe, ``stream`` yields a
    random-walk panel's slices one by one, yielding to the event loop between them."""

    name = "scripted_live"

    def __init__(self, panel: BarPanel) -> None:
        self.panel = panel
        self.streamed = 0

    def load(self, start: Any = None, end: Any = None) -> BarPanel:
        return self.panel

    async def stream(self) -> AsyncIterator[MarketSlice]:
        for i in range(len(self.panel.timestamps)):
            await asyncio.sleep(0)
            self.streamed += 1
            yield self.panel.slice_at(i)


class HistoryOnlySource:
    """Fakes a data source that can load history but not stream."""

    name = "history_only"

    def __init__(self, panel: BarPanel) -> None:
        self.panel = panel

    def load(self, start: Any = None, end: Any = None) -> BarPanel:
        return self.panel


def _panel(params: ScriptedLiveSourceParams) -> BarPanel:
    return random_walk_panel(params.n_bars, 3, seed=params.seed)


class ScriptedLivePlugin:
    @hookimpl
    def ai_trading_register_data_sources(self, registry: Any) -> None:
        registry.register("scripted_live", lambda p, c: ScriptedLiveSource(_panel(p)), params=ScriptedLiveSourceParams)
        registry.register("history_only", lambda p, c: HistoryOnlySource(_panel(p)), params=ScriptedLiveSourceParams)


def _config(tmp_path: Path, mode: str = "live", *, data: str = "scripted_live", on_stop: str = "cancel") -> Any:
    return config_from_dict({
        "run": {"mode": mode, "on_stop": on_stop, "state_dir": str(tmp_path / "state"),
                "output_dir": str(tmp_path / "runs")},
        "plugins": {"load": ["sim", "sma"]},
        "data": {"name": data},
        "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 5, "slow": 20}}],
        "broker": {"name": "sim", "params": {"commission_bps": 1, "slippage_bps": 2}},
        "audit": {"enabled": False},
    })


def _host(config: Any) -> Any:
    return create_plugin_host(only=config.plugins.load, extra_plugins={"scripted-live": ScriptedLivePlugin()})


def _trade_key(t: Any) -> tuple[Any, ...]:
    return (t.symbol, t.side, t.quantity, t.entry_price, t.exit_price)


def test_live_run_trades_like_the_paper_run(tmp_path: Path) -> None:
    live_cfg = _config(tmp_path)
    live = run_config(live_cfg, _host(live_cfg))
    paper_cfg = _config(tmp_path, "paper")
    paper = run_config(paper_cfg, _host(paper_cfg))
    assert live.result.session.mode is RunMode.LIVE
    assert len(live.result.timestamps) == len(paper.result.timestamps) == 200
    assert len(paper.result.trades) > 5
    assert [_trade_key(t) for t in live.result.trades] == [_trade_key(t) for t in paper.result.trades]
    assert [(f.symbol, f.side, f.quantity, f.price) for f in live.result.fills] == \
        [(f.symbol, f.side, f.quantity, f.price) for f in paper.result.fills]
    assert live.result.final_equity == paper.result.final_equity


def test_live_refuses_a_source_that_cannot_stream(tmp_path: Path) -> None:
    cfg = _config(tmp_path, data="history_only")
    with pytest.raises(ConfigError, match="history_only"):
        run_config(cfg, _host(cfg))


def test_live_refuses_autoloaded_plugins(tmp_path: Path) -> None:
    cfg = config_from_dict({"run": {"mode": "live"}, "data": {"name": "scripted_live"},
                            "strategies": [{"name": "sma_crossover"}]})
    with pytest.raises(ConfigError, match="explicit"):
        host_for_config(cfg)


def _stop_after_orders(min_steps: int) -> Any:
    """An ``on_step`` that requests a stop at the first step, after ``min_steps``, that
    leaves an order open at the broker (the SIGTERM-equivalent, deterministic)."""
    seen: dict[str, Any] = {}

    def on_step(control: Any) -> None:
        if control.steps >= min_steps and control.engine.has_open_orders() and not control.stopping:
            seen["open"] = [o.client_order_id for o in control.engine.book.open_orders()]
            seen["step"] = control.steps
            seen["n_orders"] = len(list(control.engine.book))
            control.request_stop("test stop")

    on_step.seen = seen  # type: ignore[attr-defined]
    return on_step


@pytest.mark.parametrize("policy", ["cancel", "keep"])
def test_stop_ends_trading_and_applies_the_policy(tmp_path: Path, policy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from ai_trading_core import live

    on_step = _stop_after_orders(60)
    real = live.run_live

    async def with_stop(engine: Any, source: Any, *, stop_policy: Any, on_step_: Any = None) -> Any:
        control = await real(engine, source, stop_policy=stop_policy, on_step=on_step)
        with_stop.control = control  # type: ignore[attr-defined]
        with_stop.source = source  # type: ignore[attr-defined]
        return control

    monkeypatch.setattr(live, "run_live", with_stop)
    cfg = _config(tmp_path, on_stop=policy)
    out = run_config(cfg, _host(cfg))
    control, source = with_stop.control, with_stop.source  # type: ignore[attr-defined]
    seen = on_step.seen  # type: ignore[attr-defined]
    assert seen["open"], "the stop must find open orders to be meaningful"
    assert control.steps == seen["step"] and len(out.result.timestamps) == seen["step"]
    assert source.streamed == seen["step"]  # no slice was taken after the stop
    assert control.stop_reason == "test stop" and control.open_orders_at_stop == len(seen["open"])
    orders = {o.client_order_id: o for o in out.result.orders}
    # nothing was decided after the stop: the last orders are those open at the stop
    assert len(out.result.orders) == seen["n_orders"]
    statuses = {orders[c].status for c in seen["open"]}
    if policy == "cancel":
        assert statuses == {OrderStatus.CANCELLED}
        assert out.engine is not None and out.engine.state is RiskState.HALTED
        assert out.result.risk_events[-1].source == "shutdown"
    else:
        assert all(not s.is_terminal for s in statuses)
        assert out.engine is not None and out.engine.state is RiskState.ACTIVE
        assert not any(e.source == "shutdown" for e in out.result.risk_events)


_SLOW_SOURCE_PLUGIN = '''
import asyncio

from pydantic import BaseModel, ConfigDict

from ai_trading_core import hookimpl
from ai_trading_core.testing import random_walk_panel


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_bars: int = 100000
    delay_s: float = 0.01


class ScriptedLiveSource:
    """Fakes a streaming source: random-walk slices, one every delay_s seconds."""

    name = "scripted_live"

    def __init__(self, params):
        self.panel = random_walk_panel(params.n_bars, 2, seed=4)
        self.delay_s = params.delay_s

    def load(self, start=None, end=None):
        return self.panel

    async def stream(self):
        for i in range(len(self.panel.timestamps)):
            await asyncio.sleep(self.delay_s)
            yield self.panel.slice_at(i)


@hookimpl
def ai_trading_register_data_sources(registry):
    registry.register("scripted_live", lambda p, c: ScriptedLiveSource(p), params=Params)
'''


def test_sigterm_stops_a_live_process_cleanly_and_writes_the_run_document(tmp_path: Path) -> None:
    """A real SIGTERM to ``ai-trading run`` in live mode: the process exits 0 after stopping
    between two steps, and the run document and audit trail are written."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    site = tmp_path / "site"
    (site / "ai_trading_scripted_live").mkdir(parents=True)
    (site / "ai_trading_scripted_live" / "__init__.py").write_text("")
    (site / "ai_trading_scripted_live" / "plugin.py").write_text(_SLOW_SOURCE_PLUGIN)
    info = site / "ai_trading_scripted_live-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ai-trading-scripted-live\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text("[ai_trading]\nscripted-live = ai_trading_scripted_live.plugin\n")
    state, doc = tmp_path / "state", tmp_path / "run.json"
    config = tmp_path / "live.toml"
    config.write_text(
        f'[run]\nmode = "live"\nstate_dir = "{state.as_posix()}"\noutput_dir = "{(tmp_path / "runs").as_posix()}"\n'
        '[plugins]\nload = ["scripted-live", "sim", "sma", "watchdog"]\n'
        '[data]\nname = "scripted_live"\n'
        '[[strategies]]\nname = "sma_crossover"\nparams = { fast = 3, slow = 8 }\n'
        '[[risk]]\nname = "heartbeat"\nparams = { interval_s = 0 }\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_")}
    env["PYTHONPATH"] = str(site) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, "-m", "ai_trading_core.cli", "run", str(config), "--json-out", str(doc),
                             "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        beat = state / "heartbeat.json"
        while time.monotonic() < deadline and proc.poll() is None:
            if beat.exists() and json.loads(beat.read_text())["beats"] >= 20:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    document = json.loads(doc.read_text())
    steps = json.loads((state / "heartbeat.json").read_text())["beats"]
    assert 20 <= steps < 100000
    assert document["mode"] == "live" and document["bars"] == steps
    assert document["risk_events"][-1]["source"] == "shutdown"  # policy cancel: halted, open orders cancelled
    working = ("new", "submitted", "accepted", "partially_filled", "cancel_pending", "unknown")
    assert not [o for o in rundoc.rows(document, "orders") if o["status"] in working]
    audit = (tmp_path / "runs").rglob("audit.jsonl")
    events = [json.loads(line) for path in audit for line in path.read_text().splitlines()]
    shutdown = [e for e in events if e.get("kind") == "session" and e.get("payload", {}).get("event") == "shutdown"]
    assert len(shutdown) == 1 and shutdown[0]["payload"]["reason"] == "received SIGTERM"
    assert shutdown[0]["payload"]["steps"] == steps
