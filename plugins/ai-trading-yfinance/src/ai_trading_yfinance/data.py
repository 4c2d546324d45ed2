"""Yahoo Finance history through ``yfinance.download``.

``download`` is injectable (default: yfinance's own function): yfinance cannot be pointed
at another server, so tests hand in recorded payloads at this boundary. Each load asks
yfinance only for the symbols missing from the cache, in one batch call.

yfinance's ``end`` is exclusive; the source passes the day (or bar) after the requested
end so that ``end`` is inclusive, and trims the result to [start, end] by bar open time.

``stream()`` (paper and live runs, or as a failover backup) polls Yahoo every ``poll_s``
seconds from one bar after the last delivered and delivers complete bars once each
(:class:`ai_trading_core.feeds.PolledBars`); ``load()`` is the warm-up history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import ConfigError, DataError
from ai_trading_core.feeds import FeedHealth, FeedStatus, PolledBars
from ai_trading_core.market import BarPanel, MarketSlice, to_ns

from .config import YFinanceParams
from .parsing import PRICES, frames_to_panel, symbol_frames
from .providers import DownloadCache

_INTERVALS = {
    Timeframe.M1: "1m",
    Timeframe.M5: "5m",
    Timeframe.M15: "15m",
    Timeframe.M30: "30m",
    Timeframe.H1: "1h",
    Timeframe.D1: "1d",
}


def _yahoo_download(*args: Any, **kwargs: Any) -> Any:
    import yfinance  # imported on use: yfinance sets up its own state on import

    return yfinance.download(*args, **kwargs)


def _parse_day(text: str, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            value = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise ConfigError(f"yfinance: {what} {text!r} is not an ISO date or datetime") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class YFinanceSource:
    """``DataSource`` over Yahoo Finance bars with a parquet cache."""

    history_is_warmup = True

    def __init__(
        self,
        params: YFinanceParams,
        cache_dir: Path | None = None,
        download: Callable[..., Any] = _yahoo_download,
        clock: Any = None,
    ) -> None:
        try:
            self.timeframe = Timeframe.parse(params.interval)
        except ValueError as exc:
            raise ConfigError(f"yfinance: {exc}") from None
        if self.timeframe not in _INTERVALS:
            raise ConfigError(f"yfinance: interval {params.interval!r} is not served by Yahoo")
        self.params = params
        root = params.cache_dir or cache_dir
        self.cache = DownloadCache(root) if params.cache and root is not None else None
        self._download = download
        self.clock = clock
        self.loaded_until: int | None = None  # the stream continues strictly after this bar, ns
        self.stream_end: int | None = None
        self.poller: PolledBars | None = None

    def load(self, start: datetime | None = None, end: datetime | None = None) -> BarPanel:
        p = self.params
        first = start if start is not None else (_parse_day(p.start, "start") if p.start else None)
        last = end if end is not None else (_parse_day(p.end, "end") if p.end else None)
        if first is not None and last is not None and last < first:
            raise ConfigError(f"yfinance: end {last.isoformat()} is before start {first.isoformat()}")
        step = (
            timedelta(days=1) if self.timeframe is Timeframe.D1 else timedelta(seconds=self.timeframe.seconds)
        )
        args: dict[str, Any] = {}
        if first is not None:
            args["start"] = first.date().isoformat() if self.timeframe is Timeframe.D1 else first
        else:
            args["period"] = "max"
        if last is not None:
            args["end"] = (last + step).date().isoformat() if self.timeframe is Timeframe.D1 else last + step
        symbols = tuple(p.symbols)
        frames = self._frames(symbols, args, cacheable=first is not None and last is not None)
        panel = frames_to_panel(frames, symbols, self.timeframe)
        lo = to_ns(first) if first is not None else None
        hi = to_ns(last) if last is not None else None
        if lo is not None or hi is not None:
            panel = panel.select(start=lo, end=hi)
        if len(panel.timestamps) == 0:
            raise DataError(f"yfinance: no bars for {', '.join(symbols)} in the requested range")
        self.loaded_until = int(panel.timestamps[-1])
        self.stream_end = hi
        return panel

    async def stream(self) -> AsyncIterator[MarketSlice]:
        """New complete bars, polled every ``poll_s`` seconds (see the module docstring)."""
        if self.clock is None:
            raise ConfigError("yfinance: streaming needs the run's clock")
        after, end = self.loaded_until, self.stream_end

        def poll(start: datetime | None, _end: datetime | None) -> BarPanel | None:
            # a poll is not a history load: it must not move loaded_until / stream_end
            kept = self.loaded_until, self.stream_end
            try:
                return self.load(start, None)
            except DataError as exc:
                if "no bars for" in str(exc) or "no data for" in str(exc):
                    return None  # nothing new yet: Yahoo answers an empty range
                raise
            finally:
                self.loaded_until, self.stream_end = kept

        self.poller = PolledBars(poll, timeframe_s=self.timeframe.seconds, poll_s=self.params.poll_s,
                                 clock=self.clock, stale_after_s=self.params.stale_after_s, name="yfinance")
        async for market in self.poller.stream(tuple(self.params.symbols), after, end):
            yield market

    def health(self) -> FeedHealth:
        if self.poller is None:
            return FeedHealth(FeedStatus.CONNECTING, "not streaming yet")
        return self.poller.health()

    def _frames(
        self, symbols: tuple[str, ...], args: dict[str, Any], cacheable: bool
    ) -> dict[str, pd.DataFrame]:
        interval = _INTERVALS[self.timeframe]
        out: dict[str, pd.DataFrame] = {}
        paths = {}
        if self.cache is not None and cacheable:
            for s in symbols:
                paths[s] = self.cache.path(
                    s, interval, str(args["start"]), str(args["end"]), self.params.auto_adjust
                )
                hit = self.cache.get(paths[s])
                if hit is not None:
                    out[s] = hit
        missing = [s for s in symbols if s not in out]
        if missing:
            try:
                raw = self._download(
                    missing,
                    interval=interval,
                    auto_adjust=self.params.auto_adjust,
                    actions=False,
                    group_by="column",
                    multi_level_index=True,
                    progress=False,
                    timeout=self.params.timeout_s,
                    **args,
                )
            except Exception as exc:  # noqa: BLE001 - translated to the framework's error
                raise DataError(
                    f"yfinance: download of {', '.join(missing)} failed: {type(exc).__name__}: {exc}"
                ) from exc
            fresh = symbol_frames(raw, tuple(missing))
            for s, frame in fresh.items():
                out[s] = frame
                known = not frame[list(PRICES)].isna().all(axis=None)
                if s in paths and known and self.cache is not None:
                    self.cache.put(paths[s], frame)
        return out
