"""The trade_updates websocket, consumed by alpaca-py's ``TradingStream`` on a thread of
its own; events are handed to the broker through a queue and applied on the engine's
thread in :meth:`AlpacaBroker.on_market`."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from typing import Any

from alpaca.trading.stream import TradingStream
from loguru import logger

from .feeds import StaleFeedDetector


class TradeUpdatesListener:
    """Owns one ``TradingStream`` and its thread. Started by :meth:`start`, never by the
    constructor. ``stale_after_s``: silence (no message, no successful handshake) after
    which the socket is closed so that alpaca-py reconnects; every reconnect is counted so the
    broker can reconcile over REST (events sent during a gap are lost)."""

    def __init__(
        self, api_key: str, secret_key: str, paper: bool, url: str | None, stale_after_s: float
    ) -> None:
        self._args = (api_key, secret_key, paper, url)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stale_after_s = stale_after_s
        self.connections = 0
        self._stream: TradingStream | None = None
        self._thread: threading.Thread | None = None
        self._watch: asyncio.Task[None] | None = None
        self._detector: StaleFeedDetector | None = None

    def start(self) -> None:
        key, secret, paper, url = self._args
        # Pings every few seconds, and an open timeout: alpaca-py's defaults (10 s / 180 s, no
        # bound on the handshake) let a dead socket look alive for minutes.
        ping = max(self.stale_after_s / 3, 0.5)
        stream = TradingStream(
            key,
            secret,
            paper=paper,
            raw_data=True,
            url_override=url,
            websocket_params={
                "ping_interval": ping,
                "ping_timeout": self.stale_after_s,
                "open_timeout": self.stale_after_s,
                "max_queue": 1024,
            },
        )
        stream._reconnect_min_backoff = 0.2
        stream._reconnect_max_backoff = max(self.stale_after_s, 1.0)
        stream.subscribe_trade_updates(self._on_update)
        original_start = stream._start_ws

        async def start_ws() -> None:
            if self._detector is None:
                self._detector = StaleFeedDetector(self.stale_after_s, asyncio.get_running_loop().time)
                self._watch = asyncio.get_running_loop().create_task(self._detector.watch(self._on_stale))
            self._detector.beat()
            await asyncio.wait_for(original_start(), timeout=self.stale_after_s)
            self.connections += 1
            self._detector.beat()

        stream._start_ws = start_ws  # type: ignore[method-assign]
        self._stream = stream
        self._thread = threading.Thread(target=stream.run, name="alpaca-trade-updates", daemon=True)
        self._thread.start()

    async def _on_update(self, msg: dict[str, Any]) -> None:
        if self._detector is not None:
            self._detector.beat()
        data = msg.get("data")
        if isinstance(data, dict):
            self.events.put(data)

    async def _on_stale(self) -> None:
        stream = self._stream
        if stream is not None and stream._ws is not None:
            logger.warning(
                "alpaca trade_updates socket silent for {:.1f} s: reconnecting", self.stale_after_s
            )
            await stream.close()

    def drain(self) -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def stop(self, timeout: float = 5.0) -> None:
        stream, thread = self._stream, self._thread
        if stream is None or thread is None:
            return
        deadline = time.monotonic() + timeout
        while stream._loop is None and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        loop = stream._loop
        if loop is not None and loop.is_running():
            if self._watch is not None:
                loop.call_soon_threadsafe(self._watch.cancel)
            try:
                asyncio.run_coroutine_threadsafe(stream.stop_ws(), loop).result(timeout)
                asyncio.run_coroutine_threadsafe(stream.close(), loop).result(timeout)
            except Exception as exc:  # noqa: BLE001 - shutting down regardless
                logger.debug("alpaca stream stop: {}", exc)
        thread.join(timeout)
        self._stream = self._thread = None
