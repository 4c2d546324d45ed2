"""``yfinance.stream()``: Yahoo polled for new bars (recorded payloads at the adapter boundary,
growing as a live session goes on), each complete bar delivered once, in order, after the
warm-up; a failed poll retried; the forming bar held back until it is complete."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ai_trading_yfinance.config import YFinanceParams
from ai_trading_yfinance.data import YFinanceSource

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.feeds import FeedStatus
from ai_trading_core.market import to_ns

BARS = pd.date_range("2024-01-02 09:30", periods=30, freq="1min", tz="America/New_York")


class GrowingYahoo:
    """Fakes ``yfinance.download`` during a session: each call sees ``step`` more minutes than
    the one before (the recorded frames cut at ``visible``); ``fail_on`` call numbers raise."""

    def __init__(self, recorded: Any, visible: int, step: int, fail_on: tuple[int, ...] = ()) -> None:
        self.recorded = recorded
        self.visible = visible
        self.step = step
        self.fail_on = fail_on
        self.calls = 0

    def __call__(self, tickers: list[str], **kwargs: Any) -> pd.DataFrame:
        self.calls += 1
        if self.calls in self.fail_on:
            raise ConnectionError("Yahoo is down")
        frames = {t: f.iloc[: self.visible] for t, f in self.recorded.frames.items()}
        out = self.recorded.cls(frames)(tickers, **kwargs)
        self.visible = min(self.visible + self.step, len(BARS))
        return out


class _Recorded:
    def __init__(self, cls: Any, frames: dict[str, pd.DataFrame]) -> None:
        self.cls, self.frames = cls, frames


def test_polled_stream_delivers_each_complete_bar_once(recorded_yahoo: Any, yahoo_frame: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frames = {s: yahoo_frame(BARS, list(100 + np.cumsum(rng.normal(0, 0.3, len(BARS))))) for s in ("AAPL", "MSFT")}
    download = GrowingYahoo(_Recorded(recorded_yahoo, frames), visible=12, step=4, fail_on=(3,))
    # the clock stands one minute after the last recorded bar opened: every bar but the last is complete
    clock = SimulatedClock(to_ns(BARS[-1].to_pydatetime().astimezone(UTC)) + 30 * 10**9)
    params = YFinanceParams(symbols=["AAPL", "MSFT"], interval="1m", poll_s=0.01, stale_after_s=3600, cache=False)
    src = YFinanceSource(params, download=download, clock=clock)
    warm = src.load(datetime(2024, 1, 2, tzinfo=UTC), None)
    assert len(warm.timestamps) == 12

    async def collect() -> list[int]:
        out = []
        async for m in src.stream():
            out.append(m.timestamp)
            if len(out) == 17:
                break
        return out

    got = asyncio.run(asyncio.wait_for(collect(), 20))
    expected = [to_ns(t.to_pydatetime().astimezone(UTC)) for t in BARS[12:29]]
    assert got == expected  # bars 12..28 once each; bar 29 is still forming
    assert src.poller is not None and src.poller.errors == 1  # the failed poll was retried
    assert src.health().status is FeedStatus.LIVE
