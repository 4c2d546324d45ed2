"""``ccxt_ohlcv.stream()`` against the local Binance server through ccxt itself: after the
warm-up, each complete candle is delivered once, in order; the candle still forming is held
back until the clock passes its close."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from ai_trading_ccxt.config import CcxtOhlcvParams
from ai_trading_ccxt.data import CcxtOhlcvSource

from ai_trading_core.clock import SimulatedClock

HOUR = 3_600_000


def test_polled_candles_once_each_and_the_forming_one_held_back(binance_server: Any) -> None:
    t0 = binance_server.t0_ms
    binance_server.klines = {
        sym: [binance_server.kline(t0 + i * HOUR, base + i) for i in range(20)]
        for sym, base in (("BTCUSDT", 40_000.0), ("ETHUSDT", 2_000.0))
    }
    clock = SimulatedClock((t0 + 15 * HOUR + HOUR // 2) * 1_000_000)  # candle 15 is forming
    params = CcxtOhlcvParams(symbols=["BTC/USDT", "ETH/USDT"], timeframe="1h", urls=binance_server.urls,
                             rate_limit_ms=1, request_timeout_s=2.0, poll_s=0.01, stale_after_s=3600)
    src = CcxtOhlcvSource(params, clock=clock)
    warm = src.load(datetime.fromtimestamp(t0 / 1000, UTC), datetime.fromtimestamp((t0 + 9 * HOUR) / 1000, UTC))
    assert len(warm.timestamps) == 10
    src.stream_end = None  # a live run without an end

    async def collect() -> list[tuple[int, float]]:
        out: list[tuple[int, float]] = []
        async for m in src.stream():
            out.append((m.timestamp // 1_000_000, float(m.close[0])))
            if len(out) == 5:  # the first poll's candles; candle 15 existed but was forming
                clock.set(clock.now_ns() + HOUR * 1_000_000)  # now candle 15 has closed
            if len(out) == 6:
                break
        return out

    got = asyncio.run(asyncio.wait_for(collect(), 20))
    assert got == [(t0 + i * HOUR, 40_000.0 + i) for i in range(10, 16)]
    assert src.poller is not None and src.poller.polls == 2 and src.poller.errors == 0
