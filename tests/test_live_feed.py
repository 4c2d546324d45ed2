"""What the live loop adds for streaming sources (``ai_trading_core.live``, ``.feeds``): the
warm-up from ``load()`` decides nothing, a slice not newer than the last is never decided
twice, a feed's ``health()`` puts the run in REDUCING and lifts it (but never lifts a state it
did not set), and cross-sections are assembled once each from bars in any order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from ai_trading_core import hookimpl
from ai_trading_core.config import config_from_dict
from ai_trading_core.enums import RiskState
from ai_trading_core.feeds import CrossSectionAssembler, FeedHealth, FeedStatus
from ai_trading_core.market import BarPanel, MarketSlice
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.runner import run_config
from ai_trading_core.testing import random_walk_panel

PANEL = random_walk_panel(120, 2, seed=4)
WARM = 40


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    replay_from: int = 0  # the stream starts here (< WARM: it repeats warm-up bars)
    repeat_at: int | None = None  # deliver this row twice
    stale_between: tuple[int, int] | None = None  # health asks for REDUCING while streaming these rows


class WarmupStreamSource:
    """Fakes a streaming source with a warm-up: ``load`` gives the first ``WARM`` rows,
    ``stream`` the rest (starting ``replay_from``, possibly repeating a row); ``health``
    reports stale while the rows in ``stale_between`` are being delivered."""

    history_is_warmup = True

    def __init__(self, p: Params) -> None:
        self.p = p
        self.row = 0
        self.health_calls = 0

    def load(self, start: Any = None, end: Any = None) -> BarPanel:
        return PANEL.select(end=int(PANEL.timestamps[WARM - 1]))

    def health(self) -> FeedHealth:
        self.health_calls += 1
        lo, hi = self.p.stale_between or (-1, -1)
        if lo <= self.row < hi:
            return FeedHealth(FeedStatus.STALE, "scripted silence", True, 9.0)
        return FeedHealth(FeedStatus.LIVE)

    async def stream(self) -> AsyncIterator[MarketSlice]:
        for i in range(self.p.replay_from or WARM, len(PANEL.timestamps)):
            self.row = i
            await asyncio.sleep(0.3 if self.p.stale_between and i == self.p.stale_between[0] else 0)
            yield PANEL.slice_at(i)
            if i == self.p.repeat_at:
                yield PANEL.slice_at(i)


class SourcePlugin:
    def __init__(self) -> None:
        self.built: list[WarmupStreamSource] = []

    @hookimpl
    def ai_trading_register_data_sources(self, registry: Any) -> None:
        def build(p: Params, ctx: Any) -> WarmupStreamSource:
            self.built.append(WarmupStreamSource(p))
            return self.built[-1]

        registry.register("warmup_stream", build, params=Params)


def _run(tmp_path: Path, **params: Any) -> tuple[Any, WarmupStreamSource]:
    config = config_from_dict({
        "run": {"mode": "live", "on_stop": "keep", "state_dir": str(tmp_path / "state"),
                "output_dir": str(tmp_path / "runs")},
        "plugins": {"load": ["sim", "sma"]},
        "data": {"name": "warmup_stream", "params": params},
        "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 5, "slow": 20}}],
        "broker": {"name": "sim"},
        "audit": {"enabled": False},
    })
    plugin = SourcePlugin()
    host = create_plugin_host(only=config.plugins.load, extra_plugins={"warmup-stream": plugin})
    return run_config(config, host), plugin.built[-1]


def test_warmup_decides_nothing_and_the_stream_follows_it(tmp_path: Path) -> None:
    out, _ = _run(tmp_path, replay_from=30, repeat_at=60)  # repeats ten warm-up bars and row 60
    curve = out.result.timestamps
    assert list(curve) == [int(t) for t in PANEL.timestamps[WARM:]]  # each streamed bar once
    # the strategy was warm at the first streamed bar: its first order came on that bar or
    # later, never on a warm-up bar
    first = min(o.created_at for o in out.result.orders)
    assert first.timestamp() * 1e9 >= int(PANEL.timestamps[WARM])
    assert len(out.result.orders) > 2


def test_feed_health_reduces_and_lifts(tmp_path: Path) -> None:
    out, source = _run(tmp_path, stale_between=(70, 72))
    states = [(e.source, e.state) for e in out.result.risk_events]
    assert states[:2] == [("data_feed", RiskState.REDUCING), ("data_feed", RiskState.ACTIVE)]
    assert source.health_calls > 0


def test_cross_sections_once_each_in_order() -> None:
    asm = CrossSectionAssembler(("A", "B"), after=100)
    v = (1.0, 2.0, 0.5, 1.5, 10.0)
    assert not asm.add("A", 100, v, 0.0) and asm.duplicates == 1  # the warm-up's last bar: not again
    assert asm.add("B", 300, v, 0.0) and asm.add("A", 200, v, 0.0)
    assert [m.timestamp for m, _ in asm.pop_ready(0.0, 5.0)] == [200]  # 300 still waits for A
    assert not asm.add("A", 200, v, 1.0) and asm.duplicates == 2  # delivered already
    assert not asm.add("B", 200, v, 1.0) and asm.late == 1  # its minute went without it
    ready = asm.pop_ready(10.0, 5.0)  # grace over: 300 goes with B only
    assert [m.timestamp for m, _ in ready] == [300] and np.isnan(ready[0][0].close[0])
