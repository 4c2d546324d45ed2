"""Bars from Alpaca's market data API: history through alpaca-py's
``StockHistoricalDataClient`` / ``CryptoHistoricalDataClient`` (pagination is alpaca-py's:
it follows ``next_page_token``), and, for paper and live runs, minute bars streamed from the
market data websocket (:mod:`.bar_stream`).

Bars are labelled by their open time (Alpaca's ``t``), as everywhere in the framework.
``adjustment`` selects raw prices or split-/dividend-/fully adjusted ones.

In a live run, ``load()`` is the warm-up history (``history_is_warmup``): the strategies see
it, nothing is decided on it, and ``stream()`` continues strictly after its last bar, with
the bars in between fetched over REST once the socket is subscribed (no gap, no duplicate).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from typing import Any

import numpy as np
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.live.crypto import CryptoDataStream
from alpaca.data.live.stock import StockDataStream
from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import GetCalendarRequest
from pydantic import SecretStr

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import ConfigError, DataError
from ai_trading_core.feeds import FeedHealth, FeedStatus
from ai_trading_core.market import BarPanel, MarketSlice, to_ns
from ai_trading_core.models import Alert, Instrument

from .bar_stream import AlpacaBarStream
from .market_hours import AlpacaMarketHours, AlwaysOpen, MarketHours
from .parsing import timestamp
from .providers import harden

_TIMEFRAMES = {
    Timeframe.M1: TimeFrame(1, TimeFrameUnit.Minute),
    Timeframe.M5: TimeFrame(5, TimeFrameUnit.Minute),
    Timeframe.M15: TimeFrame(15, TimeFrameUnit.Minute),
    Timeframe.M30: TimeFrame(30, TimeFrameUnit.Minute),
    Timeframe.H1: TimeFrame(1, TimeFrameUnit.Hour),
    Timeframe.H4: TimeFrame(4, TimeFrameUnit.Hour),
    Timeframe.D1: TimeFrame(1, TimeFrameUnit.Day),
}
_FIELDS = (("o", "open"), ("h", "high"), ("l", "low"), ("c", "close"), ("v", "volume"))


class AlpacaBarsSource:
    """``LiveDataSource`` over Alpaca stock or crypto bars. Nothing touches the network
    before :meth:`load` or :meth:`stream`.

    :param clock: the run's clock (wall clock in live mode); market hours and bar
        completeness are judged on it.
    :param alert: where stale-feed alerts go (the run's alert router).
    """

    history_is_warmup = True

    def __init__(
        self,
        params: Any,
        api_key: SecretStr,
        secret_key: SecretStr,
        *,
        clock: Any = None,
        alert: Callable[[Alert], None] | None = None,
        name: str = "alpaca_bars",
    ) -> None:
        self.params = params
        self.timeframe = Timeframe.parse(params.timeframe)
        self._key, self._secret = api_key, secret_key
        self.clock = clock
        self._alert = alert
        self.name = name
        self.loaded_until: int | None = None  # open time of the last bar load() returned, ns
        self.stream_end: int | None = None
        self.session: AlpacaBarStream | None = None  # the current streaming session

    def __repr__(self) -> str:  # never show keys
        return f"AlpacaBarsSource(symbols={self.params.symbols!r}, base_url={self.params.base_url!r})"

    def _client(self) -> Any:
        cls = CryptoHistoricalDataClient if self.params.asset_class == "crypto" else StockHistoricalDataClient
        client = cls(
            self._key.get_secret_value(),
            self._secret.get_secret_value(),
            raw_data=True,
            url_override=self.params.base_url,
        )
        return harden(client, self.params.request_timeout_s)

    def load(self, start: datetime | None = None, end: datetime | None = None) -> BarPanel:
        panel = self._fetch(start, end, require_all=True)
        self.loaded_until = int(panel.timestamps[-1])
        self.stream_end = to_ns(end) if end is not None else None
        return panel

    def _fetch(self, start: datetime | None, end: datetime | None, *, require_all: bool) -> BarPanel:
        symbols = list(self.params.symbols)
        client = self._client()
        try:
            if self.params.asset_class == "crypto":
                raw = client.get_crypto_bars(
                    CryptoBarsRequest(symbol_or_symbols=symbols, timeframe=_TIMEFRAMES[self.timeframe],
                                      start=start, end=end)
                )
            else:
                raw = client.get_stock_bars(
                    StockBarsRequest(
                        symbol_or_symbols=symbols,
                        timeframe=_TIMEFRAMES[self.timeframe],
                        start=start,
                        end=end,
                        adjustment=Adjustment(self.params.adjustment),
                        feed=DataFeed(self.params.feed) if self.params.feed else None,
                    )
                )
        except Exception as exc:  # noqa: BLE001 - translated to the framework's error
            raise DataError(
                f"alpaca bars for {', '.join(self.params.symbols)}: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            client._session.close()
        return bars_to_panel(raw, tuple(self.params.symbols), self.timeframe, require_all=require_all)

    # ------------------------------------------------------------------ streaming
    def _since(self, start: datetime) -> BarPanel:
        """Bars from ``start`` on (REST backfill); symbols without a bar are NaN there."""
        return self._fetch(start, None, require_all=False)

    def _stream_client(self) -> Any:
        p = self.params
        ping = max(min((p.stale_after_s or 60.0) / 3, 10.0), 0.5)
        ws_params = {"ping_interval": ping, "ping_timeout": max(3 * ping, 1.0), "close_timeout": 1.0, "max_queue": 1024}
        key, secret = self._key.get_secret_value(), self._secret.get_secret_value()
        if p.asset_class == "crypto":
            return CryptoDataStream(key, secret, raw_data=True, websocket_params=ws_params, url_override=p.stream_url)
        return StockDataStream(
            key, secret, raw_data=True, feed=DataFeed(p.feed or "iex"), websocket_params=ws_params,
            url_override=p.stream_url,
        )

    def _market_hours(self) -> MarketHours:
        calendar = self.params.calendar or ("always_open" if self.params.asset_class == "crypto" else "alpaca")
        if calendar == "always_open":
            return AlwaysOpen()

        def trading() -> TradingClient:
            client = TradingClient(self._key.get_secret_value(), self._secret.get_secret_value(),
                                   paper=self.params.paper, raw_data=True, url_override=self.params.trading_url)
            return harden(client, self.params.request_timeout_s)

        def fetch_clock() -> dict[str, Any]:
            client = trading()
            try:
                clock: dict[str, Any] = client.get_clock()
                return clock
            finally:
                client._session.close()

        def fetch_calendar(first: date, last: date) -> list[dict[str, Any]]:
            client = trading()
            try:
                rows: list[dict[str, Any]] = client.get_calendar(GetCalendarRequest(start=first, end=last))
                return rows
            finally:
                client._session.close()

        return AlpacaMarketHours(fetch_clock, fetch_calendar)

    async def stream(self) -> AsyncIterator[MarketSlice]:
        """Cross-sections of minute bars as they complete, from one bar after what
        :meth:`load` returned (or from the first streamed bar without a load), until the
        run's end if it has one. See :mod:`.bar_stream`."""
        if self.timeframe is not Timeframe.M1:
            raise ConfigError(
                f"{self.name}: streaming delivers 1m bars; timeframe is {self.timeframe.value} "
                "(stream 1m bars and let the strategy resample)"
            )
        if self.clock is None:
            raise ConfigError(f"{self.name}: streaming needs the run's clock")
        session = AlpacaBarStream(
            symbols=tuple(self.params.symbols),
            make_client=self._stream_client,
            fetch=self._since,
            hours=self._market_hours(),
            clock=self.clock,
            params=self.params,
            after=self.loaded_until,
            end=self.stream_end,
            alert=self._alert,
            name=self.name,
        )
        self.session = session
        async with contextlib.aclosing(session.slices()) as slices:  # closes the socket with the stream
            async for market in slices:
                yield market

    def run_extras(self) -> dict[str, Any]:
        """For the run document: how the streamed bars arrived (socket or REST backfill) and
        what the feed went through."""
        session = self.session
        if session is None:
            return {}  # history only (a backtest or a replay): nothing to report
        by: dict[str, int] = {}
        for _, where in session.delivered:
            by[where] = by.get(where, 0) + 1
        return {
            "source": self.name,
            "bars_by_source": by,
            "connections": session.connections,
            "backfills": session.backfills,
            "backfilled_bars": session.backfilled_bars,
            "recycles": session.recycles,
            "stale_episodes": session.stale_alerts,
            "late_bars_dropped": session.asm.late,
            "rejected_bars": session.rejected,
        }

    def health(self) -> FeedHealth:
        if self.session is None:
            return FeedHealth(FeedStatus.CONNECTING, "not streaming yet")
        return self.session.health()


def bars_to_panel(
    raw: dict[str, list[dict[str, Any]]], symbols: tuple[str, ...], timeframe: Timeframe, *, require_all: bool = True
) -> BarPanel:
    """A (T, N) panel from Alpaca's ``{"SYM": [{"t", "o", "h", "l", "c", "v"}, ...]}``;
    a symbol without a bar at a timestamp gets NaN there. ``require_all``: a symbol without
    any bar is a ``DataError`` (history), else an all-NaN column (a REST backfill)."""
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for symbol in symbols:
        bars = raw.get(symbol) or []
        if not bars and require_all:
            raise DataError(f"alpaca: no bars for {symbol}")
        per: dict[int, dict[str, Any]] = {}
        for i, bar in enumerate(bars):
            try:
                ns = to_ns(timestamp(bar["t"]))
                per[ns] = bar
            except (KeyError, ValueError) as exc:
                raise DataError(f"alpaca: {symbol} bar {i}: bad timestamp ({exc})") from None
        rows[symbol] = per
    stamps = np.array(sorted({ns for per in rows.values() for ns in per}), dtype=np.int64)
    index = {int(ns): i for i, ns in enumerate(stamps)}
    arrays = {name: np.full((len(stamps), len(symbols)), np.nan) for _, name in _FIELDS}
    for j, symbol in enumerate(symbols):
        for ns, bar in rows[symbol].items():
            for key, name in _FIELDS:
                value = float(bar[key])
                if name != "volume" and not value > 0:
                    raise DataError(f"alpaca: {symbol} bar at {bar['t']}: non-positive {name} {value}")
                arrays[name][index[ns], j] = value
    return BarPanel(
        symbols=symbols,
        timestamps=stamps,
        timeframe=timeframe,
        instruments={s: Instrument(symbol=s) for s in symbols},
        source="alpaca",
        **arrays,
    )
