"""The ``failover`` rules against scripted sources: history from the first source that loads,
gaps filled from the backups, streaming switched on an error, on a stale health report and on
an early end, never a bar twice, every switch alerted and recorded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from ai_trading_failover.config import FailoverParams
from ai_trading_failover.source import FailoverSource, Member

from ai_trading_core.clock import WallClock
from ai_trading_core.enums import AlertSeverity
from ai_trading_core.errors import DataError
from ai_trading_core.feeds import FeedHealth, FeedStatus
from ai_trading_core.market import BarPanel, MarketSlice
from ai_trading_core.models import Alert
from ai_trading_core.testing import random_walk_panel

PANEL = random_walk_panel(40, 2, seed=5)


class ScriptedSource:
    """Fakes a streaming data source: ``load`` serves ``panel`` (or raises ``fail_load``);
    ``stream`` yields the panel's rows after ``loaded_until``, raising ``fail_at`` (a row
    index) or ending early at ``end_at``, or going silent with a STALE health from ``stale_at``."""

    def __init__(self, panel: BarPanel, *, fail_load: bool = False, fail_at: int | None = None,
                 end_at: int | None = None, stale_at: int | None = None, pace_s: float = 0.0) -> None:
        self.panel = panel
        self.fail_load = fail_load
        self.fail_at, self.end_at, self.stale_at = fail_at, end_at, stale_at
        self.pace_s = pace_s
        self.loaded_until: int | None = None
        self.stream_end: int | None = None
        self.streams = 0
        self._stale = False

    def load(self, start: datetime | None = None, end: datetime | None = None) -> BarPanel:
        if self.fail_load:
            raise DataError("scripted outage")
        return self.panel

    def health(self) -> FeedHealth:
        return FeedHealth(FeedStatus.STALE, "silent", True, 9.0) if self._stale else FeedHealth(FeedStatus.LIVE)

    async def stream(self) -> AsyncIterator[MarketSlice]:
        self.streams += 1
        ts = self.panel.timestamps
        lo = 0 if self.loaded_until is None else int(np.searchsorted(ts, self.loaded_until, side="right"))
        for i in range(lo, len(ts)):
            await asyncio.sleep(self.pace_s)
            if i == self.fail_at:
                self.fail_at = None  # fails once
                raise DataError("scripted socket failure")
            if i == self.end_at:
                self.end_at = None
                return
            if i == self.stale_at:
                self.stale_at = None
                self._stale = True
                await asyncio.sleep(3600)
            yield self.panel.slice_at(i)


def _failover(*sources: Any, alerts: list[Alert] | None = None, **params: Any) -> FailoverSource:
    p = FailoverParams.model_validate(
        {"primary": {"name": "a"}, "backups": [{"name": "b"}] * (len(sources) - 1), "poll_s": 0.01, **params}
    )
    members = [Member(f"s{k}", s) for k, s in enumerate(sources)]
    return FailoverSource(p, members, clock=WallClock(), alert=(alerts if alerts is not None else []).append)


async def _all(src: FailoverSource) -> list[int]:
    return [m.timestamp async for m in src.stream()]


def _history_then_stream(src: FailoverSource, warm: int) -> list[int]:
    panel = src.load(None, None)
    src.loaded_until = int(panel.timestamps[warm - 1])  # as if the warm-up ended there
    src.stream_end = int(panel.timestamps[-1])  # the run's end
    return asyncio.run(_all(src))


def test_history_from_the_first_source_that_loads() -> None:
    alerts: list[Alert] = []
    src = _failover(ScriptedSource(PANEL, fail_load=True), ScriptedSource(PANEL), alerts=alerts)
    panel = src.load(None, None)
    assert panel.fingerprint() == PANEL.fingerprint()
    assert [a.severity for a in alerts] == [AlertSeverity.WARNING]
    assert src.load_sources == {"s1": int(np.isfinite(PANEL.close).sum())}


def test_every_source_failing_is_a_data_error() -> None:
    src = _failover(ScriptedSource(PANEL, fail_load=True), ScriptedSource(PANEL, fail_load=True))
    with pytest.raises(DataError, match="every source failed"):
        src.load(None, None)


def test_history_gaps_filled_from_the_backup() -> None:
    holes = PANEL.close.copy()
    holes[5, 0] = np.nan
    keep = np.ones(len(PANEL.timestamps), dtype=bool)
    keep[10] = False  # a minute the primary lacks entirely
    primary = BarPanel(symbols=PANEL.symbols, timestamps=PANEL.timestamps[keep], open=PANEL.open[keep],
                       high=PANEL.high[keep], low=PANEL.low[keep], close=holes[keep], volume=PANEL.volume[keep],
                       timeframe=PANEL.timeframe)
    src = _failover(ScriptedSource(primary), ScriptedSource(PANEL))
    panel = src.load(None, None)
    assert np.array_equal(panel.timestamps, PANEL.timestamps)
    assert np.array_equal(panel.close, PANEL.close)
    assert src.load_sources["s1"] == 3  # one cell, plus a row of two


def test_stream_switches_on_error_without_gap_or_duplicate() -> None:
    alerts: list[Alert] = []
    src = _failover(ScriptedSource(PANEL, fail_at=25), ScriptedSource(PANEL), alerts=alerts)
    got = _history_then_stream(src, 20)
    assert got == [int(t) for t in PANEL.timestamps[20:]]
    assert [(s.from_id, s.to_id) for s in src.switches] == [("s0", "s1")]
    assert "scripted socket failure" in src.switches[0].reason
    extras = src.run_extras()
    assert [(s["source"], s["bars"]) for s in extras["segments"]] == [("s0", 5), ("s1", 15)]
    assert [a.key for a in alerts] == ["failover:switch"]


def test_stream_switches_when_the_source_reports_stale() -> None:
    src = _failover(ScriptedSource(PANEL, stale_at=30), ScriptedSource(PANEL))
    got = _history_then_stream(src, 20)
    assert got == [int(t) for t in PANEL.timestamps[20:]]
    assert src.switches[0].reason == "silent"


def test_an_early_end_is_a_failure_and_a_stale_last_source_asks_for_reducing() -> None:
    backup = ScriptedSource(PANEL, stale_at=35)
    src = _failover(ScriptedSource(PANEL, end_at=30), backup)

    async def main() -> tuple[list[int], FeedHealth]:
        out: list[int] = []
        stream = src.stream()
        async for m in stream:
            out.append(m.timestamp)
            if len(out) == 15:
                break
        await asyncio.sleep(0.05)
        return out, src.health()

    src.load(None, None)
    src.loaded_until = int(PANEL.timestamps[19])
    got, _ = asyncio.run(main())
    assert got == [int(t) for t in PANEL.timestamps[20:35]]
    assert src.switches[0].reason == "its stream ended"
    backup._stale = True
    health = src.health()
    assert health.status is FeedStatus.STALE and health.reduce  # the last source: nothing left to switch to
