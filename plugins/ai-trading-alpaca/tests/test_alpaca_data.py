"""Historical bars through alpaca-py's StockHistoricalDataClient pointed at the local server
(pagination followed by alpaca-py), and the stale-feed detector on an injected clock."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from ai_trading_alpaca.config import AlpacaBarsParams
from ai_trading_alpaca.data import AlpacaBarsSource
from ai_trading_alpaca.feeds import StaleFeedDetector
from pydantic import SecretStr

from ai_trading_core.errors import DataError
from ai_trading_core.market import to_datetime


def _bar(day: int, close: float) -> dict[str, Any]:
    return {
        "t": f"2024-01-{day:02d}T05:00:00Z",
        "o": close - 1,
        "h": close + 1,
        "l": close - 2,
        "c": close,
        "v": 1000 + day,
        "n": 10,
        "vw": close,
    }


def test_alpaca_bars_panel_with_gaps_and_pages(alpaca_server: Any) -> None:
    alpaca_server.bars = {
        "AAPL": [_bar(d, 100.0 + d) for d in range(2, 12)],
        "MSFT": [_bar(d, 300.0 + d) for d in range(2, 12) if d != 5],
    }
    alpaca_server.bars_page_size = 4
    params = AlpacaBarsParams(symbols=["AAPL", "MSFT"], base_url=alpaca_server.url, request_timeout_s=2.0)
    panel = AlpacaBarsSource(params, SecretStr("k"), SecretStr("s")).load()
    assert alpaca_server.bar_requests == 5  # 19 bars, 4 per page
    assert panel.symbols == ("AAPL", "MSFT") and panel.shape == (10, 2)
    assert to_datetime(panel.timestamps[0]).isoformat() == "2024-01-02T05:00:00+00:00"
    np.testing.assert_array_equal(panel.close[:, 0], [100.0 + d for d in range(2, 12)])
    assert np.isnan(panel.close[3, 1]) and panel.close[4, 1] == 306.0
    assert panel.volume[0, 0] == 1002


def test_alpaca_bars_bad_payload_is_data_error(alpaca_server: Any) -> None:
    alpaca_server.bars = {"AAPL": [_bar(2, 100.0) | {"c": -1.0}]}
    params = AlpacaBarsParams(symbols=["AAPL"], base_url=alpaca_server.url, request_timeout_s=2.0)
    with pytest.raises(DataError, match="non-positive close"):
        AlpacaBarsSource(params, SecretStr("k"), SecretStr("s")).load()


class ManualTime:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_alpaca_stale_feed_detector() -> None:
    now = ManualTime()
    detector = StaleFeedDetector(10.0, now)
    now.t = 9.9
    assert not detector.is_stale()
    now.t = 10.1
    assert detector.is_stale()
    detector.beat()
    assert detector.silence_s() == 0.0 and not detector.is_stale()
    with pytest.raises(ValueError):
        StaleFeedDetector(0, now)


def test_alpaca_stale_feed_watch_calls_back_once_per_silence() -> None:
    now = ManualTime()
    detector = StaleFeedDetector(10.0, now)
    calls: list[float] = []

    async def on_stale() -> None:
        calls.append(now.t)

    async def fake_sleep(seconds: float) -> None:  # advances the injected time instead of waiting
        now.t += seconds
        if now.t >= 40:
            raise asyncio.CancelledError

    async def main() -> None:
        with pytest.raises(asyncio.CancelledError):
            await detector.watch(on_stale, poll_s=2.5, sleep=fake_sleep)

    asyncio.run(main())
    # silent throughout: stale just after 10 s, then again 10 s after each restart of the count
    assert calls == [12.5, 25.0, 37.5] and detector.stale_count == 3
