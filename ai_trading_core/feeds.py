"""Feeds: where the engine's slices come from. A backtest iterates a panel synchronously;
paper over replay and live iterate an async feed through the same :class:`Engine.step`.

What a streaming data source may offer the live loop besides ``stream()`` (all optional,
see :class:`~ai_trading_core.protocols.LiveDataSource`):

* ``history_is_warmup = True``: the panel its ``load()`` returned is warm-up history. The
  runner feeds it to the strategies (no decisions, no orders) and ``stream()`` continues
  strictly after its last bar;
* ``health() -> FeedHealth``: polled by the live loop while it waits for bars. ``reduce``
  puts the run in REDUCING (no new exposure) until the feed says otherwise.

Helpers shared by streaming sources live here too: :class:`CrossSectionAssembler` turns
per-symbol bars that arrive in any order, from a socket and from REST backfills, into
cross-sections delivered once each, in timestamp order; :func:`poll_bars` gives a
``stream()`` to any source that can only be polled.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
from loguru import logger

from .market import BarPanel, MarketSlice, to_datetime


class ReplayFeed:
    """Replays a historical panel as an asynchronous feed, as a live source would deliver it.

    :param speed: replay speed as a multiple of real time (60 = one minute of bars per
        second); 0 replays as fast as possible, still yielding to the event loop per bar.
    """

    def __init__(self, panel: BarPanel, *, speed: float = 0.0) -> None:
        self.panel = panel
        self.speed = speed

    async def stream(self) -> AsyncIterator[MarketSlice]:
        ts = self.panel.timestamps
        for i in range(len(ts)):
            if self.speed > 0 and i:
                await asyncio.sleep((int(ts[i]) - int(ts[i - 1])) / 1e9 / self.speed)
            else:
                await asyncio.sleep(0)
            yield self.panel.slice_at(i)


# --------------------------------------------------------------------------- health
class FeedStatus(StrEnum):
    LIVE = "live"  # bars arrive as expected
    CLOSED = "closed"  # the market is closed: silence is expected
    STALE = "stale"  # no bar for longer than the source tolerates during market hours
    CONNECTING = "connecting"  # (re)connecting or backfilling over REST


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """A streaming source's view of itself. ``reduce``: trading must take no new exposure
    (the engine goes REDUCING) until the feed reports healthy again; ``silence_s`` is the
    wall-clock time since the last new bar, seconds."""

    status: FeedStatus
    reason: str = ""
    reduce: bool = False
    silence_s: float = 0.0


# --------------------------------------------------------------------------- cross-sections
FIELDS5 = ("open", "high", "low", "close", "volume")


class CrossSectionAssembler:
    """Per-symbol bars (any order, duplicates allowed) → cross-sections in timestamp order,
    each timestamp delivered at most once.

    A timestamp is ready when every symbol has its bar, when a bar of a later timestamp has
    arrived (the earlier minute is over: a symbol without a bar there did not trade and gets
    NaN), or ``grace_s`` seconds after its first bar arrived. A bar at or before the last
    delivered timestamp is late: it is counted and dropped, never delivered a second time.

    :param after: nanoseconds; only bars strictly after it are accepted (the warm-up's last bar).
    """

    def __init__(self, symbols: tuple[str, ...], after: int | None = None) -> None:
        self.symbols = symbols
        self.index = {s: i for i, s in enumerate(symbols)}
        self.last: int | None = after
        self._rows: dict[int, np.ndarray] = {}  # ts -> (5, N)
        self._first_seen: dict[int, float] = {}
        self._filled: dict[int, int] = {}
        self.late = 0  # bars that arrived after their timestamp was delivered without them
        self.duplicates = 0  # bars delivered already (a socket and a REST backfill overlap)
        self.sources: dict[int, str] = {}  # ts -> where its first bar came from
        self._recent: dict[int, frozenset[str]] = {}  # delivered ts -> the symbols it had (the last 256)
        if after is not None:  # the warm-up's last bar counts as delivered with every symbol
            self._recent[after] = frozenset(symbols)

    def add(
        self, symbol: str, ts: int, values: tuple[float, float, float, float, float], now: float, source: str = ""
    ) -> bool:
        """Record one bar; ``values`` are open, high, low, close, volume. Returns False when
        the bar is late, for an unknown symbol, or already known."""
        j = self.index.get(symbol)
        if j is None:
            return False
        if self.last is not None and ts <= self.last:
            if symbol in self._recent.get(ts, ()):
                self.duplicates += 1
            else:
                self.late += 1
                logger.warning("{} bar at {} arrived after that minute was delivered: dropped", symbol,
                               to_datetime(ts).isoformat())
            return False
        row = self._rows.get(ts)
        if row is None:
            row = self._rows[ts] = np.full((5, len(self.symbols)), np.nan)
            self._first_seen[ts] = now
            self._filled[ts] = 0
            self.sources[ts] = source
        if not math.isnan(row[3, j]):
            return False  # the same bar again (socket and REST backfill overlap)
        row[:, j] = values
        self._filled[ts] += 1
        return True

    @property
    def pending(self) -> int:
        return len(self._rows)

    def newest(self) -> int | None:
        """The newest timestamp known, delivered or pending."""
        return max(self._rows) if self._rows else self.last

    def pop_ready(self, now: float, grace_s: float) -> list[tuple[MarketSlice, str]]:
        """The cross-sections ready for delivery, oldest first, with the source of each."""
        out = []
        n = len(self.symbols)
        for ts in sorted(self._rows):
            later = ts != max(self._rows)
            if not (self._filled[ts] >= n or later or now - self._first_seen[ts] >= grace_s):
                break
            row = self._rows.pop(ts)
            self._first_seen.pop(ts)
            self._filled.pop(ts)
            self.last = ts
            self._recent[ts] = frozenset(s for s, c in zip(self.symbols, row[3], strict=True) if c == c)
            if len(self._recent) > 256:
                del self._recent[min(self._recent)]
            out.append((MarketSlice(ts, self.symbols, row[0], row[1], row[2], row[3], row[4]), self.sources.pop(ts)))
        return out


def panel_bars(panel: BarPanel, after: int | None) -> list[tuple[str, int, tuple[float, float, float, float, float]]]:
    """Every (symbol, timestamp, OHLCV) of ``panel`` strictly after ``after``, skipping NaN
    closes (no bar there)."""
    out = []
    lo = 0 if after is None else int(np.searchsorted(panel.timestamps, after, side="right"))
    for i in range(lo, len(panel.timestamps)):
        ts = int(panel.timestamps[i])
        for j, symbol in enumerate(panel.symbols):
            c = float(panel.close[i, j])
            if c != c:
                continue
            out.append(
                (
                    symbol,
                    ts,
                    (float(panel.open[i, j]), float(panel.high[i, j]), float(panel.low[i, j]), c,
                     float(panel.volume[i, j])),
                )
            )
    return out


# --------------------------------------------------------------------------- polling
class PolledBars:
    """``stream()`` for a source that can only be polled (Yahoo, ccxt ``fetch_ohlcv``).

    Every ``poll_s`` seconds it calls ``load(start, None)`` on a worker thread, from one bar
    after the last delivered one (None: nothing new), and delivers the complete bars (open + bar length <= now
    on ``clock``) it has not delivered yet, in timestamp order. A failed poll is logged and
    retried at the next poll; ``health()`` reports STALE (with the error) after
    ``stale_after_s`` seconds without a new bar.

    :param after: nanoseconds; deliver only bars strictly after it (None: all, from the first poll).
    :param end: nanoseconds; the stream ends after delivering the bar at or past it.
    """

    def __init__(
        self,
        load: Callable[[datetime | None, datetime | None], BarPanel | None],
        *,
        timeframe_s: int,
        poll_s: float,
        clock: Any,
        stale_after_s: float | None = None,
        name: str = "polled",
    ) -> None:
        self._load = load
        self.tf_ns = timeframe_s * 1_000_000_000
        self.poll_s = poll_s
        self.clock = clock
        self.stale_after_s = stale_after_s
        self.name = name
        self.polls = 0
        self.errors = 0
        self.last_error = ""
        self._last_new: int | None = None  # clock ns of the last new bar (or the start)

    def health(self) -> FeedHealth:
        now = int(self.clock.now_ns())
        silence = 0.0 if self._last_new is None else (now - self._last_new) / 1e9
        if self.stale_after_s is not None and silence > self.stale_after_s:
            why = f"{self.name}: no new bar for {silence:.1f} s" + (f" ({self.last_error})" if self.last_error else "")
            return FeedHealth(FeedStatus.STALE, why, silence_s=silence)
        return FeedHealth(FeedStatus.LIVE, silence_s=silence)

    async def stream(
        self, symbols: tuple[str, ...], after: int | None = None, end: int | None = None
    ) -> AsyncIterator[MarketSlice]:
        asm = CrossSectionAssembler(symbols, after)
        self._last_new = int(self.clock.now_ns())
        while True:
            start = None if asm.last is None else to_datetime(asm.last + 1_000)
            try:
                panel = await asyncio.to_thread(self._load, start, None)
            except Exception as exc:  # noqa: BLE001 - a failed poll is retried; health() reports it
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                logger.warning("{}: poll failed: {}", self.name, self.last_error)
                panel = None
            self.polls += 1
            if panel is not None:
                self.last_error = ""
                now = int(self.clock.now_ns())
                for symbol, ts, values in panel_bars(panel, asm.last):
                    if ts + self.tf_ns <= now:  # the bar is complete
                        asm.add(symbol, ts, values, 0.0)
                ready = asm.pop_ready(float("inf"), 0.0)
                if ready:
                    self._last_new = now
                for market, _ in ready:
                    if end is not None and market.timestamp > end:
                        return
                    yield market
                    if end is not None and market.timestamp >= end:
                        return
            await asyncio.sleep(self.poll_s)
