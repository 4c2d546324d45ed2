"""Minute bars from Alpaca's market data websocket (alpaca-py's ``StockDataStream`` /
``CryptoDataStream``), as cross-sections, with the gaps filled over REST.

How a bar reaches the engine exactly once, never skipped:

* the websocket client runs as a task on the live loop's own event loop (no thread);
* after every (re)connection, once the subscription is sent, the bars since the last one
  delivered are fetched over REST (the *backfill*) and merged with what the socket brings,
  by timestamp and symbol. Nothing is delivered while a backfill is due, so a bar the socket
  missed during a disconnect can never be overtaken by a newer one;
* a cross-section is delivered once every symbol has its bar, once a later minute has
  started, or ``bar_grace_s`` after its first bar (a symbol that did not trade has no bar:
  NaN); a bar arriving later than that is dropped and counted, never delivered twice.

Staleness is the adapter's own (alpaca-py notices a silent socket only with
``data_timeout``, and would then reconnect all night on a closed market): during market
hours (:mod:`.market_hours`), no new bar for ``stale_after_s`` seconds of wall clock closes
the socket so that alpaca-py reconnects with back-off (and the reconnect backfills), and
raises one WARNING alert per episode; after ``reduce_after_s`` the feed's ``health()`` asks
for REDUCING (see :mod:`ai_trading_core.live`) until bars flow again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from loguru import logger

from ai_trading_core.enums import AlertSeverity
from ai_trading_core.errors import DataError
from ai_trading_core.feeds import CrossSectionAssembler, FeedHealth, FeedStatus, panel_bars
from ai_trading_core.market import BarPanel, MarketSlice, to_datetime, to_ns
from ai_trading_core.models import Alert

from .market_hours import MarketHours
from .parsing import timestamp

MINUTE_NS = 60_000_000_000


def bar_time_ns(value: Any) -> int:
    """A websocket bar's ``t``: a msgpack Timestamp (what Alpaca sends), a datetime or an
    RFC 3339 string."""
    to_unix_nano = getattr(value, "to_unix_nano", None)
    if to_unix_nano is not None:
        return int(to_unix_nano())
    if isinstance(value, datetime):
        return to_ns(value)
    return to_ns(timestamp(value))


class AlpacaBarStream:
    """One streaming session. Build it, iterate :meth:`slices` once, read :meth:`health`
    any time (from the same event loop).

    :param make_client: builds the alpaca-py data stream client (``StockDataStream`` or
        ``CryptoDataStream``, ``raw_data=True``).
    :param fetch: ``fetch(start)`` returns the bars with open time >= ``start`` over REST as a
        panel (blocking: run on a worker thread).
    :param after: nanoseconds; deliver only bars strictly after it (the warm-up's last bar).
    :param end: nanoseconds; the stream ends once the bar at or past it is delivered.
    """

    def __init__(
        self,
        *,
        symbols: tuple[str, ...],
        make_client: Callable[[], Any],
        fetch: Callable[[datetime], BarPanel],
        hours: MarketHours,
        clock: Any,
        params: Any,
        after: int | None,
        end: int | None,
        alert: Callable[[Alert], None] | None,
        name: str = "alpaca_bars",
    ) -> None:
        self.symbols = symbols
        self._make_client = make_client
        self._fetch = fetch
        self.hours = hours
        self.clock = clock
        self.params = params
        self.end = end
        self._alert = alert
        self.name = name
        self.stale_after_s: float = params.stale_after_s or (2 * 60 + 15.0)
        self.reduce_after_s: float = params.reduce_after_s or 3 * self.stale_after_s
        self.asm = CrossSectionAssembler(symbols, after)
        self._wake = asyncio.Event()
        self._need_backfill = True
        self._client: Any = None
        self._open = True
        self._last_new = 0.0  # loop time of the last new bar (or of the start / the open)
        self._last_recycle = 0.0
        self._episode: float | None = None  # loop time a stale episode began
        self._reducing = False
        # counters, for tests and the run's logs
        self.connections = 0
        self.backfills = 0
        self.backfilled_bars = 0
        self.stream_bars = 0
        self.recycles = 0
        self.rejected = 0
        self.stale_alerts = 0
        self.delivered: list[tuple[int, str]] = []  # (timestamp, "stream" | "rest")

    # ------------------------------------------------------------------ health
    def _loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    def health(self) -> FeedHealth:
        if not self._open:
            return FeedHealth(FeedStatus.CLOSED, "market closed")
        silence = self._loop_time() - self._last_new if self._last_new else 0.0
        if self._reducing:
            return FeedHealth(FeedStatus.STALE, f"{self.name}: no new bar for {silence:.1f} s", True, silence)
        if self._episode is not None:
            return FeedHealth(FeedStatus.STALE, f"{self.name}: no new bar for {silence:.1f} s", False, silence)
        if self._need_backfill:
            return FeedHealth(FeedStatus.CONNECTING, "backfilling over REST", False, silence)
        return FeedHealth(FeedStatus.LIVE, "", False, silence)

    # ------------------------------------------------------------------ socket side
    def _build_client(self) -> Any:
        client = self._make_client()
        client._reconnect_min_backoff = self.params.reconnect_min_s
        client._reconnect_max_backoff = self.params.reconnect_max_s
        client.subscribe_bars(self._on_bar, *self.symbols)
        original_start, original_subscribe = client._start_ws, client._send_subscribe_msg
        open_timeout = max(self.stale_after_s, 1.0)

        async def start_ws() -> None:
            # alpaca-py waits forever for a server silent during the handshake
            await asyncio.wait_for(original_start(), timeout=open_timeout)
            self.connections += 1

        async def send_subscribe() -> None:
            await original_subscribe()
            # Subscribed: what the socket sends from now on plus a REST fetch from the last
            # delivered bar covers everything, whatever the socket missed before.
            self._need_backfill = True
            self._wake.set()

        client._start_ws = start_ws
        client._send_subscribe_msg = send_subscribe
        return client

    async def _on_bar(self, msg: dict[str, Any]) -> None:
        try:
            symbol = str(msg["S"])
            ts = bar_time_ns(msg["t"])
            values = (float(msg["o"]), float(msg["h"]), float(msg["l"]), float(msg["c"]), float(msg.get("v", 0.0)))
            if not min(values[:4]) > 0:
                raise DataError(f"non-positive price in {values[:4]}")
        except (KeyError, TypeError, ValueError, DataError) as exc:
            self.rejected += 1
            logger.error("{}: malformed bar dropped ({}): {!r}", self.name, exc, msg)
            return
        if self.asm.add(symbol, ts, values, self._loop_time(), "stream"):
            self.stream_bars += 1
            self._fresh()
        self._wake.set()

    def _fresh(self) -> None:
        """A new bar arrived: the feed is alive."""
        now = self._loop_time()
        if self._episode is not None:
            silent = now - self._last_new
            logger.info("{}: bars flow again after {:.1f} s", self.name, silent)
            self._send_alert(
                AlertSeverity.INFO, f"market data flows again after {silent:.1f} s of silence", "recovered"
            )
        self._episode = None
        self._reducing = False
        self._last_new = now

    async def _recycle(self, silence: float) -> None:
        self.recycles += 1
        self._last_recycle = self._loop_time()
        logger.warning("{}: no new bar for {:.1f} s during market hours: recycling the socket", self.name, silence)
        client = self._client
        if client is not None and client._ws is not None:
            with contextlib.suppress(Exception):
                await client._ws.close()
        # the socket may be healthy while the bars went missing: fetch them anyway
        self._need_backfill = True

    # ------------------------------------------------------------------ REST side
    async def _backfill(self) -> bool:
        last = self.asm.last
        if last is None:
            self._need_backfill = False
            return True
        self._need_backfill = False  # a (re)subscribe during the fetch sets it again
        start = to_datetime(last + 1_000)
        try:
            panel = await asyncio.to_thread(self._fetch, start)
        except Exception as exc:  # noqa: BLE001 - retried at the next poll; staleness reports it
            self._need_backfill = True
            logger.warning("{}: REST backfill from {} failed: {}: {}", self.name, start.isoformat(),
                           type(exc).__name__, exc)
            return False
        self.backfills += 1
        now_ns = int(self.clock.now_ns())
        tf = MINUTE_NS
        added = 0
        for symbol, ts, values in panel_bars(panel, last):
            if ts + tf <= now_ns and self.asm.add(symbol, ts, values, self._loop_time(), "rest"):
                added += 1
        if added:
            self.backfilled_bars += added
            # after a reconnect these are bars the socket missed: worth a warning in the log
            log = logger.warning if self.connections > 1 else logger.info
            log("{}: {} bar(s) backfilled over REST after {}", self.name, added, start.isoformat())
            self._fresh()
        return True

    # ------------------------------------------------------------------ the stream
    async def slices(self) -> AsyncIterator[MarketSlice]:
        loop = asyncio.get_running_loop()
        self._last_new = self._last_recycle = loop.time()
        await self._check_hours()
        self._client = self._build_client()
        task = loop.create_task(self._client._run_forever(), name=f"{self.name}-socket")
        try:
            while True:
                if task.done():
                    exc = task.exception()
                    raise DataError(f"{self.name}: the market data socket stopped: {exc!r}")
                await self._check_hours()
                if self._need_backfill:
                    await self._backfill()
                if not self._need_backfill:
                    for market, source in self.asm.pop_ready(loop.time(), self.params.bar_grace_s):
                        self.delivered.append((market.timestamp, source))
                        yield market
                        if self.end is not None and market.timestamp >= self.end:
                            return
                await self._check_stale()
                await self._sleep()
        finally:
            await self._close(task)

    async def _sleep(self) -> None:
        self._wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self.params.poll_s)

    async def _check_hours(self) -> None:
        now = self.clock.now()
        if self.hours.due(now):
            try:
                await asyncio.to_thread(self.hours.refresh, now)
            except Exception as exc:  # noqa: BLE001 - keep the last answer; ask again later
                logger.warning("{}: market clock/calendar unavailable: {}: {}", self.name, type(exc).__name__, exc)
        was_open, self._open = self._open, self.hours.is_open(now)
        if self._open and not was_open:
            # silence while closed was expected: count it from the open
            self._last_new = self._last_recycle = self._loop_time()
            logger.info("{}: market open", self.name)
        elif was_open and not self._open:
            self._episode, self._reducing = None, False
            logger.info("{}: market closed; silence is expected until the next open", self.name)

    async def _check_stale(self) -> None:
        if not self._open:
            return
        now = self._loop_time()
        silence = now - self._last_new
        if silence <= self.stale_after_s:
            return
        if self._episode is None:
            self._episode = now
            self.stale_alerts += 1
            self._send_alert(
                AlertSeverity.WARNING,
                f"no new bar for {silence:.1f} s during market hours (stale_after_s {self.stale_after_s:g}); "
                "recycling the socket and backfilling over REST",
                "stale",
            )
        if now - self._last_recycle >= self.stale_after_s:
            await self._recycle(silence)
        if silence > self.reduce_after_s and not self._reducing:
            self._reducing = True
            logger.warning("{}: still no bar after {:.1f} s: asking for REDUCING", self.name, silence)

    def _send_alert(self, severity: AlertSeverity, message: str, what: str) -> None:
        if self._alert is None:
            return
        try:
            self._alert(
                Alert(severity=severity, source=self.name, message=message, timestamp=self.clock.now(),
                      key=f"{self.name}:{what}")
            )
        except Exception:  # noqa: BLE001 - an alert channel must not break the feed
            logger.exception("{}: alert failed", self.name)

    async def _close(self, task: asyncio.Task[Any]) -> None:
        client = self._client
        if client is not None and not task.done():
            with contextlib.suppress(Exception):
                await client.stop_ws()
            if client._ws is not None:  # wakes the client's receive at once (it polls its stop flag every 5 s)
                with contextlib.suppress(Exception):
                    await client._ws.close()
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=5.0)
            except (TimeoutError, Exception):  # noqa: BLE001 - shutting down regardless
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if client is not None and client._ws is not None:
            with contextlib.suppress(Exception):
                await client.close()
