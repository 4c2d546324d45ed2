"""The ``failover`` data source: a primary and ordered backups behind one data source.

History (``load``): the primary's panel, or the first backup's that loads when it fails; with
``fill_gaps``, the timestamps the primary lacks and the symbols without a bar are filled from
the backups, in order, within the primary's time range. The source of every bar is recorded.

Streaming (``stream``): the active source's stream, until it raises, ends before the run's
end, or goes stale: then the next source takes over, continuing strictly after the last bar
delivered (its ``loaded_until`` is set there, so an Alpaca stream backfills the gap over REST,
a polled source polls from there). Every switch raises a WARNING alert (going back to the
primary, INFO). While on a backup the primary is tried again every ``retry_primary_s``.
A bar is never delivered twice: anything not newer than the last bar is dropped.

Staleness: a source with ``health()`` (:class:`~ai_trading_core.feeds.FeedHealth`) decides
itself, knowing its market hours (a closed market is not stale); for one without, silence
longer than ``stale_after_s`` counts as stale.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from loguru import logger

from ai_trading_core.enums import AlertSeverity
from ai_trading_core.errors import DataError
from ai_trading_core.feeds import FeedHealth, FeedStatus
from ai_trading_core.market import FIELDS, BarPanel, MarketSlice, to_datetime, to_ns
from ai_trading_core.models import Alert

from .config import FailoverParams


@dataclass
class Member:
    id: str
    source: Any
    symbols: dict[str, str] = field(default_factory=dict)  # its symbol -> the primary's


@dataclass
class Switch:
    at: datetime  # wall clock
    after_bar: int | None  # the last bar delivered before the switch, ns
    from_id: str
    to_id: str
    reason: str


def _renamed(panel: BarPanel, mapping: dict[str, str]) -> BarPanel:
    if not mapping:
        return panel
    symbols = tuple(mapping.get(s, s) for s in panel.symbols)
    return BarPanel(symbols=symbols, timestamps=panel.timestamps, open=panel.open, high=panel.high,
                    low=panel.low, close=panel.close, volume=panel.volume, timeframe=panel.timeframe,
                    instruments={mapping.get(k, k): v for k, v in panel.instruments.items()}, source=panel.source)


class FailoverSource:
    """``LiveDataSource`` over several data sources (see the module docstring)."""

    history_is_warmup = True

    def __init__(
        self,
        params: FailoverParams,
        members: list[Member],
        *,
        clock: Any = None,
        alert: Callable[[Alert], None] | None = None,
        name: str = "failover",
    ) -> None:
        if len(members) < 2:
            raise DataError("failover: needs a primary and at least one backup")
        self.params = params
        self.members = members
        self.clock = clock
        self._alert = alert
        self.name = name
        self.loaded_until: int | None = None
        self.stream_end: int | None = None
        self.symbols: tuple[str, ...] = ()
        self.active = 0
        self.switches: list[Switch] = []
        self.load_sources: dict[str, int] = {}  # history cells by source
        self.bar_sources: list[tuple[int, str]] = []  # streamed bars: (timestamp ns, source id)
        self._since_switch = 0.0
        self._last_bar_at = 0.0

    # ------------------------------------------------------------------ history
    def _load_member(self, m: Member, start: datetime | None, end: datetime | None) -> BarPanel:
        panel = _renamed(m.source.load(start, end), m.symbols)
        if self.symbols and set(self.symbols) - set(panel.symbols):
            missing = sorted(set(self.symbols) - set(panel.symbols))
            raise DataError(f"failover: {m.id} has no {', '.join(missing)} (map its symbols with `symbols`)")
        return panel.select(self.symbols) if self.symbols else panel

    def load(self, start: datetime | None = None, end: datetime | None = None) -> BarPanel:
        errors: list[str] = []
        base: BarPanel | None = None
        used = 0
        for k, m in enumerate(self.members):
            try:
                base = self._load_member(m, start, end)
            except Exception as exc:  # noqa: BLE001 - the next source is tried; all failing is a DataError
                errors.append(f"{m.id}: {type(exc).__name__}: {exc}")
                if k + 1 < len(self.members):
                    self._send(AlertSeverity.WARNING, f"history from {m.id} failed ({type(exc).__name__}: {exc}); "
                               f"trying {self.members[k + 1].id}", "load")
                continue
            used = k
            break
        if base is None:
            raise DataError("failover: every source failed: " + "; ".join(errors))
        self.symbols = base.symbols
        counts = {self.members[used].id: int(np.isfinite(base.close).sum())}
        panel = base
        if self.params.fill_gaps:
            # The first backup is always asked (a timestamp the primary lacks shows only there);
            # the others only while bars are still missing.
            for j, m in enumerate(self.members[used + 1 :]):
                if j and not np.isnan(panel.close).any():
                    break
                try:
                    other = self._load_member(m, start, end)
                except Exception as exc:  # noqa: BLE001 - a backup that fails cannot fill anything
                    logger.warning("failover: {} could not fill gaps: {}: {}", m.id, type(exc).__name__, exc)
                    continue
                panel, filled = _fill(panel, other)
                if filled:
                    counts[m.id] = filled
                    logger.info("failover: {} bar(s) filled from {}", filled, m.id)
        self.load_sources = counts
        self.loaded_until = int(panel.timestamps[-1])
        self.stream_end = to_ns(end) if end is not None else None
        return panel

    # ------------------------------------------------------------------ streaming
    def health(self) -> FeedHealth:
        source = self.members[self.active].source
        fn = getattr(source, "health", None)
        if fn is None:
            silence = self._now() - self._last_bar_at if self._last_bar_at else 0.0
            status = FeedStatus.STALE if silence > self.params.stale_after_s else FeedStatus.LIVE
            return FeedHealth(status, f"{self.members[self.active].id}: no bar for {silence:.1f} s", False, silence)
        h: FeedHealth = fn()
        # REDUCING only when the last source is the one failing: a backup is still to try
        reduce = h.reduce and self.active == len(self.members) - 1
        return FeedHealth(h.status, f"{self.members[self.active].id}: {h.reason}", reduce, h.silence_s)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _stale(self, k: int) -> str | None:
        m = self.members[k]
        fn = getattr(m.source, "health", None)
        if fn is None:
            silence = self._now() - self._last_bar_at
            return f"no bar for {silence:.1f} s" if silence > self.params.stale_after_s else None
        h: FeedHealth = fn()
        if h.status is not FeedStatus.STALE:
            return None
        if self.params.switch_after_s is not None and h.silence_s < self.params.switch_after_s:
            return None
        return h.reason or "stale"

    async def stream(self) -> AsyncIterator[MarketSlice]:
        last = self.loaded_until
        self._since_switch = self._last_bar_at = self._now()
        k = quiet = 0
        self.active = 0
        it = self._open(k, last)
        try:
            while True:
                nxt = asyncio.ensure_future(it.__anext__())
                reason: str | None = None
                while reason is None and not nxt.done():
                    await asyncio.wait({nxt}, timeout=self.params.poll_s)
                    if nxt.done():
                        break
                    reason = self._stale(k)
                    if reason is None and k > 0 and self._now() - self._since_switch >= self.params.retry_primary_s:
                        reason = "retrying the primary"
                market = None
                if reason is None:
                    try:
                        market = nxt.result()
                    except StopAsyncIteration:
                        if self.stream_end is not None and last is not None and last >= self.stream_end:
                            return
                        reason = "its stream ended"
                    except Exception as exc:  # noqa: BLE001 - the next source takes over
                        reason = f"{type(exc).__name__}: {exc}"
                else:
                    nxt.cancel()
                    with contextlib.suppress(BaseException):
                        await nxt
                if market is not None:
                    if last is not None and market.timestamp <= last:
                        continue
                    last = market.timestamp
                    quiet = 0
                    self._last_bar_at = self._now()
                    self.bar_sources.append((market.timestamp, self.members[k].id))
                    yield market
                    if self.stream_end is not None and last >= self.stream_end:
                        return
                    continue
                assert reason is not None
                target = 0 if reason == "retrying the primary" else (k + 1) % len(self.members)
                await self._close(it)
                quiet += 1
                if quiet >= len(self.members):  # a whole round without a bar: do not spin
                    await asyncio.sleep(min(self.params.poll_s * 2 ** (quiet - len(self.members)), 30.0))
                self._switch(k, target, last, reason)
                k = self.active = target
                it = self._open(k, last)
        finally:
            await self._close(it)

    def _open(self, k: int, after: int | None) -> AsyncIterator[MarketSlice]:
        source = self.members[k].source
        source.loaded_until = after  # its stream continues strictly after the last bar delivered
        if hasattr(source, "stream_end"):
            source.stream_end = self.stream_end
        self._since_switch = self._now()
        stream: AsyncIterator[MarketSlice] = source.stream()
        return stream

    @staticmethod
    async def _close(it: AsyncIterator[MarketSlice]) -> None:
        aclose = getattr(it, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()

    def _switch(self, k: int, target: int, last: int | None, reason: str) -> None:
        a, b = self.members[k].id, self.members[target].id
        self.switches.append(Switch(self.clock.now() if self.clock is not None else datetime.now().astimezone(),
                                    last, a, b, reason))
        after = to_datetime(last).isoformat() if last is not None else "the start"
        if target == 0:
            self._send(AlertSeverity.INFO, f"market data back on the primary {b} (after {after})", "switch")
        else:
            self._send(AlertSeverity.WARNING, f"market data switched from {a} to {b} after {after}: {reason}",
                       "switch")

    def _send(self, severity: AlertSeverity, message: str, what: str) -> None:
        (logger.warning if severity is not AlertSeverity.INFO else logger.info)("{}: {}", self.name, message)
        if self._alert is None:
            return
        now = self.clock.now() if self.clock is not None else datetime.now().astimezone()
        try:
            self._alert(Alert(severity=severity, source=self.name, message=message, timestamp=now,
                              key=f"{self.name}:{what}"))
        except Exception:  # noqa: BLE001 - an alert channel must not break the feed
            logger.exception("{}: alert failed", self.name)

    # ------------------------------------------------------------------ the run document
    def run_extras(self) -> dict[str, Any]:
        """Where the bars came from: history cells per source, streamed bars as runs of one
        source (``segments``), and every switch."""
        segments: list[dict[str, Any]] = []
        for ts, sid in self.bar_sources:
            if segments and segments[-1]["source"] == sid:
                segments[-1]["to"] = to_datetime(ts).isoformat()
                segments[-1]["bars"] += 1
            else:
                iso = to_datetime(ts).isoformat()
                segments.append({"source": sid, "from": iso, "to": iso, "bars": 1})
        counts: dict[str, int] = {}
        for _, sid in self.bar_sources:
            counts[sid] = counts.get(sid, 0) + 1
        return {
            "source": "failover",
            "members": [m.id for m in self.members],
            "history_bars_by_source": self.load_sources,
            "streamed_bars_by_source": counts,
            "segments": segments,
            "switches": [
                {"at": s.at.isoformat(),
                 "after_bar": None if s.after_bar is None else to_datetime(s.after_bar).isoformat(),
                 "from": s.from_id, "to": s.to_id, "reason": s.reason}
                for s in self.switches
            ],
        }


def _fill(panel: BarPanel, other: BarPanel) -> tuple[BarPanel, int]:
    """``panel`` with its missing bars (timestamps it lacks inside its range, symbols without
    a bar) taken from ``other``. Returns the merged panel and the number of bars filled."""
    lo, hi = int(panel.timestamps[0]), int(panel.timestamps[-1])
    other = other.select(panel.symbols, lo, hi)
    stamps = np.union1d(panel.timestamps, other.timestamps).astype(np.int64)
    ia = np.searchsorted(stamps, panel.timestamps)
    ib = np.searchsorted(stamps, other.timestamps)

    def spread(p: BarPanel, rows: np.ndarray, name: str) -> np.ndarray:
        out = np.full((len(stamps), len(panel.symbols)), np.nan)
        out[rows] = getattr(p, name)
        return out

    mine = {name: spread(panel, ia, name) for name in FIELDS}
    theirs = {name: spread(other, ib, name) for name in FIELDS}
    take = np.isnan(mine["close"]) & np.isfinite(theirs["close"])
    for name in FIELDS:
        np.copyto(mine[name], theirs[name], where=take)
    merged = BarPanel(symbols=panel.symbols, timestamps=stamps, timeframe=panel.timeframe,
                      instruments=panel.instruments, source=panel.source, **mine)
    return merged, int(take.sum())
