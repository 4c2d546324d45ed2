"""OHLCV history through ccxt's ``fetch_ohlcv``, paginated by ``since``/``limit``.

Each page starts one timeframe after the previous page's last candle; the loop stops at
``until``, on an empty page, or when a page does not advance.

``stream()`` (paper and live runs, or as a failover backup) polls ``fetch_ohlcv`` every
``poll_s`` seconds from one candle after the last delivered, on one exchange object, and
delivers complete candles once each (:class:`ai_trading_core.feeds.PolledBars`); the candle
still forming is held back until it closes. ``load()`` is the warm-up history. Requests are paced by ccxt's
built-in rate limiter. Bars are labelled by their open time (ccxt's candle timestamp) in
UTC, as everywhere in the framework. Instruments come from ``load_markets()``: tick size
from the price precision, lot size from the amount precision, both as exact Decimals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import numpy as np

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import ConfigError, DataError, UnknownSymbolError
from ai_trading_core.feeds import FeedHealth, FeedStatus, PolledBars
from ai_trading_core.market import BarPanel, MarketSlice
from ai_trading_core.models import Instrument

from . import parsing
from .config import CcxtOhlcvParams
from .providers import make_exchange


class CcxtOhlcvSource:
    """``DataSource`` over an exchange's candles. ``exchange`` may be a prepared ccxt object
    (tests, or a caller sharing one); otherwise one is built from ``params`` per load."""

    history_is_warmup = True

    def __init__(self, params: CcxtOhlcvParams, exchange: Any = None, clock: Any = None) -> None:
        self.params = params
        self.timeframe = Timeframe.parse(params.timeframe)
        self._exchange = exchange
        self.clock = clock
        self.pages = 0  # requests made by the last load
        self.loaded_until: int | None = None  # the stream continues strictly after this candle, ns
        self.stream_end: int | None = None
        self.poller: PolledBars | None = None

    def load(self, start: datetime | None = None, end: datetime | None = None) -> BarPanel:
        panel = self._load(start, end, self._exchange if self._exchange is not None else make_exchange(self.params))
        self.loaded_until = int(panel.timestamps[-1])
        self.stream_end = int(end.timestamp() * 1000) * 1_000_000 if end is not None else None
        return panel

    async def stream(self) -> AsyncIterator[MarketSlice]:
        """New complete candles, polled every ``poll_s`` seconds (see the module docstring)."""
        if self.clock is None:
            raise ConfigError(f"ccxt {self.params.exchange}: streaming needs the run's clock")
        exchange = self._exchange if self._exchange is not None else make_exchange(self.params)

        def poll(start: datetime | None, _end: datetime | None) -> BarPanel | None:
            try:
                return self._load(start, None, exchange)
            except DataError as exc:
                if "no candles for" in str(exc):
                    return None  # nothing new yet
                raise

        self.poller = PolledBars(poll, timeframe_s=self.timeframe.seconds, poll_s=self.params.poll_s,
                                 clock=self.clock, stale_after_s=self.params.stale_after_s,
                                 name=f"ccxt {self.params.exchange}")
        async for market in self.poller.stream(tuple(self.params.symbols), self.loaded_until, self.stream_end):
            yield market

    def health(self) -> FeedHealth:
        if self.poller is None:
            return FeedHealth(FeedStatus.CONNECTING, "not streaming yet")
        return self.poller.health()

    def _load(self, start: datetime | None, end: datetime | None, exchange: Any) -> BarPanel:
        p = self.params
        since = (
            int(start.timestamp() * 1000)
            if start is not None
            else (parsing.to_ms(p.since, "since") if p.since else None)
        )
        until = (
            int(end.timestamp() * 1000)
            if end is not None
            else (parsing.to_ms(p.until, "until") if p.until else None)
        )
        try:
            markets = exchange.load_markets()
        except Exception as exc:  # noqa: BLE001 - translated to the framework's error
            raise DataError(f"ccxt {p.exchange}: load_markets failed: {type(exc).__name__}: {exc}") from exc
        missing = [s for s in p.symbols if s not in markets]
        if missing:
            raise UnknownSymbolError(f"ccxt {p.exchange}: unknown symbol(s) {', '.join(missing)}")
        instruments = {
            s: parsing.instrument(markets[s], exchange.precisionMode, p.exchange) for s in p.symbols
        }
        self.pages = 0
        candles = {s: self._candles(exchange, s, since, until) for s in p.symbols}
        return candles_to_panel(candles, tuple(p.symbols), self.timeframe, instruments, f"ccxt:{p.exchange}")

    def _candles(self, exchange: Any, symbol: str, since: int | None, until: int | None) -> list[list[Any]]:
        p = self.params
        step = self.timeframe.seconds * 1000
        out: list[list[Any]] = []
        cursor = since
        for _ in range(p.max_pages):
            kwargs: dict[str, Any] = {"params": {"until": until}} if until is not None else {}
            try:
                page = exchange.fetch_ohlcv(symbol, self.timeframe.value, cursor, p.page_limit, **kwargs)
            except Exception as exc:  # noqa: BLE001 - translated to the framework's error
                raise DataError(
                    f"ccxt {p.exchange}: {symbol} candles since {cursor}: {type(exc).__name__}: {exc}"
                ) from exc
            self.pages += 1
            fresh = [
                c for c in page if (cursor is None or c[0] >= cursor) and (until is None or c[0] <= until)
            ]
            if not fresh:
                break
            out.extend(fresh)
            last = int(fresh[-1][0])
            if until is not None and last + step > until:
                break
            cursor = last + step
        else:
            raise DataError(f"ccxt {p.exchange}: {symbol}: more than {p.max_pages} pages; narrow since/until")
        if not out:
            raise DataError(f"ccxt {p.exchange}: no candles for {symbol}")
        return out


def candles_to_panel(
    candles: dict[str, list[list[Any]]],
    symbols: tuple[str, ...],
    timeframe: Timeframe,
    instruments: dict[str, Instrument],
    source: str,
) -> BarPanel:
    """A (T, N) panel from ccxt candles ``[ms, open, high, low, close, volume]``; a symbol
    without a candle at a timestamp gets NaN there. Duplicate timestamps (overlapping pages)
    must agree; non-positive or missing prices are a ``DataError``."""
    rows: dict[str, dict[int, list[Any]]] = {}
    for symbol in symbols:
        per: dict[int, list[Any]] = {}
        for c in candles[symbol]:
            ms = int(c[0])
            if ms in per and list(per[ms]) != list(c):
                raise DataError(f"{source}: {symbol}: two different candles at {ms} ms")
            per[ms] = c
        rows[symbol] = per
    stamps_ms = np.array(sorted({ms for per in rows.values() for ms in per}), dtype=np.int64)
    index = {int(ms): i for i, ms in enumerate(stamps_ms)}
    names = ("open", "high", "low", "close", "volume")
    arrays = {name: np.full((len(stamps_ms), len(symbols)), np.nan) for name in names}
    for j, symbol in enumerate(symbols):
        for ms, c in rows[symbol].items():
            for k, name in enumerate(names, start=1):
                value = float(c[k]) if c[k] is not None else float("nan")
                if name != "volume" and not value > 0:
                    raise DataError(
                        f"{source}: {symbol} candle at {ms} ms: non-positive or missing {name} {c[k]!r}"
                    )
                arrays[name][index[ms], j] = value if name != "volume" or value == value else 0.0
    return BarPanel(
        symbols=symbols,
        timestamps=stamps_ms * 1_000_000,
        timeframe=timeframe,
        instruments=instruments,
        source=source,
        **arrays,
    )
