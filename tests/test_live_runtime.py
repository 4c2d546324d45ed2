"""The live runtime (``ai_trading_core.live``): a streaming source through the engine, and
what a stop (SIGTERM, SIGINT, or a programmatic request) does to open orders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from ai_trading_core import hookimpl
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
